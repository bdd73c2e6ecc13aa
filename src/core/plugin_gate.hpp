// The one gate into plugin code: every call of a plugin's function pointer goes through here.
// Private to the core.
//
// The gate owns, for every call, the six things its safety rests on:
//   1. the pin: DriverGate::enter pins the driver's stub (ActiveRef::pin, one
//      atomic op) and keeps it for the gate's lifetime;
//   2. the generation check: the pinned stub must still publish the
//      registration the caller was made for (Driver::generation);
//   3. call tracking: a CallScope naming the call, for a stuck unload's report;
//   4. fault containment: an exception thrown by the plugin becomes an errno
//      value (EIO) and a log line, never a C++ exception in the daemon;
//   5. errno clamping: a failing return value that is not a negative errno
//      this system names becomes EIO and a log line (errno_from_plugin).
//   6. statistics: every call, failure, refusal and the slowest call are
//      counted in the driver's DriverStats (driver_stats.hpp), allocation-free.
//
// Why a call through the gate cannot run plugin code that is unmapped, or
// that belongs to another load of the same driver name:
// - Everything that may call a driver holds its Driver, hence a StubRef: the
//   stub is valid memory whatever the plugin's state (stub.hpp).
// - The pin succeeds only before the unloader's deactivate() in the single
//   modification order of the stub's count; the unloader then drains, i.e.
//   waits for the matching unpin, before it unbinds, calls exit() or unmaps
//   (ActiveRef). So for as long as a gate is held, the plugin stays mapped,
//   and every later enter() fails at once (ENODEV), which also keeps a steady
//   stream of calls from starving the drain.
// - A stub is reused when the same name is loaded again (generation + 1), and
//   driver, owner and generation change only while it is drained. A pinned
//   stub whose generation is the caller's therefore still points at the
//   dfs_driver (and attribute, group and bus structs) the caller was made
//   from; any other generation is refused rather than trusted.
// - The one call made without a pin is the unloader's own (DriverGate::
//   drained: remove() during unload, exit()): it owns the drained stub, no
//   pin can succeed, so nothing else runs in the plugin meanwhile, and it
//   unmaps only after those calls returned.
// - init() runs before anything of the plugin is published (no stub can be
//   pinned yet) and under the loader's plugin_mu_, as does the entry symbol.
// A gate pinned by a callback may be entered again from inside it (a store
// that calls update_group): pins nest, and a nested enter() fails once an
// unload began, which is what the unload wants.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/active_ref.hpp"
#include "core/device.hpp"
#include "core/driver.hpp"
#include "core/error.hpp"
#include "driverfs/plugin.h"

namespace driverfs {

class Plugin;

// What a plugin's int callback returned: 0, or the failure as the raw value
// (for messages) and the errno it stands for (clamped by the gate).
struct Returned {
    long raw = 0;
    int err = 0;
    explicit operator bool() const { return raw == 0; }
};

// A held pin of one driver registration, through which its callbacks are
// called. Move-only; unpins when destroyed. Thread-compatible: one thread
// uses one gate (each thread that calls in enters its own).
class DriverGate {
public:
    // Pin drv's stub and check its generation. ENODEV if it is going or gone.
    static Result<DriverGate> enter(const Driver& drv);
    // The unloader's way in: it owns drv's drained stub (no pin can succeed
    // and none is held), so calls need none. Only during unload.
    static DriverGate drained(const Driver& drv) { return DriverGate(drv, Pin()); }

    DriverGate(DriverGate&&) = default;
    DriverGate& operator=(DriverGate&&) = default;

    const Driver& driver() const { return *drv_; }
    // The plugin's struct: fields may be read while the gate is held.
    const dfs_driver* ops() const { return drv_->stub().driver(); }

    // Attribute callbacks of dev, `name` the attribute's. EACCES if the
    // attribute lacks the callback; a negative return is its (clamped)
    // errno; more bytes than asked for, or a throw, EIO with a log line.
    Result<size_t> show(Device& dev, const dfs_attribute* attr, std::string_view name, char* page, size_t cap) const;
    Result<size_t> store(Device& dev, const dfs_attribute* attr, std::string_view name, std::string_view data) const;
    Result<size_t> read(Device& dev, const dfs_bin_attribute* attr, std::string_view name, char* out, size_t offset,
                        size_t count) const;
    Result<size_t> write(Device& dev, const dfs_bin_attribute* attr, std::string_view name, std::string_view data,
                         size_t offset) const;

    // Driver callbacks; a missing one is success. A throw is -EIO. probe's
    // EPROBE_DEFER passes as err == DFS_EPROBE_DEFER (it is no errno).
    Returned probe(Device& dev) const;
    void remove(Device& dev) const;
    Returned suspend(Device& dev) const;
    Returned resume(Device& dev) const;
    void shutdown(Device& dev) const;
    // The mode `group` gives `attr` of dev; nullopt: hidden (or it threw).
    std::optional<uint32_t> is_visible(Device& dev, const dfs_attribute_group* group, const dfs_attribute* attr) const;

private:
    DriverGate(const Driver& drv, Pin pin) : drv_(&drv), pin_(std::move(pin)) {}

    const Driver* drv_;
    Pin pin_;  // empty only for drained()
};

// A bus plugin's match(): pinned through the bus's stub, which must still be
// of `generation`. False when it is going, did not match, or threw.
bool gate_bus_match(Stub& stub, uint32_t generation, const dfs_bus* bus, const Device& dev, const Driver& drv);

// The plugin's entry symbol: its descriptor, or EIO if it threw.
Result<const dfs_plugin_desc*> gate_plugin_entry(dfs_entry_fn entry, const std::string& source);
// init(): an error carries the clamped errno and says why ("returned -22",
// "init threw: ..."). exit(): contained, logged.
Status gate_plugin_init(Plugin& plugin, const dfs_host* host);
void gate_plugin_exit(Plugin& plugin);

}  // namespace driverfs
