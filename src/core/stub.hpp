// Stub records: the persistent, O(1)-pinnable identity of a driver.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/active_ref.hpp"

struct dfs_driver;

namespace driverfs {

class Plugin;

enum class StubState : uint8_t { live, going, gone };
const char* to_string(StubState s);

class StubRef;

// One per driver name, for the life of the daemon unless purged.
//
// Everything that may call into a driver holds a StubRef, so the record it
// pins through is always valid memory: validation is the pin itself, one
// atomic op, whatever the number of drivers (the O(n) scan of a driver list
// this design replaces is in bench/).
//
// One allocation: the fields, then the name's characters. The reference
// count is intrusive (no shared_ptr control block), so a record costs
// sizeof(Stub) + the name + 1 bytes.
//
// driver, owner and generation change only while the stub is deactivated and
// drained (no pin is held or can succeed), under StubTable::mu_; a successful
// pin() therefore sees them stable (see ActiveRef for the ordering). state
// may move from live to going under a held pin: that pin is exactly what the
// drain then waits for.
class Stub {
public:
    Stub(const Stub&) = delete;
    Stub& operator=(const Stub&) = delete;

    std::string_view name_view() const { return {reinterpret_cast<const char*>(this + 1), name_len_}; }
    // A copy, for messages.
    std::string name() const { return std::string(name_view()); }

    // Pin before any call into the driver; false once it is going or gone.
    [[nodiscard]] bool pin() noexcept { return active_.pin(); }
    void unpin() noexcept { active_.unpin(); }
    ActiveRef& active() { return active_; }

    // Valid only while pinned (or while the unloader owns the drained stub).
    const dfs_driver* driver() const { return driver_.load(std::memory_order_relaxed); }
    Plugin* owner() const { return owner_.load(std::memory_order_relaxed); }
    uint32_t generation() const { return generation_.load(std::memory_order_relaxed); }
    StubState state() const { return state_.load(std::memory_order_relaxed); }
    int64_t in_flight() const { return active_.in_flight(); }

    // Records allocated and not yet freed, process-wide (tests, leak checks).
    static size_t records() { return records_.load(std::memory_order_relaxed); }

private:
    friend class StubTable;
    friend class StubRef;

    explicit Stub(uint32_t name_len) : name_len_(name_len) {}
    ~Stub() = default;
    // The only way to make one: a record with `name` after it, count 1.
    static StubRef create(std::string_view name);
    static void destroy(Stub* stub) noexcept;
    static inline std::atomic<size_t> records_{0};

    ActiveRef active_{false};
    std::atomic<const dfs_driver*> driver_{nullptr};
    std::atomic<Plugin*> owner_{nullptr};
    std::atomic<uint32_t> generation_{0};
    // Holders of a StubRef. Taken only from the table under its mutex or by
    // copying a StubRef one already holds, so a count of 1 seen under the
    // table's mutex while the table holds one means nobody else does.
    std::atomic<uint32_t> refs_{1};
    const uint32_t name_len_;
    std::atomic<StubState> state_{StubState::gone};
};

// A counted reference to a Stub, like shared_ptr without the control block.
class StubRef {
public:
    StubRef() = default;
    StubRef(const StubRef& other) noexcept : stub_(other.stub_) {
        if (stub_) stub_->refs_.fetch_add(1, std::memory_order_relaxed);
    }
    StubRef(StubRef&& other) noexcept : stub_(std::exchange(other.stub_, nullptr)) {}
    StubRef& operator=(StubRef other) noexcept {
        std::swap(stub_, other.stub_);
        return *this;
    }
    // The last holder frees the record; acq_rel so that every holder's use
    // happens before the free.
    ~StubRef() {
        if (stub_ && stub_->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) Stub::destroy(stub_);
    }

    Stub* get() const { return stub_; }
    Stub& operator*() const { return *stub_; }
    Stub* operator->() const { return stub_; }
    explicit operator bool() const { return stub_ != nullptr; }
    uint32_t use_count() const { return stub_ ? stub_->refs_.load(std::memory_order_relaxed) : 0; }
    void reset() { StubRef().swap(*this); }
    void swap(StubRef& other) noexcept { std::swap(stub_, other.stub_); }

    friend bool operator==(const StubRef& a, const StubRef& b) { return a.stub_ == b.stub_; }
    friend bool operator==(const StubRef& a, std::nullptr_t) { return a.stub_ == nullptr; }

private:
    friend class Stub;
    explicit StubRef(Stub* adopted) : stub_(adopted) {}  // takes over the initial count of 1

    Stub* stub_ = nullptr;
};

// The registry of stubs by name, with the inactive list of unregistered ones.
// mu_ protects both maps and every state transition; it is never held while
// waiting for a drain or while calling into a driver.
class StubTable {
public:
    // Publish `drv` under `name`, reusing the record of an earlier load of the
    // same name (same address, generation + 1). Returns nullptr if a live or
    // going driver already has that name.
    StubRef activate(std::string_view name, const dfs_driver* drv, Plugin* owner);

    // Unload, step 1: new pins fail from now on.
    void begin_unregister(Stub& stub);
    // Unload, step 2: wait for the in-flight pins, at most until `deadline`.
    bool drain(Stub& stub, std::chrono::steady_clock::time_point deadline);
    // Unload gave up (drain timed out): the driver is live again, unchanged.
    void abort_unregister(Stub& stub);
    // Unload, last step: the driver pointer is gone; the record moves to the
    // inactive list, still pinnable (every pin fails) by whoever holds it.
    void finish_unregister(Stub& stub);

    // Free inactive records nothing else refers to. Returns how many.
    size_t purge();

    StubRef find(std::string_view name) const;
    size_t live_count() const;
    size_t inactive_count() const;

private:
    // Keyed by a view of the stub's own name, valid as long as the entry's
    // StubRef keeps the stub alive.
    mutable std::mutex mu_;
    std::map<std::string_view, StubRef> registered_;
    std::map<std::string_view, StubRef> inactive_;
};

}  // namespace driverfs
