// Stub records: registration, reuse, the unload state machine and purge.
#include "driverfs/stub.hpp"

namespace driverfs {

const char* to_string(StubState s) {
    switch (s) {
    case StubState::live: return "live";
    case StubState::going: return "going";
    case StubState::gone: return "gone";
    }
    return "?";
}

std::shared_ptr<Stub> StubTable::activate(const std::string& name, const dfs_driver* drv,
                                          Plugin* owner) {
    std::lock_guard lock(mu_);
    if (registered_.count(name)) return nullptr;
    std::shared_ptr<Stub> stub;
    if (auto it = inactive_.find(name); it != inactive_.end()) {
        stub = std::move(it->second);
        inactive_.erase(it);
    } else {
        stub = std::make_shared<Stub>(name);
    }
    // The stub is deactivated here (new, or left so by finish_unregister), so
    // no pin can observe these stores half done; reactivate() publishes them.
    stub->driver_.store(drv, std::memory_order_relaxed);
    stub->owner_.store(owner, std::memory_order_relaxed);
    stub->generation_.fetch_add(1, std::memory_order_relaxed);
    stub->state_.store(StubState::live, std::memory_order_relaxed);
    stub->active_.reactivate();
    registered_.emplace(name, stub);
    return stub;
}

void StubTable::begin_unregister(Stub& stub) {
    std::lock_guard lock(mu_);
    stub.state_.store(StubState::going, std::memory_order_relaxed);
    stub.active_.deactivate();
}

bool StubTable::drain(Stub& stub, std::chrono::steady_clock::time_point deadline) {
    return stub.active_.drain_until(deadline);
}

void StubTable::abort_unregister(Stub& stub) {
    std::lock_guard lock(mu_);
    stub.state_.store(StubState::live, std::memory_order_relaxed);
    stub.active_.reactivate();
}

void StubTable::finish_unregister(Stub& stub) {
    std::lock_guard lock(mu_);
    stub.driver_.store(nullptr, std::memory_order_relaxed);
    stub.owner_.store(nullptr, std::memory_order_relaxed);
    stub.state_.store(StubState::gone, std::memory_order_relaxed);
    if (auto it = registered_.find(stub.name()); it != registered_.end() && it->second.get() == &stub) {
        inactive_.insert_or_assign(stub.name(), std::move(it->second));
        registered_.erase(it);
    }
}

size_t StubTable::purge() {
    std::lock_guard lock(mu_);
    size_t freed = 0;
    for (auto it = inactive_.begin(); it != inactive_.end();) {
        // use_count() is exact here: a new reference can only be taken from
        // this table (under mu_) or copied from an existing holder, and a
        // count of 1 means there is none.
        if (it->second.use_count() == 1) {
            it = inactive_.erase(it);
            ++freed;
        } else {
            ++it;
        }
    }
    return freed;
}

std::shared_ptr<Stub> StubTable::find(const std::string& name) const {
    std::lock_guard lock(mu_);
    if (auto it = registered_.find(name); it != registered_.end()) return it->second;
    if (auto it = inactive_.find(name); it != inactive_.end()) return it->second;
    return nullptr;
}

size_t StubTable::live_count() const {
    std::lock_guard lock(mu_);
    return registered_.size();
}

size_t StubTable::inactive_count() const {
    std::lock_guard lock(mu_);
    return inactive_.size();
}

}  // namespace driverfs
