// Plugin lifecycle, loading: stage what init() registers, load, commit, publish module/<name>.
#include "abi.hpp"
#include "core_attr.hpp"
#include "core/core.hpp"
#include "core/log.hpp"
#include "core/validate.hpp"
#include "host_services.hpp"
#include "plugin_gate.hpp"

namespace driverfs {

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
    Status init = gate_plugin_init(*plugin, &host_services());
    plugin->in_init = false;
    if (!init)
        return fail(Error::of(init.error().code,
                              "plugin " + name + ": init failed (" + init.error().message + "); nothing loaded"));
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
        if (DFS_HAS_FIELD(ops, dfs_bus, match) && ops->match)
            match = [stub, ops, gen](const Device& dev, const Driver& drv) {
                return gate_bus_match(*stub, gen, ops, dev, drv);
            };
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
        // A plugin driver takes the place of a description's code-less
        // driver of the same name (declared_device.cpp).
        retire_static_driver(bus_name, drv->name());
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
    if (fresh) make_module_dir(name);
    NodePtr dir;
    {
        std::lock_guard lock(model_mu_);
        dir = modules_[name].dir;
    }
    if (!dir) return;
    for (const DriverPtr& drv : plugin->drivers) add_driver_stats(dir, drv);
}

void Core::make_module_dir(const std::string& name) {
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

// module/<plugin>/drivers/<driver>/: the driver's statistics, answered by the
// daemon from its DriverStats (a read here is no call into the driver, so it
// counts nowhere). The files hold the Driver weakly: they go with the
// registration (remove_driver), and a read racing that finds ENODEV.
void Core::add_driver_stats(const NodePtr& module_dir, const DriverPtr& drv) {
    Result<NodePtr> drivers = tree_.ensure_dir(module_dir, "drivers");
    Result<NodePtr> made = drivers ? tree_.add_dir(drivers.value(), drv->name()) : drivers;
    if (!made) {
        log(LogLevel::err, "module/.../drivers/" + drv->name() + " not created: " + made.error().message);
        return;
    }
    const std::weak_ptr<Driver> weak = drv;
    auto field = [weak](std::string (*fmt)(const DriverStatsSnapshot&)) {
        return std::make_unique<CoreAttr>(
            [weak, fmt]() -> Result<std::string> {
                DriverPtr d = weak.lock();
                if (!d) return Error::of(ENODEV, "the driver is gone");
                return fmt(d->stats().snapshot()) + "\n";
            },
            nullptr);
    };
    NodePtr dir = made.value();
    tree_.add_attr(dir, "calls", 0444, field([](const DriverStatsSnapshot& s) { return std::to_string(s.calls); }));
    tree_.add_attr(dir, "errors", 0444, field([](const DriverStatsSnapshot& s) { return std::to_string(s.errors); }));
    tree_.add_attr(dir, "in_flight", 0444,
                   field([](const DriverStatsSnapshot& s) { return std::to_string(s.in_flight); }));
    tree_.add_attr(dir, "refused", 0444, field([](const DriverStatsSnapshot& s) { return std::to_string(s.refused); }));
    tree_.add_attr(dir, "slowest", 0444, field([](const DriverStatsSnapshot& s) {
                       if (s.slowest.empty()) return std::string("none");
                       return s.slowest + " " + std::to_string(s.slowest_us) + " us";
                   }));
    drv->stats_dir = dir;
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

std::vector<DriverStatsInfo> Core::driver_stats() const {
    std::lock_guard lock(model_mu_);
    std::vector<DriverStatsInfo> out;
    for (const auto& [name, rec] : modules_)
        if (rec.plugin)
            for (const DriverPtr& d : rec.plugin->drivers) out.push_back({name, d->name(), d->stats().snapshot()});
    return out;
}

}  // namespace driverfs
