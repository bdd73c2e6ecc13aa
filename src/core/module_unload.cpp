// Plugin lifecycle, unloading: drain, retire (unbind, exit), unmap or abandon, shutdown, purge.
#include <algorithm>

#include "core/call_tracker.hpp"
#include "core/core.hpp"
#include "core/log.hpp"
#include "plugin_gate.hpp"

namespace driverfs {

std::vector<Stub*> Core::plugin_stubs(const Plugin& plugin) {
    std::vector<Stub*> out;
    for (const DriverPtr& drv : plugin.drivers) out.push_back(&drv->stub());
    for (const auto& [name, stub] : plugin.buses) out.push_back(stub.get());
    return out;
}

void Core::remove_driver(Driver& drv) {
    {
        std::lock_guard lock(model_mu_);
        drv.bus().remove_driver(drv);
    }
    if (drv.dir) tree_.remove(drv.dir);
    if (drv.stats_dir) tree_.remove(drv.stats_dir);
}

// Tear down a plugin whose init succeeded, for unload and for a failed load
// alike: deactivate and drain its stubs (immediate when unload already
// drained them), unbind every device (the caller owns the drained stubs, so
// remove() runs unpinned), remove the drivers' nodes, call exit(), and move
// the stubs to the inactive list. The object stays mapped: unmap is the
// caller's. Returns false, having done nothing past the deactivation, if a
// call is still running after the unload timeout: then nothing may be torn
// down under it and the caller must abandon the plugin, never unmap it.
bool Core::retire_plugin(Plugin& plugin) {
    const std::vector<Stub*> stubs = plugin_stubs(plugin);
    for (Stub* stub : stubs) stubs_.begin_unregister(*stub);
    const auto deadline = std::chrono::steady_clock::now() + options_.unload_timeout;
    for (Stub* stub : stubs)
        if (!stubs_.drain(*stub, deadline)) return false;
    for (const DriverPtr& drv : plugin.drivers) {
        std::vector<DevicePtr> bound;
        {
            std::lock_guard lock(model_mu_);
            bound.assign(drv->bound.begin(), drv->bound.end());
        }
        for (const DevicePtr& dev : bound) {
            std::lock_guard dev_lock(dev->lock);
            Status s = unbind_locked(*dev, std::chrono::steady_clock::now() + options_.unload_timeout, true);
            if (!s) log(LogLevel::err, "unbinding " + dev->name() + ": " + s.error().message);
        }
        remove_driver(*drv);
    }
    // Its buses go with every device on them (bus_unregister in a module's exit).
    for (const auto& [bus_name, stub] : plugin.buses) remove_bus(bus_name);
    gate_plugin_exit(plugin);
    // What exit() did not destroy of its class devices of no device.
    for (const DriverPtr& drv : plugin.drivers) retire_virtual_class_devices(*drv);
    for (Stub* stub : stubs) stubs_.finish_unregister(*stub);
    return true;
}

Status Core::unload_plugin(const std::string& name, std::optional<std::chrono::milliseconds> timeout) {
    std::lock_guard plugin_lock(plugin_mu_);
    auto it = modules_.find(name);
    if (it == modules_.end() || !it->second.plugin)
        return Error::of(ENOENT, "plugin '" + name + "' is not loaded");
    return unload_locked(it->second, timeout.value_or(options_.unload_timeout));
}

Status Core::unload_locked(ModuleRecord& rec, std::chrono::milliseconds timeout) {
    std::shared_ptr<Plugin> plugin = rec.plugin;
    // Like a module whose bus other modules' drivers sit on: in use.
    {
        std::lock_guard lock(model_mu_);
        for (const auto& [bus_name, stub] : plugin->buses) {
            auto it = buses_.find(bus_name);
            if (it == buses_.end()) continue;
            for (const DriverPtr& d : it->second->drivers)
                if (&d->plugin() != plugin.get())
                    return Error::of(EBUSY, "plugin " + rec.name + " provides bus " + bus_name + ", used by driver " +
                                                d->name() + " of plugin " + d->plugin().name() + "; unload that first");
        }
        rec.state = StubState::going;
    }
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
        {
            std::lock_guard lock(model_mu_);
            rec.state = StubState::live;
        }
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
        std::lock_guard lock(model_mu_);
        rec.state = StubState::gone;
        rec.plugin = nullptr;
    }
    load_order_.erase(std::remove(load_order_.begin(), load_order_.end(), rec.name), load_order_.end());
    log(LogLevel::info, "plugin " + rec.name + " unloaded");
    events_.publish({0, "unload", "module/" + rec.name, "module", {{"MODULE", rec.name}}});
    return {};
}

void Core::shutdown() {
    std::lock_guard plugin_lock(plugin_mu_);
    if (!load_order_.empty()) shutdown_devices();
    std::vector<std::string> order(load_order_.rbegin(), load_order_.rend());
    for (const std::string& name : order) {
        auto it = modules_.find(name);
        if (it == modules_.end() || !it->second.plugin) continue;
        if (Status s = unload_locked(it->second, options_.unload_timeout); !s) {
            log(LogLevel::err, "at shutdown: " + s.error().message + "; its code stays mapped until exit");
            // A call is still running in it: never dlclose under its feet,
            // now or in a later shutdown (the destructor calls it again).
            abandon_plugin(*it->second.plugin);
            load_order_.erase(std::remove(load_order_.begin(), load_order_.end(), name), load_order_.end());
        }
    }
}

void Core::abandon_plugin(Plugin& plugin) {
    if (std::unique_ptr<SharedObject> so = plugin.take_object()) {
        so->handle = nullptr;  // deliberately never dlclosed
        so->memfd = -1;        // the mapping keeps its own reference
    }
    // Detach its devices without calling into it (remove() may never run
    // now): this frees the core's side of each binding; the plugin's
    // per-device data goes with its code. No device lock: the stuck call
    // may be a probe holding one.
    for (const DriverPtr& drv : plugin.drivers) {
        std::vector<DevicePtr> bound;
        {
            std::lock_guard lock(model_mu_);
            bound.assign(drv->bound.begin(), drv->bound.end());
        }
        for (const DevicePtr& dev : bound) detach_binding(*dev);
        retire_virtual_class_devices(*drv);
    }
}

size_t Core::purge() {
    size_t freed = stubs_.purge();
    if (freed) log(LogLevel::info, "purged " + std::to_string(freed) + " inactive stub record(s)");
    return freed;
}

}  // namespace driverfs
