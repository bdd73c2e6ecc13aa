// Modules: loading a plugin, committing its drivers, and the unload drain.
#include <algorithm>
#include <exception>

#include "abi.hpp"
#include "core_attr.hpp"
#include "driverfs/call_tracker.hpp"
#include "driverfs/core.hpp"
#include "driverfs/log.hpp"
#include "driverfs/validate.hpp"
#include "host_services.hpp"

namespace driverfs {
namespace {

// Run init() or exit() with the plugin's exceptions turned into a value.
int call_plugin(const std::string& plugin, const char* what, const std::function<int()>& fn,
                std::string* thrown) {
    try {
        return fn();
    } catch (const std::exception& e) {
        *thrown = std::string(what) + " threw: " + e.what();
    } catch (...) {
        *thrown = std::string(what) + " threw a non-standard exception";
    }
    log(LogLevel::err, "plugin " + plugin + ": " + *thrown);
    return -EIO;
}

}  // namespace

Status Core::stage_driver(Plugin& plugin, const dfs_driver* drv) {
    auto refuse = [&](Error e) -> Status {
        if (plugin.staging_error.code == 0) plugin.staging_error = e;
        return e;
    };
    if (!plugin.in_init) return Error::of(EPERM, "register_driver is only allowed during init");
    if (!drv || drv->size < offsetof(dfs_driver, dev_attrs) + sizeof drv->dev_attrs)
        return refuse(Error::of(EINVAL, "plugin " + plugin.name() + ": register_driver got a null or truncated struct"));
    if (!drv->name || !*drv->name)
        return refuse(Error::of(EINVAL, "plugin " + plugin.name() + ": a driver has no name"));
    const std::string name = drv->name;
    const std::string bus = drv->bus ? drv->bus : "platform";
    bool own_bus = false;
    for (const dfs_bus* b : plugin.staged_buses) own_bus |= bus == b->name;
    if (!own_bus && !find_bus(bus))
        return refuse(Error::of(ENOENT, "plugin " + plugin.name() + ": driver " + name + " wants bus " + bus +
                                            ", which does not exist"));
    for (const dfs_driver* other : plugin.staged)
        if (name == other->name)
            return refuse(Error::of(EEXIST, "plugin " + plugin.name() + " registers driver " + name + " twice"));
    if (StubRef stub = stubs_.find(name); stub && stub->state() != StubState::gone) {
        Plugin* owner = stub->owner();
        return refuse(Error::of(EEXIST, "driver name " + name + " is already registered by plugin " +
                                            (owner ? owner->name() : std::string("?")) +
                                            "; unload that plugin first"));
    }
    plugin.staged.push_back(drv);
    return {};
}

Result<std::string> Core::load_plugin(const std::string& name_or_path) {
    std::shared_ptr<Plugin> plugin;
    std::vector<DevicePtr> enumerated;
    Result<std::string> loaded = load_locked(name_or_path, plugin, enumerated);
    if (!loaded) return loaded;
    // Probing runs without plugin_mu_, so a slow probe cannot hold up an
    // unload; an unload that starts meanwhile makes the remaining probes fail
    // their pin and be skipped. As Linux's driver_register, attach only
    // where the bus autoprobes.
    for (const DriverPtr& drv : plugin->drivers)
        if (drv->bus().autoprobe) match_driver(drv);
    // Devices a bus plugin enumerated during init; an unload that came
    // meanwhile has removed them (match_device skips a dead device).
    for (const DevicePtr& dev : enumerated)
        if (dev->bus().autoprobe) match_device(dev);
    retry_deferred();
    return loaded;
}

std::vector<Stub*> Core::plugin_stubs(const Plugin& plugin) {
    std::vector<Stub*> out;
    for (const DriverPtr& drv : plugin.drivers) out.push_back(&drv->stub());
    for (const auto& [name, stub] : plugin.buses) out.push_back(stub.get());
    return out;
}

Status Core::stage_bus(Plugin& plugin, const dfs_bus* bus) {
    auto refuse = [&](Error e) -> Status {
        if (plugin.staging_error.code == 0) plugin.staging_error = e;
        return e;
    };
    if (!plugin.in_init) return Error::of(EPERM, "register_bus is only allowed during init");
    if (!bus || bus->size < offsetof(dfs_bus, match) + sizeof bus->match || !bus->name ||
        !valid_object_name(bus->name))
        return refuse(Error::of(EINVAL, "plugin " + plugin.name() + ": register_bus got a bad struct or name"));
    const std::string name = bus->name;
    bool taken = find_bus(name) != nullptr;
    for (const dfs_bus* other : plugin.staged_buses) taken |= name == other->name;
    if (taken) return refuse(Error::of(EEXIST, "plugin " + plugin.name() + ": bus " + name + " already exists"));
    plugin.staged_buses.push_back(bus);
    return {};
}

Status Core::plugin_add_device(Plugin& plugin, const std::string& bus, const std::string& name,
                               std::map<std::string, std::string> properties) {
    if (!plugin.in_init) return add_device(bus, name, std::move(properties));
    // During init nothing of the plugin is live yet: create it afterwards.
    if (!valid_object_name(name)) return Error::of(EINVAL, "'" + name + "' is not a device name");
    plugin.staged_devices.push_back({bus, name, std::move(properties)});
    return {};
}

Result<std::string> Core::load_locked(const std::string& name_or_path, std::shared_ptr<Plugin>& loaded,
                                      std::vector<DevicePtr>& added) {
    std::lock_guard plugin_lock(plugin_mu_);
    Result<std::string> path = resolve_plugin(name_or_path, options_.plugin_dir);
    if (!path) return path.error();
    if (Status s = check_plugin_file(path.value()); !s) return s.error();
    Result<std::unique_ptr<SharedObject>> so = map_private_copy(path.value());
    if (!so) return so.error();
    Result<const dfs_plugin_desc*> desc = plugin_descriptor(*so.value());
    if (!desc) return desc.error();
    const std::string name = desc.value()->name;
    if (auto it = modules_.find(name); it != modules_.end() && it->second.plugin)
        return Error::of(EEXIST, "plugin " + name + " is already loaded (from " + it->second.source + ")");

    auto plugin = std::make_shared<Plugin>(name, std::move(so.value()), desc.value());
    plugin->core = this;
    auto fail = [&](Error e) -> Result<std::string> {
        if (Status s = unmap(plugin->take_object()); !s) log(LogLevel::err, "plugin " + name + ": " + s.error().message);
        log(LogLevel::err, e.message);
        return e;
    };

    plugin->in_init = true;
    std::string thrown;
    int rc = call_plugin(name, "init", [&] { return plugin->desc().init(plugin.get(), &host_services()); }, &thrown);
    plugin->in_init = false;
    if (rc != 0) {
        std::string why = thrown.empty() ? "returned " + std::to_string(rc) : thrown;
        return fail(Error::of(errno_from_plugin(rc, "plugin " + name + ": init"),
                              "plugin " + name + ": init failed (" + why + "); nothing loaded"));
    }
    // A failed load is torn down like an unload; a call that started on a
    // just-committed driver (a bind racing the load) may still be running.
    auto give_up = [&](Error e) -> Result<std::string> {
        if (retire_plugin(*plugin)) return fail(std::move(e));
        abandon_plugin(*plugin);
        log(LogLevel::err, e.message + "; a call into it was still running, so it stays mapped");
        return e;
    };
    if (plugin->staging_error.code != 0) {
        Error e = plugin->staging_error;
        e.message += "; nothing loaded";
        return give_up(e);
    }
    if (Status s = commit_plugin(*plugin); !s) return give_up(s.error());
    publish_module(plugin);
    load_order_.push_back(name);
    log(LogLevel::info, "plugin " + name + " " + (plugin->desc().version ? plugin->desc().version : "") +
                            " loaded from " + plugin->source());
    loaded = plugin;
    events_.publish({0, "load", "module/" + name, "module", {{"MODULE", name}}});
    for (Plugin::StagedDevice& d : plugin->staged_devices) {
        Result<DevicePtr> dev = register_device(d.bus, d.name, std::move(d.properties));
        if (dev)
            added.push_back(std::move(dev.value()));
        else
            log(LogLevel::err, "plugin " + name + ": device " + d.name + ": " + dev.error().message);
    }
    plugin->staged_devices.clear();
    return name;
}

Status Core::commit_plugin(Plugin& plugin) {
    for (const dfs_bus* ops : plugin.staged_buses) {
        const std::string name = ops->name;
        // The bus's match() is plugin code: it gets a stub like a driver,
        // under a key no driver name can take.
        StubRef stub = stubs_.activate("bus:" + name, nullptr, &plugin);
        if (!stub) return Error::of(EEXIST, "bus " + name + " is registered meanwhile");
        plugin.buses.emplace_back(name, stub);
        const uint32_t gen = stub->generation();
        Bus::MatchFn match;  // none: the platform rule, daemon code
        if (DFS_HAS_FIELD(ops, dfs_bus, match) && ops->match) {
            match = [stub, ops, gen](const Device& dev, const Driver& drv) {
                Pin pin(stub->active());
                if (!pin || stub->generation() != gen) return false;
                CallScope scope(*stub, "match " + dev.name() + " with " + drv.name());
                try {
                    return ops->match(&dev, drv.name().c_str()) != 0;
                } catch (...) {
                    log(LogLevel::err, stub->name() + ": match threw; treated as no match");
                    return false;
                }
            };
        }
        if (Result<Bus*> b = add_bus(name, std::move(match), &plugin); !b) return b.error();
    }
    for (const dfs_driver* ops : plugin.staged) {
        const std::string bus_name = ops->bus ? ops->bus : "platform";
        std::shared_ptr<Bus> bus = find_bus(bus_name);
        std::vector<std::string> compatible;
        if (ops->compatible)
            for (const char* const* c = ops->compatible; *c; ++c) compatible.emplace_back(*c);
        StubRef stub = stubs_.activate(ops->name, ops, &plugin);
        if (!stub) return Error::of(EEXIST, "driver name " + std::string(ops->name) + " was taken meanwhile");
        auto drv = std::make_shared<Driver>(stub, *bus, plugin, std::move(compatible));
        drv->set_generation(stub->generation());
        {
            // A plugin thread may already look for its driver (a parentless
            // class device's owner).
            std::lock_guard lock(model_mu_);
            plugin.drivers.push_back(drv);
        }
        Result<NodePtr> dir = tree_.add_dir(bus->drivers_dir, drv->name());
        if (!dir) return dir.error();
        drv->dir = dir.value();
        const std::string drv_path = "bus/" + bus_name + "/drivers/" + drv->name();
        tree_.add_symlink(drv->dir, "module", relative_link(drv_path, "module/" + plugin.name()));
        add_driver_files(*drv);
        std::lock_guard lock(model_mu_);
        bus->add_driver(drv);
    }
    return {};
}

void Core::remove_driver(Driver& drv) {
    {
        std::lock_guard lock(model_mu_);
        drv.bus().remove_driver(drv);
    }
    if (drv.dir) tree_.remove(drv.dir);
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
            bound = drv->bound;
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
    if (DFS_HAS_FIELD(&plugin.desc(), dfs_plugin_desc, exit) && plugin.desc().exit) {
        std::string thrown;
        call_plugin(plugin.name(), "exit", [&] { plugin.desc().exit(&plugin); return 0; }, &thrown);
    }
    // What exit() did not destroy of its class devices of no device.
    for (const DriverPtr& drv : plugin.drivers) retire_virtual_class_devices(*drv);
    for (Stub* stub : stubs) stubs_.finish_unregister(*stub);
    return true;
}

void Core::publish_module(const std::shared_ptr<Plugin>& plugin) {
    const std::string name = plugin->name();
    bool fresh;
    {
        std::lock_guard lock(model_mu_);
        auto [it, inserted] = modules_.try_emplace(name);
        fresh = inserted || !it->second.dir;
        ModuleRecord& rec = it->second;
        rec.name = name;
        rec.version = plugin->desc().version ? plugin->desc().version : "";
        rec.source = plugin->source();
        rec.generation++;
        rec.state = StubState::live;
        rec.plugin = plugin;
    }
    if (!fresh) return;
    Result<NodePtr> made = tree_.add_dir(module_dir_, name);
    if (!made) {
        // The plugin works without its module/ directory; say why it is missing.
        log(LogLevel::err, "module/" + name + " not created: " + made.error().message);
        return;
    }
    NodePtr dir = made.value();
    auto field = [this, name](std::function<std::string(const ModuleRecord&)> fmt) {
        return std::make_unique<CoreAttr>(
            [this, name, fmt]() -> Result<std::string> {
                std::lock_guard lock(model_mu_);
                auto it = modules_.find(name);
                if (it == modules_.end()) return Error::of(ENODEV, "module " + name + " was purged");
                return fmt(it->second) + "\n";
            },
            nullptr);
    };
    tree_.add_attr(dir, "state", 0444, field([](const ModuleRecord& r) { return std::string(to_string(r.state)); }));
    tree_.add_attr(dir, "generation", 0444, field([](const ModuleRecord& r) { return std::to_string(r.generation); }));
    tree_.add_attr(dir, "version", 0444, field([](const ModuleRecord& r) { return r.version; }));
    tree_.add_attr(dir, "srcpath", 0444, field([](const ModuleRecord& r) { return r.source; }));
    tree_.add_attr(dir, "refcnt", 0444, field([](const ModuleRecord& r) {
                       int64_t n = 0;
                       if (r.plugin)
                           for (const DriverPtr& d : r.plugin->drivers) n += d->stub().in_flight();
                       return std::to_string(n);
                   }));
    std::lock_guard lock(model_mu_);
    modules_[name].dir = dir;
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
            bound = drv->bound;
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

CoreStats Core::stats() const {
    CoreStats st{};
    st.live_stubs = stubs_.live_count();
    st.inactive_stubs = stubs_.inactive_count();
    st.nodes = tree_.node_count();
    st.last_event = events_.last_seqnum();
    std::lock_guard lock(model_mu_);
    st.devices = all_devices_.size();
    for (const DevicePtr& d : all_devices_) st.bound_devices += d->driver != nullptr;
    for (const auto& [name, rec] : modules_) st.plugins_loaded += rec.plugin != nullptr;
    st.buses = buses_.size();
    return st;
}

std::vector<ModuleInfo> Core::modules() const {
    std::lock_guard lock(model_mu_);
    std::vector<ModuleInfo> out;
    for (const auto& [name, rec] : modules_) {
        ModuleInfo info{name, rec.version, rec.source, to_string(rec.state), rec.generation, 0, {}};
        if (rec.plugin)
            for (const DriverPtr& d : rec.plugin->drivers) {
                info.refcnt += d->stub().in_flight();
                info.drivers.push_back(d->name());
            }
        out.push_back(std::move(info));
    }
    return out;
}

}  // namespace driverfs
