// The plugin lifecycle: stage what init() registers, load, commit, unload, retire or abandon, shutdown, purge; the module records.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/device_model.hpp"
#include "core/driver_stats.hpp"
#include "core/error.hpp"
#include "core/events.hpp"
#include "core/node.hpp"
#include "core/plugin_loader.hpp"
#include "core/power.hpp"
#include "core/stub.hpp"

namespace driverfs {

// What module/<name>/ shows; outlives the loaded plugin, like its stubs.
struct ModuleRecord {
    std::string name;
    std::string version;
    std::string source;
    uint32_t generation = 0;
    StubState state = StubState::gone;
    std::shared_ptr<Plugin> plugin;  // null unless loaded
    NodePtr dir;
};

struct ModuleInfo {
    std::string name, version, source, state;
    uint32_t generation;
    int64_t refcnt;
    std::vector<std::string> drivers;
};

// One loaded driver's statistics (module/<plugin>/drivers/<driver>/).
struct DriverStatsInfo {
    std::string module, driver;
    DriverStatsSnapshot stats;
};

class PluginLifecycle {
public:
    struct Deps {
        NodeTree& tree;
        StubTable& stubs;
        EventQueue& events;
        DeviceModel& model;
        PowerWalks& power;  // the shutdown walk
        std::string plugin_dir;
        std::chrono::milliseconds unload_timeout;
        NodePtr module_dir;  // module/
    };
    explicit PluginLifecycle(Deps deps);
    PluginLifecycle(const PluginLifecycle&) = delete;
    PluginLifecycle& operator=(const PluginLifecycle&) = delete;

    // See Core: load, unload, shutdown, purge.
    Result<std::string> load_plugin(const std::string& name_or_path);
    Status unload_plugin(const std::string& name, std::optional<std::chrono::milliseconds> timeout);
    void shutdown();
    size_t purge();

    std::vector<ModuleInfo> modules() const;
    std::vector<DriverStatsInfo> driver_stats() const;
    size_t plugins_loaded() const;

    // For dfs_host (host_services.cpp), only during the plugin's init()
    // except plugin_add_device, which adds at once afterwards.
    Status stage_driver(Plugin& plugin, const dfs_driver* drv);
    Status stage_bus(Plugin& plugin, const dfs_bus* bus);
    Status plugin_add_device(Plugin& plugin, const std::string& bus, const std::string& name,
                             std::map<std::string, std::string> properties);

private:
    // Everything of a load that must not interleave with an unload: init,
    // commit, and the devices the plugin enumerated during init (`added`),
    // so they land on the buses they were enumerated for. Matching them,
    // which may probe slowly, is left to the caller, outside plugin_mu_.
    Result<std::string> load_locked(const std::string& name_or_path, std::shared_ptr<Plugin>& loaded,
                                    std::vector<DevicePtr>& added);
    static std::vector<Stub*> plugin_stubs(const Plugin& plugin);  // drivers' and buses'
    Status commit_plugin(Plugin& plugin);
    bool retire_plugin(Plugin& plugin);
    // module/ (lifecycle_modules.cpp).
    void publish_module(const std::shared_ptr<Plugin>& plugin);
    void make_module_dir(const std::string& name);
    void add_driver_stats(const NodePtr& module_dir, const DriverPtr& drv);
    Status unload_locked(ModuleRecord& rec, std::chrono::milliseconds timeout);
    // Shutdown could not drain it: keep its code mapped forever and cut the
    // core's references to it.
    void abandon_plugin(Plugin& plugin);
    void set_state(ModuleRecord& rec, StubState state);

    NodeTree& tree_;
    StubTable& stubs_;
    EventQueue& events_;
    DeviceModel& model_;
    PowerWalks& power_;
    const std::string plugin_dir_;
    const std::chrono::milliseconds unload_timeout_;
    const NodePtr module_dir_;

    // Serializes load, unload and shutdown. Held across drains and calls
    // into the model, so it comes before Device::lock and the model's
    // model_mu_; no callback path takes it, so a callback can never wait on
    // the unloader.
    std::mutex plugin_mu_;
    // Guards the records' fields for readers that must not wait on
    // plugin_mu_ (module/ files, modules(), statistics). A leaf: nothing
    // else is taken while it is held, and it is never held across a call
    // into a plugin.
    mutable std::mutex records_mu_;
    std::map<std::string, ModuleRecord, std::less<>> modules_;  // written under plugin_mu_ and records_mu_
    std::vector<std::string> load_order_;                       // under plugin_mu_
};

}  // namespace driverfs
