// Stub records: registration, reuse, the unload state machine and purge.
#include "core/stub.hpp"

#include <new>

namespace driverfs {

const char* to_string(StubState s) {
    switch (s) {
    case StubState::live: return "live";
    case StubState::going: return "going";
    case StubState::gone: return "gone";
    }
    return "?";
}

StubRef Stub::create(std::string_view name) {
    void* mem = ::operator new(sizeof(Stub) + name.size() + 1);
    Stub* stub = new (mem) Stub(static_cast<uint32_t>(name.size()));
    char* chars = reinterpret_cast<char*>(stub + 1);
    name.copy(chars, name.size());
    chars[name.size()] = '\0';
    records_.fetch_add(1, std::memory_order_relaxed);
    return StubRef(stub);
}

void Stub::destroy(Stub* stub) noexcept {
    stub->~Stub();
    ::operator delete(stub);
    records_.fetch_sub(1, std::memory_order_relaxed);
}

StubRef StubTable::activate(std::string_view name, const dfs_driver* drv, Plugin* owner) {
    std::lock_guard lock(mu_);
    if (registered_.count(name)) return {};
    StubRef stub;
    if (auto it = inactive_.find(name); it != inactive_.end()) {
        stub = std::move(it->second);
        inactive_.erase(it);
    } else {
        stub = Stub::create(name);
    }
    // The stub is deactivated here (new, or left so by finish_unregister), so
    // no pin can observe these stores half done; reactivate() publishes them.
    stub->driver_.store(drv, std::memory_order_relaxed);
    stub->owner_.store(owner, std::memory_order_relaxed);
    stub->generation_.fetch_add(1, std::memory_order_relaxed);
    stub->state_.store(StubState::live, std::memory_order_relaxed);
    stub->active_.reactivate();
    registered_.emplace(stub->name_view(), stub);
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
    if (auto it = registered_.find(stub.name_view()); it != registered_.end() && it->second.get() == &stub) {
        StubRef ref = std::move(it->second);
        registered_.erase(it);
        inactive_.erase(stub.name_view());  // none: activate took it; a stale key would dangle
        inactive_.emplace(stub.name_view(), std::move(ref));
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

StubRef StubTable::find(std::string_view name) const {
    std::lock_guard lock(mu_);
    if (auto it = registered_.find(name); it != registered_.end()) return it->second;
    if (auto it = inactive_.find(name); it != inactive_.end()) return it->second;
    return {};
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
