// The core: a thin front over its parts, the device model, the plugin lifecycle, the power walks and the tree that shows them.
// Knows nothing of FUSE or sockets; front ends call this API.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/device_description.hpp"
#include "core/device_model.hpp"
#include "core/error.hpp"
#include "core/events.hpp"
#include "core/node.hpp"
#include "core/plugin_lifecycle.hpp"
#include "core/power.hpp"
#include "core/stub.hpp"

namespace driverfs {

struct CoreOptions {
    std::string plugin_dir;
    std::chrono::milliseconds unload_timeout{5000};
};

struct CoreStats {
    size_t live_stubs, inactive_stubs, nodes, devices, bound_devices, plugins_loaded, buses;
    uint64_t last_event;
};

class Core {
public:
    explicit Core(CoreOptions options);
    ~Core();
    Core(const Core&) = delete;
    Core& operator=(const Core&) = delete;

    NodeTree& tree() { return tree_; }
    StubTable& stubs() { return stubs_; }
    const CoreOptions& options() const { return options_; }

    // Load a plugin by name (from the plugin directory) or path; returns its
    // module name. On any failure nothing of it stays registered.
    Result<std::string> load_plugin(const std::string& name_or_path) { return lifecycle_.load_plugin(name_or_path); }
    // Mark its drivers going, drain (bounded: EBUSY naming the calls still
    // running, and the plugin stays loaded), unbind, exit, remove, dlclose.
    Status unload_plugin(const std::string& name, std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
        return lifecycle_.unload_plugin(name, timeout);
    }
    // Call every bound driver's shutdown (newest device first), then unload
    // every plugin, newest first. Used at unmount; safe to call twice.
    void shutdown() { lifecycle_.shutdown(); }

    // Create a device on `bus` (below `parent`, a device name, if given) and
    // match it against the bus's drivers. Device names are unique across
    // buses (EEXIST).
    Status add_device(const std::string& bus, const std::string& name,
                      std::map<std::string, std::string> properties, const std::string& parent = "") {
        return model_.add_device(bus, name, std::move(properties), parent);
    }
    // Unbind and delete a device, its children first (newest first).
    Status remove_device(const std::string& bus, const std::string& name) { return model_.remove_device(bus, name); }
    // The same, finding the bus by the device's name.
    Status remove_device(const std::string& name) { return model_.remove_device(name); }
    // Bind or unbind one device to or from one driver.
    Status bind(const std::string& bus, const std::string& driver, const std::string& device) {
        return model_.bind(bus, driver, device);
    }
    Status unbind(const std::string& bus, const std::string& driver, const std::string& device) {
        return model_.unbind(bus, driver, device);
    }

    // Declarative devices (declared_*.cpp). Add the device `spec`
    // describes (checked with check_declared first): its undescribed
    // ancestors as plain directories, its subsystem (a bus or class, made
    // if absent), files, links, device number and code-less driver; then
    // its add event, and matching against plugin drivers of its bus.
    // Returns false, changing nothing, if a declarative device with the same
    // path and subsystem is there already; EEXIST if something else is.
    // All or nothing: on error nothing of it stays.
    Result<bool> add_declared_device(const DeclaredDevice& spec) { return model_.add_declared_device(spec); }
    // Remove the declarative device at `path` (devices/...) and every
    // declarative device below it, deepest first: unbound, remove events
    // sent, files gone. ENODEV if none is at `path`.
    Status remove_declared_device(const std::string& path) { return model_.remove_declared_device(path); }
    // Take away the buses descriptions made that no device or driver is on
    // (an apply's rollback: nothing of a refused description stays).
    void drop_unused_declared_buses() { model_.drop_unused_declared_buses(); }

    std::vector<ModuleInfo> modules() const { return lifecycle_.modules(); }
    std::vector<DeviceInfo> devices() const { return model_.devices(); }  // in registration order
    CoreStats stats() const;
    // Every loaded driver's statistics, by module then registration order.
    std::vector<DriverStatsInfo> driver_stats() const { return lifecycle_.driver_stats(); }
    // Free inactive stubs nothing refers to; returns how many.
    size_t purge() { return lifecycle_.purge(); }

    // Power: suspend every device children-before-parents (reverse
    // registration order) calling bound drivers' suspend, each call pinned;
    // a failing suspend aborts and resumes what was suspended. resume() walks
    // in registration order.
    Status suspend() { return power_.suspend(); }
    Status resume() { return power_.resume(); }

    EventQueue& events() { return events_; }

private:
    // bus/, devices/, class/, dev/{block,char}, module/ and control/, in
    // that order (a listing of the root shows them so).
    struct FixedDirs {
        ModelDirs model;
        NodePtr module, control;
    };
    static FixedDirs build_fixed_tree(NodeTree& tree);
    void add_control_files();

    // Declared in construction order: each part refers only to the ones
    // above it, and is destroyed before them.
    CoreOptions options_;
    NodeTree tree_;
    StubTable stubs_;
    EventQueue events_;
    FixedDirs dirs_;
    DeviceModel model_;
    PowerWalks power_;
    PluginLifecycle lifecycle_;
};

}  // namespace driverfs
