// In-flight call records, one slot per thread, scanned only by a stuck unload.
#include "driverfs/call_tracker.hpp"

#include <algorithm>
#include <mutex>
#include <unistd.h>

#include "driverfs/stub.hpp"

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
    std::mutex mu;  // guards stub and what; taken by the owner thread and by scans
    const Stub* stub = nullptr;
    std::string what;
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

CallScope::CallScope(const Stub& stub, std::string_view what) {
    ThreadSlot& slot = this_thread_slot();
    std::lock_guard lock(slot.mu);
    // A callback may call back into the host, which may call another driver:
    // keep the outer record to restore it.
    saved_stub_ = slot.stub;
    saved_what_ = std::move(slot.what);
    slot.stub = &stub;
    slot.what.assign(what);
    ++t_callback_depth;
}

CallScope::~CallScope() {
    --t_callback_depth;
    ThreadSlot& slot = this_thread_slot();
    std::lock_guard lock(slot.mu);
    slot.stub = saved_stub_;
    slot.what = std::move(saved_what_);
}

bool CallScope::inside_callback() { return t_callback_depth != 0; }

std::vector<RunningCall> running_calls(const Stub& stub) {
    std::vector<RunningCall> out;
    std::lock_guard lock(registry_mu());
    for (ThreadSlot* slot : registry()) {
        std::lock_guard slot_lock(slot->mu);
        if (slot->stub == &stub) out.push_back({stub.name(), slot->what, slot->tid});
    }
    return out;
}

}  // namespace driverfs
