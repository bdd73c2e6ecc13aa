// In-flight call records, one slot per thread, scanned only by a stuck unload.
#include "core/call_tracker.hpp"

#include <algorithm>
#include <mutex>
#include <unistd.h>

#include "core/device.hpp"
#include "core/driver.hpp"
#include "core/stub.hpp"

namespace driverfs {
namespace {

struct ThreadSlot;

// Lock order: registry_mu() before ThreadSlot::mu.
std::mutex& registry_mu() {
    static std::mutex mu;
    return mu;
}
std::vector<ThreadSlot*>& registry() {
    static std::vector<ThreadSlot*> slots;
    return slots;
}

struct ThreadSlot {
    // Guards stub and what; taken by the owner thread and by scans. `what`
    // points into the owner's stack frame: a scan formats it under mu, and
    // the owner cannot leave its CallScope (and that frame) without mu.
    std::mutex mu;
    const Stub* stub = nullptr;
    const CallDesc* what = nullptr;
    const pid_t tid = gettid();

    ThreadSlot() {
        std::lock_guard lock(registry_mu());
        registry().push_back(this);
    }
    ~ThreadSlot() {
        std::lock_guard lock(registry_mu());
        auto& r = registry();
        r.erase(std::remove(r.begin(), r.end(), this), r.end());
    }
};

ThreadSlot& this_thread_slot() {
    thread_local ThreadSlot slot;
    return slot;
}

// Nesting depth of CallScopes on this thread; only this thread touches it.
thread_local unsigned t_callback_depth = 0;

}  // namespace

std::string call_text(CallOp op, std::string_view name, std::string_view dev, std::string_view peer) {
    static constexpr const char* kOpNames[] = {"show",    "store",  "read",     "write",      "probe", "remove",
                                               "suspend", "resume", "shutdown", "is_visible", "match"};
    std::string out = kOpNames[static_cast<size_t>(op)];
    switch (op) {
    case CallOp::show:
    case CallOp::store:
    case CallOp::read:
    case CallOp::write:
        return out.append(" ").append(name).append(" of ").append(dev);
    case CallOp::is_visible:
        return out.append(" ").append(name);
    case CallOp::match:
        return out.append(" ").append(dev).append(" with ").append(peer);
    default:
        return out.append(" ").append(dev);
    }
}

std::string CallDesc::text() const {
    return call_text(op, name, dev ? std::string_view(dev->name()) : std::string_view(),
                     peer ? std::string_view(peer->name()) : std::string_view());
}

CallScope::CallScope(const Stub& stub, const CallDesc& what) {
    ThreadSlot& slot = this_thread_slot();
    std::lock_guard lock(slot.mu);
    // A callback may call back into the host, which may call another driver:
    // keep the outer record to restore it.
    saved_stub_ = slot.stub;
    saved_what_ = slot.what;
    slot.stub = &stub;
    slot.what = &what;
    ++t_callback_depth;
}

CallScope::~CallScope() {
    --t_callback_depth;
    ThreadSlot& slot = this_thread_slot();
    std::lock_guard lock(slot.mu);
    slot.stub = saved_stub_;
    slot.what = saved_what_;
}

bool CallScope::inside_callback() { return t_callback_depth != 0; }

std::vector<RunningCall> running_calls(const Stub& stub) {
    std::vector<RunningCall> out;
    std::lock_guard lock(registry_mu());
    for (ThreadSlot* slot : registry()) {
        std::lock_guard slot_lock(slot->mu);
        if (slot->stub == &stub) out.push_back({stub.name(), slot->what->text(), slot->tid});
    }
    return out;
}

}  // namespace driverfs
