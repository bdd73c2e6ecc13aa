// Driver statistics: live counters of one driver registration's calls, kept by the plugin gate.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "core/call_tracker.hpp"

namespace driverfs {

// What module/<plugin>/drivers/<driver>/ shows, read at one moment.
struct DriverStatsSnapshot {
    uint64_t calls = 0;      // callbacks started
    uint64_t errors = 0;     // callbacks that failed or threw
    uint64_t in_flight = 0;  // callbacks running now
    uint64_t refused = 0;    // DriverGate::enter refusals: the driver is going (or gone)
    uint64_t slowest_us = 0;
    std::string slowest;     // "show nap of sleepy0"; empty until a call returned
};

// Counters of one registration, written only by the plugin gate
// (src/core/plugin_gate.cpp) and read by the daemon's own files and the
// control plane.
//
// Lifetime: a member of the Driver, i.e. of one registration. A reload makes
// a new Driver, so the counters start from zero with each load, as the files
// showing them come and go with the registration. (The stub record outlives
// loads and is shared with the bus's match stubs; the counters belong to
// what the files describe.)
//
// in_flight is calls - finished, not the stub's pin count (Stub::in_flight,
// module/<plugin>/refcnt): a pin is also held where no callback runs (an
// attribute's open validates with a pin, a gate lives a little longer than
// its call, a callback that re-enters its own driver pins twice), and a bus's
// match runs under the bus's stub. Counting at the call itself is exactly
// the driver's running callbacks, at no more cost than a second counter.
//
// Cost on the call path, which every attribute read takes: two relaxed
// fetch_adds (calls, finished), two clock reads and one relaxed load
// (slowest_ns_). Nothing allocates: a new maximum copies the call's names into
// fixed buffers under slow_mu_ (an uncontended lock allocates nothing either);
// the text is formatted only when someone reads it.
class DriverStats {
public:
    DriverStats() = default;
    DriverStats(const DriverStats&) = delete;
    DriverStats& operator=(const DriverStats&) = delete;

    // A callback begins / ended after `took` (failed: it returned an error
    // or threw). `desc` is the running call's: read here, never kept.
    void begin() noexcept { calls_.fetch_add(1, std::memory_order_relaxed); }
    void end(const CallDesc& desc, std::chrono::steady_clock::duration took, bool failed) noexcept {
        if (failed) errors_.fetch_add(1, std::memory_order_relaxed);
        const auto ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(took).count());
        if (ns > slowest_ns_.load(std::memory_order_relaxed)) record_slowest(desc, ns);
        // release: a reader that sees this count sees this call's begin()
        // too, so calls - finished never goes below zero (snapshot()).
        finished_.fetch_add(1, std::memory_order_release);
    }
    // A failure the gate judges after the call returned (a negative errno, a
    // bad length): the call itself was counted by end().
    void failed() noexcept { errors_.fetch_add(1, std::memory_order_relaxed); }
    void refused() noexcept { refused_.fetch_add(1, std::memory_order_relaxed); }

    DriverStatsSnapshot snapshot() const;

private:
    void record_slowest(const CallDesc& desc, uint64_t ns) noexcept;

    // Room for an attribute's or a device's name; a longer one is cut.
    static constexpr size_t kName = 96;

    std::atomic<uint64_t> calls_{0};
    std::atomic<uint64_t> finished_{0};
    std::atomic<uint64_t> errors_{0};
    std::atomic<uint64_t> refused_{0};
    // The slowest call's time, also read without slow_mu_ as the threshold
    // (a stale value only costs a needless lock); written under slow_mu_.
    std::atomic<uint64_t> slowest_ns_{0};
    // The slowest call, copied out of its CallDesc: the desc's views and
    // Device pointers live only as long as the call, so nothing is kept that
    // refers back to the device, the attribute or the plugin's memory.
    mutable std::mutex slow_mu_;
    CallOp slow_op_ = CallOp::show;
    char slow_name_[kName] = {};
    char slow_dev_[kName] = {};
    char slow_peer_[kName] = {};
};

}  // namespace driverfs
