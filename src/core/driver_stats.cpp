// Driver statistics: the slowest call's record and the snapshot the files and the control plane read.
#include "core/driver_stats.hpp"

#include <algorithm>

#include "core/device.hpp"
#include "core/driver.hpp"

namespace driverfs {
namespace {

// Copy `s` into `out`, cut to fit, always terminated. No allocation.
void copy_name(char* out, size_t cap, std::string_view s) noexcept {
    const size_t n = std::min(s.size(), cap - 1);
    s.copy(out, n);
    out[n] = '\0';
}

}  // namespace

// Safe to read desc here: end() runs inside the gate, before the call's
// frame (and the Device reference the caller holds) is gone. What is kept is
// a copy, so a device removed later leaves nothing dangling.
void DriverStats::record_slowest(const CallDesc& desc, uint64_t ns) noexcept {
    std::lock_guard lock(slow_mu_);
    if (ns <= slowest_ns_.load(std::memory_order_relaxed)) return;  // a slower one got here first
    slow_op_ = desc.op;
    copy_name(slow_name_, kName, desc.name);
    copy_name(slow_dev_, kName, desc.dev ? std::string_view(desc.dev->name()) : std::string_view());
    copy_name(slow_peer_, kName, desc.peer ? std::string_view(desc.peer->name()) : std::string_view());
    slowest_ns_.store(ns, std::memory_order_relaxed);
}

DriverStatsSnapshot DriverStats::snapshot() const {
    DriverStatsSnapshot s;
    // finished first, with acquire: every call it counts is in calls too.
    const uint64_t finished = finished_.load(std::memory_order_acquire);
    s.calls = calls_.load(std::memory_order_relaxed);
    s.in_flight = s.calls - finished;
    s.errors = errors_.load(std::memory_order_relaxed);
    s.refused = refused_.load(std::memory_order_relaxed);
    std::lock_guard lock(slow_mu_);
    const uint64_t ns = slowest_ns_.load(std::memory_order_relaxed);
    if (ns != 0) {
        s.slowest_us = ns / 1000;
        s.slowest = call_text(slow_op_, slow_name_, slow_dev_, slow_peer_);
    }
    return s;
}

}  // namespace driverfs
