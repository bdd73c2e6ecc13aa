// Plugin lifecycle, unloading: drain, retire (unbind, exit), unmap or abandon, shutdown, purge.
#include <algorithm>

#include "core/call_tracker.hpp"
#include "core/plugin_lifecycle.hpp"
#include "core/log.hpp"
#include "plugin_gate.hpp"

namespace driverfs {

std::vector<Stub*> PluginLifecycle::plugin_stubs(const Plugin& plugin) {
    std::vector<Stub*> out;
    for (const DriverPtr& drv : plugin.drivers) out.push_back(&drv->stub());
    for (const auto& [name, stub] : plugin.buses) out.push_back(stub.get());
    return out;
}

// Tear down a plugin whose init succeeded, for unload and for a failed load
// alike: deactivate and drain its stubs (immediate when unload already
// drained them), unbind every device (the caller owns the drained stubs, so
// remove() runs unpinned), remove the drivers' nodes, call exit(), and move
// the stubs to the inactive list. The object stays mapped: unmap is the
// caller's. Returns false, having done nothing past the deactivation, if a
// call is still running after the unload timeout: then nothing may be torn
// down under it and the caller must abandon the plugin, never unmap it.
bool PluginLifecycle::retire_plugin(Plugin& plugin) {
    const std::vector<Stub*> stubs = plugin_stubs(plugin);
    for (Stub* stub : stubs) stubs_.begin_unregister(*stub);
    const auto deadline = std::chrono::steady_clock::now() + unload_timeout_;
    for (Stub* stub : stubs)
        if (!stubs_.drain(*stub, deadline)) return false;
    for (const DriverPtr& drv : plugin.drivers) {
        model_.unbind_drained(*drv);
        model_.remove_driver(*drv);
    }
    // Its buses go with every device on them (bus_unregister in a module's exit).
    for (const auto& [bus_name, stub] : plugin.buses) model_.remove_bus(bus_name);
    gate_plugin_exit(plugin);
    // What exit() did not destroy of its class devices of no device.
    for (const DriverPtr& drv : plugin.drivers) model_.retire_virtual_class_devices(*drv);
    for (Stub* stub : stubs) stubs_.finish_unregister(*stub);
    return true;
}

Status PluginLifecycle::unload_plugin(const std::string& name, std::optional<std::chrono::milliseconds> timeout) {
    std::lock_guard plugin_lock(plugin_mu_);
    auto it = modules_.find(name);
    if (it == modules_.end() || !it->second.plugin)
        return Error::of(ENOENT, "plugin '" + name + "' is not loaded");
    return unload_locked(it->second, timeout.value_or(unload_timeout_));
}

Status PluginLifecycle::unload_locked(ModuleRecord& rec, std::chrono::milliseconds timeout) {
    std::shared_ptr<Plugin> plugin = rec.plugin;
    // Like a module whose bus other modules' drivers sit on: in use.
    // No driver can join one of its buses meanwhile: loads hold plugin_mu_ too.
    if (Status s = model_.check_buses_unused(*plugin); !s) return s;
    set_state(rec, StubState::going);
    const std::vector<Stub*> stubs = plugin_stubs(*plugin);
    // 1. New pins fail from here on: traffic cannot starve the drain.
    for (Stub* stub : stubs) stubs_.begin_unregister(*stub);
    // 2. Wait for the calls in flight, bounded.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (Stub* stub : stubs) {
        if (stubs_.drain(*stub, deadline)) continue;
        std::string calls;
        for (Stub* s : stubs)
            for (const RunningCall& c : running_calls(*s))
                calls += (calls.empty() ? "" : ", ") + c.driver + ": " + c.what + " (thread " + std::to_string(c.tid) + ")";
        if (calls.empty()) calls = "pins held outside a tracked call";
        for (Stub* s : stubs) stubs_.abort_unregister(*s);
        set_state(rec, StubState::live);
        Error e = Error::of(EBUSY, "plugin " + rec.name + " still busy after " + std::to_string(timeout.count()) +
                                       " ms, left loaded; running: " + calls);
        log(LogLevel::err, e.message);
        return e;
    }
    // 3-5. Unbind devices, remove the drivers' nodes, exit(), retire the
    // stubs. No plugin code can start now; only the unloader calls into it.
    // Already drained above, so this cannot time out.
    retire_plugin(*plugin);
    // module/<name>/drivers/ goes with the last of the drivers whose
    // statistics it held (remove_driver took each); module/<name>/ stays.
    if (NodePtr drivers = tree_.resolve("module/" + rec.name + "/drivers")) tree_.remove(drivers);
    // 6. Unmap.
    if (Status s = unmap(plugin->take_object()); !s) log(LogLevel::err, "plugin " + rec.name + ": " + s.error().message);
    {
        std::lock_guard lock(records_mu_);
        rec.state = StubState::gone;
        rec.plugin = nullptr;
    }
    load_order_.erase(std::remove(load_order_.begin(), load_order_.end(), rec.name), load_order_.end());
    log(LogLevel::info, "plugin " + rec.name + " unloaded");
    events_.publish({0, "unload", "module/" + rec.name, "module", {{"MODULE", rec.name}}});
    return {};
}

void PluginLifecycle::shutdown() {
    std::lock_guard plugin_lock(plugin_mu_);
    if (!load_order_.empty()) power_.shutdown_devices();
    std::vector<std::string> order(load_order_.rbegin(), load_order_.rend());
    for (const std::string& name : order) {
        auto it = modules_.find(name);
        if (it == modules_.end() || !it->second.plugin) continue;
        if (Status s = unload_locked(it->second, unload_timeout_); !s) {
            log(LogLevel::err, "at shutdown: " + s.error().message + "; its code stays mapped until exit");
            // A call is still running in it: never dlclose under its feet,
            // now or in a later shutdown (the destructor calls it again).
            abandon_plugin(*it->second.plugin);
            load_order_.erase(std::remove(load_order_.begin(), load_order_.end(), name), load_order_.end());
        }
    }
}

void PluginLifecycle::abandon_plugin(Plugin& plugin) {
    if (std::unique_ptr<SharedObject> so = plugin.take_object()) {
        so->handle = nullptr;  // deliberately never dlclosed
        so->memfd = -1;        // the mapping keeps its own reference
    }
    // Detach its devices without calling into it (remove() may never run
    // now).
    for (const DriverPtr& drv : plugin.drivers) model_.abandon_driver(*drv);
}

void PluginLifecycle::set_state(ModuleRecord& rec, StubState state) {
    std::lock_guard lock(records_mu_);
    rec.state = state;
}

size_t PluginLifecycle::purge() {
    size_t freed = stubs_.purge();
    if (freed) log(LogLevel::info, "purged " + std::to_string(freed) + " inactive stub record(s)");
    return freed;
}

}  // namespace driverfs
