// Active references: the one-atomic-op pin that guards every call into a plugin.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace driverfs {

// A counter of in-flight users with a "deactivated" bias, as kernfs does for
// its nodes. The stub of every driver and every driver-owned attribute node
// carry one. A stub is pinned in one place only, the plugin gate
// (src/core/plugin_gate.hpp: DriverGate::enter, gate_bus_match), which also
// argues why its calls into plugin code are safe on top of this protocol.
//
// Protocol (the proof the rest of the code leans on):
//   count_ >= 0  active; count_ is the number of pins held.
//   count_ <  0  deactivated; count_ - kBias pins are still held.
//
//   pin():        compare-exchange v -> v+1 while v >= 0 (kernfs's
//                 atomic_inc_unless_negative). Uncontended that is one
//                 atomic op; a negative v fails at once without writing, so
//                 a stream of failing pins never touches the count.
//   unpin():      fetch_sub(1). If the new value is kBias the last pin of a
//                 deactivated object is gone: wake the drainer.
//   deactivate(): fetch_add(kBias). Every later pin() sees a negative value
//                 and fails at once, so steady traffic cannot starve a drain.
//   drain():      wait until count_ == kBias, i.e. no pin is held.
//
// Why it is safe: a pin that succeeded did its CAS before the deactivate's
// CAS in the single modification order of count_, so the deactivate's result
// includes it and drain() cannot return until the matching unpin. A pin that
// comes later sees the bias and never calls in.
// Why the drain cannot starve: after deactivate() the count only goes down
// (failed pins write nothing), so it reaches kBias once the calls in flight
// return, whatever the traffic. (An earlier fetch_add-then-undo pin let a
// stream of failing pins hold the count above kBias; tests/model found it.)
// Why the wake-up is never lost: the drainer checks count_ under drain_mu()
// and sleeps on drain_cv() atomically; unpin() takes drain_mu() before
// notifying, so it either runs before the drainer's check (which then sees
// kBias) or while the drainer sleeps (which the notify then reaches).
// The mutex and condition variable are shared by all objects: they are only
// touched when a deactivated object loses its last pin, which is rare, and
// keeping them out of the object keeps a stub small.
//
// reactivate() removes the bias (drain timed out, or the object is reused:
// a driver loaded again). Callers must publish whatever a pin makes reachable
// (the driver pointer) before reactivate(): the release in fetch_sub pairs
// with the acquire of pin()'s fetch_add.
class ActiveRef {
public:
    static constexpr int64_t kBias = INT64_MIN / 2;

    // Starts active unless told otherwise (a stub starts deactivated until its
    // driver is published).
    explicit ActiveRef(bool active = true) : count_(active ? 0 : kBias) {}
    ActiveRef(const ActiveRef&) = delete;
    ActiveRef& operator=(const ActiveRef&) = delete;

    // O(1): one atomic add on success. Returns false if deactivated.
    [[nodiscard]] bool pin() noexcept {
        int64_t v = count_.load(std::memory_order_relaxed);
        do {
            if (v < 0) return false;
        } while (!count_.compare_exchange_weak(v, v + 1, std::memory_order_acquire, std::memory_order_relaxed));
        return true;
    }

    void unpin() noexcept {
        if (count_.fetch_sub(1, std::memory_order_release) - 1 == kBias) {
            std::lock_guard lock(drain_mu());
            drain_cv().notify_all();
        }
    }

    // Make every later pin() fail. Returns false if it already was deactivated.
    bool deactivate() noexcept {
        int64_t v = count_.load(std::memory_order_relaxed);
        while (v >= 0) {
            if (count_.compare_exchange_weak(v, v + kBias, std::memory_order_acq_rel)) return true;
        }
        return false;
    }

    // Wait until no pin is held, at most until `deadline`. Requires deactivate().
    bool drain_until(std::chrono::steady_clock::time_point deadline) {
        std::unique_lock lock(drain_mu());
        return drain_cv().wait_until(lock, deadline, [this] {
            return count_.load(std::memory_order_acquire) == kBias;
        });
    }

    void reactivate() noexcept {
        int64_t v = count_.load(std::memory_order_relaxed);
        while (v < 0) {
            if (count_.compare_exchange_weak(v, v - kBias, std::memory_order_acq_rel)) return;
        }
    }

    bool active() const noexcept { return count_.load(std::memory_order_relaxed) >= 0; }

    // Pins held right now (a snapshot).
    int64_t in_flight() const noexcept {
        int64_t v = count_.load(std::memory_order_relaxed);
        return v >= 0 ? v : v - kBias;
    }

private:
    // Only for the drain handshake, never on the pin path.
    static std::mutex& drain_mu() {
        static std::mutex mu;
        return mu;
    }
    static std::condition_variable& drain_cv() {
        static std::condition_variable cv;
        return cv;
    }

    std::atomic<int64_t> count_;
};

// RAII holder of a successful pin.
class Pin {
public:
    Pin() = default;
    explicit Pin(ActiveRef& ref) : ref_(ref.pin() ? &ref : nullptr) {}
    Pin(Pin&& o) noexcept : ref_(o.ref_) { o.ref_ = nullptr; }
    Pin& operator=(Pin&& o) noexcept {
        if (this != &o) { reset(); ref_ = o.ref_; o.ref_ = nullptr; }
        return *this;
    }
    ~Pin() { reset(); }

    explicit operator bool() const { return ref_ != nullptr; }
    void reset() {
        if (ref_) ref_->unpin();
        ref_ = nullptr;
    }

private:
    ActiveRef* ref_ = nullptr;
};

}  // namespace driverfs
