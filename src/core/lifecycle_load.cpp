// Plugin lifecycle, loading: stage what init() registers, load, commit.
#include "abi.hpp"
#include "core/plugin_lifecycle.hpp"
#include "core/log.hpp"
#include "core/validate.hpp"
#include "host_services.hpp"
#include "plugin_gate.hpp"

namespace driverfs {

PluginLifecycle::PluginLifecycle(Deps deps)
    : tree_(deps.tree), stubs_(deps.stubs), events_(deps.events), model_(deps.model), power_(deps.power),
      plugin_dir_(std::move(deps.plugin_dir)), unload_timeout_(deps.unload_timeout),
      module_dir_(std::move(deps.module_dir)) {}

Status PluginLifecycle::stage_driver(Plugin& plugin, const dfs_driver* drv) {
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
    if (!own_bus && !model_.find_bus(bus))
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

Status PluginLifecycle::stage_bus(Plugin& plugin, const dfs_bus* bus) {
    auto refuse = [&](Error e) -> Status {
        if (plugin.staging_error.code == 0) plugin.staging_error = e;
        return e;
    };
    if (!plugin.in_init) return Error::of(EPERM, "register_bus is only allowed during init");
    if (!bus || bus->size < offsetof(dfs_bus, match) + sizeof bus->match || !bus->name ||
        !valid_object_name(bus->name))
        return refuse(Error::of(EINVAL, "plugin " + plugin.name() + ": register_bus got a bad struct or name"));
    const std::string name = bus->name;
    bool taken = model_.find_bus(name) != nullptr;
    for (const dfs_bus* other : plugin.staged_buses) taken |= name == other->name;
    if (taken) return refuse(Error::of(EEXIST, "plugin " + plugin.name() + ": bus " + name + " already exists"));
    plugin.staged_buses.push_back(bus);
    return {};
}

Status PluginLifecycle::plugin_add_device(Plugin& plugin, const std::string& bus, const std::string& name,
                                          std::map<std::string, std::string> properties) {
    if (!plugin.in_init) return model_.add_device(bus, name, std::move(properties));
    // During init nothing of the plugin is live yet: create it afterwards.
    if (!valid_object_name(name)) return Error::of(EINVAL, "'" + name + "' is not a device name");
    plugin.staged_devices.push_back({bus, name, std::move(properties)});
    return {};
}

Result<std::string> PluginLifecycle::load_plugin(const std::string& name_or_path) {
    std::shared_ptr<Plugin> plugin;
    std::vector<DevicePtr> enumerated;
    Result<std::string> loaded = load_locked(name_or_path, plugin, enumerated);
    if (!loaded) return loaded;
    // Probing runs without plugin_mu_, so a slow probe cannot hold up an
    // unload; an unload that starts meanwhile makes the remaining probes fail
    // their pin and be skipped. As Linux's driver_register, attach only
    // where the bus autoprobes.
    for (const DriverPtr& drv : plugin->drivers)
        if (drv->bus().autoprobe) model_.match_driver(drv);
    // Devices a bus plugin enumerated during init; an unload that came
    // meanwhile has removed them (match_device skips a dead device).
    for (const DevicePtr& dev : enumerated)
        if (dev->bus().autoprobe) model_.match_device(dev);
    model_.retry_deferred();
    return loaded;
}

Result<std::string> PluginLifecycle::load_locked(const std::string& name_or_path, std::shared_ptr<Plugin>& loaded,
                                                 std::vector<DevicePtr>& added) {
    std::lock_guard plugin_lock(plugin_mu_);
    Result<std::string> path = resolve_plugin(name_or_path, plugin_dir_);
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
    plugin->lifecycle = this;
    plugin->model = &model_;
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
        Result<DevicePtr> dev = model_.register_device(d.bus, d.name, std::move(d.properties));
        if (dev)
            added.push_back(std::move(dev.value()));
        else
            log(LogLevel::err, "plugin " + name + ": device " + d.name + ": " + dev.error().message);
    }
    plugin->staged_devices.clear();
    return name;
}

Status PluginLifecycle::commit_plugin(Plugin& plugin) {
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
        if (Result<Bus*> b = model_.add_bus(name, std::move(match), &plugin); !b) return b.error();
    }
    for (const dfs_driver* ops : plugin.staged) {
        const std::string bus_name = ops->bus ? ops->bus : "platform";
        std::shared_ptr<Bus> bus = model_.find_bus(bus_name);
        std::vector<std::string> compatible;
        if (ops->compatible)
            for (const char* const* c = ops->compatible; *c; ++c) compatible.emplace_back(*c);
        StubRef stub = stubs_.activate(ops->name, ops, &plugin);
        if (!stub) return Error::of(EEXIST, "driver name " + std::string(ops->name) + " was taken meanwhile");
        auto drv = std::make_shared<Driver>(stub, *bus, plugin, std::move(compatible));
        drv->set_generation(stub->generation());
        if (Status s = model_.register_driver(plugin, drv, *bus); !s) return s;
    }
    return {};
}

}  // namespace driverfs
