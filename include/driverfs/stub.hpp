// Stub records: the persistent, O(1)-pinnable identity of a driver.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "driverfs/active_ref.hpp"

struct dfs_driver;

namespace driverfs {

class Plugin;

enum class StubState : uint8_t { live, going, gone };
const char* to_string(StubState s);

// One per driver name, for the life of the daemon unless purged.
//
// Everything that may call into a driver holds a shared_ptr<Stub>, so the
// record it pins through is always valid memory: validation is the pin
// itself, one atomic op, whatever the number of drivers (the O(n) scan of a
// driver list this design replaces is in bench/).
//
// driver, owner and generation change only while the stub is deactivated and
// drained (no pin is held or can succeed), under StubTable::mu_; a successful
// pin() therefore sees them stable (see ActiveRef for the ordering). state
// may move from live to going under a held pin: that pin is exactly what the
// drain then waits for.
class Stub {
public:
    explicit Stub(std::string name) : name_(std::move(name)) {}

    const std::string& name() const { return name_; }

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

private:
    friend class StubTable;

    const std::string name_;
    ActiveRef active_{false};
    std::atomic<const dfs_driver*> driver_{nullptr};
    std::atomic<Plugin*> owner_{nullptr};
    std::atomic<uint32_t> generation_{0};
    std::atomic<StubState> state_{StubState::gone};
};

// The registry of stubs by name, with the inactive list of unregistered ones.
// mu_ protects both maps and every state transition; it is never held while
// waiting for a drain or while calling into a driver.
class StubTable {
public:
    // Publish `drv` under `name`, reusing the record of an earlier load of the
    // same name (same address, generation + 1). Returns nullptr if a live or
    // going driver already has that name.
    std::shared_ptr<Stub> activate(const std::string& name, const dfs_driver* drv, Plugin* owner);

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

    std::shared_ptr<Stub> find(const std::string& name) const;
    size_t live_count() const;
    size_t inactive_count() const;

private:
    mutable std::mutex mu_;
    std::map<std::string, std::shared_ptr<Stub>, std::less<>> registered_;
    std::map<std::string, std::shared_ptr<Stub>, std::less<>> inactive_;
};

}  // namespace driverfs
