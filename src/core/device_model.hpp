// The device model: buses, classes, devices and their names, matching, binding, deferred probe, class devices, declarative devices.
// Knows nothing of loading plugins: the plugin lifecycle hands it drivers
// and buses to register and asks it to let go of them.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/bus.hpp"
#include "core/device_description.hpp"
#include "core/error.hpp"
#include "core/events.hpp"
#include "core/node.hpp"
#include "core/plugin_loader.hpp"

namespace driverfs {

struct DeclaredEntry;

struct DeviceInfo {
    std::string name, bus, parent, driver;  // parent, driver: empty if none
    std::string path;                       // devices/... in the tree
    bool suspended;
    std::map<std::string, std::string> properties;
};

// The fixed directories the model fills (made by the core, in its order).
struct ModelDirs {
    NodePtr bus, devices, cls, dev_char, dev_block;  // bus/, devices/, class/, dev/char, dev/block
};

class DeviceModel {
public:
    DeviceModel(NodeTree& tree, EventQueue& events, std::chrono::milliseconds unload_timeout, ModelDirs dirs);
    // Lets go of every membership: a bus and its members hold each other.
    ~DeviceModel();
    DeviceModel(const DeviceModel&) = delete;
    DeviceModel& operator=(const DeviceModel&) = delete;

    // Create a device on `bus` (below `parent`, a device name, if given) and
    // match it against the bus's drivers. Device names are unique across
    // buses (EEXIST).
    Status add_device(const std::string& bus, const std::string& name,
                      std::map<std::string, std::string> properties, const std::string& parent = "");
    // add_device without the matching: the device joins its bus and the
    // tree and its add event is sent. Takes model_mu_; calls no plugin.
    Result<DevicePtr> register_device(const std::string& bus, const std::string& name,
                                      std::map<std::string, std::string> properties, const std::string& parent = "");
    // Unbind and delete a device, its children first (newest first).
    Status remove_device(const std::string& bus, const std::string& name);
    // The same, finding the bus by the device's name.
    Status remove_device(const std::string& name);
    // Bind or unbind one device to or from one driver.
    Status bind(const std::string& bus, const std::string& driver, const std::string& device);
    Status unbind(const std::string& bus, const std::string& driver, const std::string& device);
    std::vector<DeviceInfo> devices() const;  // in registration order

    // Declarative devices (declared_*.cpp): see Core.
    Result<bool> add_declared_device(const DeclaredDevice& spec);
    Status remove_declared_device(const std::string& path);
    void drop_unused_declared_buses();

    // Buses (device_model.cpp).
    std::shared_ptr<Bus> find_bus(const std::string& name);
    Result<Bus*> add_bus(const std::string& name, Bus::MatchFn match, Plugin* owner = nullptr);
    // Remove a plugin's bus and every device on it; the Bus object goes with
    // the last device or driver that holds it (an open file may keep one).
    void remove_bus(const std::string& name);
    // EBUSY if a driver of another plugin sits on a bus `plugin` provides.
    Status check_buses_unused(const Plugin& plugin) const;

    // Drivers, for the plugin lifecycle (device_model.cpp). Put a committed
    // driver of `plugin` on `bus`: in plugin.drivers, its directory (with a
    // link to module/<plugin>), its bind/unbind files, then the bus's list.
    // It takes the place of a code-less driver of the same name.
    Status register_driver(Plugin& plugin, const DriverPtr& drv, Bus& bus);
    // Off its bus and out of the tree (its statistics' directory too).
    void remove_driver(Driver& drv);
    // The unloader's, drv drained: unbind every device bound to it, remove()
    // running unpinned (the caller owns the drained stub).
    void unbind_drained(Driver& drv);
    // A stuck unload's: detach every binding of drv without calling into it
    // (no device lock: the stuck call may be a probe holding one), and
    // retire its class devices of no device.
    void abandon_driver(Driver& drv);
    // The class devices of no device that drv owns, newest first: at
    // unload, once its stub is drained (their files pin it) and exit()
    // has had its chance to destroy them.
    void retire_virtual_class_devices(Driver& drv);

    // Matching (match.cpp). Try every driver of the bus; each probe enters
    // the plugin gate, so a driver being unloaded is skipped.
    void match_device(const DevicePtr& dev);
    // Try every unbound device of the driver's bus.
    void match_driver(const DriverPtr& drv);
    // Probe the deferred devices again if anything bound since last time.
    void retry_deferred();

    // For dfs_host (host_services.cpp).
    // update_group (attr_group.cpp): ask `group`, one of the groups of dev's
    // driver, is_visible again and make dev's files match. Takes no device
    // lock and holds no lock across plugin code, so any callback of the
    // driver may call it. ENODEV if dev is not bound (or is being unbound),
    // its driver is going, or the group is not its driver's; EDEADLK from
    // inside is_visible.
    Status update_group(Device& dev, const dfs_attribute_group* group);
    // class_device_create and class_device_destroy (class_device.cpp).
    // `plugin` asks; parent null: a class device of no device, for
    // info->owner, one of plugin's drivers.
    Result<DevicePtr> create_class_device(Plugin& plugin, Device* parent, const dfs_class_device* info,
                                          void* drvdata);
    Status destroy_class_device(Device& cdev);
    // device_driver: the driver probing or bound to dev, or the owner of a
    // class device; null if none.
    DriverPtr driver_of(const Device& dev) const;

    // For the power walks (power.cpp): every device in registration order,
    // and one device's power-relevant state, each read in one model_mu_
    // section; the caller holds dev.lock.
    std::vector<DevicePtr> devices_in_order() const;
    struct PmView {
        bool dead, suspended;
        DriverPtr driver;
    };
    PmView pm_view(const Device& dev) const;
    void set_suspended(Device& dev, bool suspended);

    struct Counts {
        size_t devices, bound_devices, buses;
    };
    Counts counts() const;

private:
    DevicePtr find_device(Bus& bus, const std::string& name);
    DevicePtr find_device(const std::string& name);
    Status remove_device(const DevicePtr& dev);
    void emit(const std::string& action, const Device& dev, std::map<std::string, std::string> extra = {});
    // `with_root`: also devices/<bus>, where its devices go (a bus a
    // description makes has none: its devices say where they are).
    Status add_bus_files(Bus& bus, bool with_root = true);
    void add_driver_files(Driver& drv);
    Status add_device_files(const DevicePtr& dev);

    // Binding (bind.cpp). `dev.lock` must be held.
    Status probe_locked(Device& dev, const DriverPtr& drv);
    // EBUSY if dev's attributes could not be drained in time; ENODEV if the
    // driver is going (its unloader unbinds). `driver_drained`: the caller is
    // the unloader and owns the drained stub, so no pin is taken.
    Status unbind_locked(Device& dev, std::chrono::steady_clock::time_point deadline, bool driver_drained);
    void attach_driver_nodes(Device& dev, const DriverPtr& drv);
    // drv's dev_attrs and bin_attrs in `dir` (dev's own, or a legacy class
    // device's), each calling drv with dev; drv pinned. The nodes made.
    std::vector<NodePtr> add_driver_attrs(Device& dev, const NodePtr& dir, const DriverPtr& drv);
    // Attribute groups (attr_group.cpp). Ask is_visible for every attribute
    // of `group` (no lock held; through the plugin gate, ENODEV if drv is
    // going) and, if dev's groups are still in `phase` of the same binding
    // and no later evaluation of the group started meanwhile, make the files
    // match. Takes groups_mu.
    Status sync_group(Device& dev, const DriverPtr& drv, const dfs_attribute_group* group, Device::Groups phase);
    // Create, remove or remake group's files to match `modes` (one per
    // attribute; nullopt: hidden). dev.groups_mu held, drv pinned.
    void apply_group(Device& dev, const DriverPtr& drv, const dfs_attribute_group* group,
                     const std::vector<std::optional<uint32_t>>& modes);
    // Undo attach_driver_nodes and the binding in the model; calls nothing
    // of the driver.
    void detach_binding(Device& dev);
    // Class devices (class_device.cpp). The class named `name`, made on
    // first use; model_mu_ held.
    Result<Bus*> class_locked(const std::string& name);
    // Make a class device below `parent` for `owner` (pinned by the caller):
    // its directory, standard files and links, under model_mu_; then its
    // groups' files, asking is_visible with no lock held. `groups` and
    // `props` are copies, safe to keep.
    Result<DevicePtr> make_class_device(Device* parent, const DriverPtr& owner, const std::string& cls,
                                        const std::string& name_template, uint32_t major, uint32_t minor,
                                        bool block, std::vector<const dfs_attribute_group*> groups,
                                        std::map<std::string, std::string> props, void* drvdata);
    // Take a class device out of the model and the tree and send its remove
    // event; false if it was already gone. Calls nothing of the driver.
    bool retire_class_device(const DevicePtr& cdev);
    // The class device a driver without ABI 4 gets for its class_name, with
    // its dev_attrs and bin_attrs on it too (drv pinned).
    void make_legacy_class_device(Device& dev, const DriverPtr& drv, const std::string& cls);
    Status add_class_device_files(const DevicePtr& cdev);
    static constexpr int kEprobeDefer = DFS_EPROBE_DEFER;

    NodeTree& tree_;
    EventQueue& events_;
    const std::chrono::milliseconds unload_timeout_;  // bounds the drains of unbind and class device removal
    const NodePtr bus_dir_, devices_dir_, class_dir_;
    const NodePtr dev_char_dir_, dev_block_dir_;  // dev/char, dev/block

    // Protects buses_ and the Bus/Device fields documented as under it.
    // Never held across a call into a driver. Order: Device::lock, then
    // model_mu_, then NodeTree's lock.
    mutable std::mutex model_mu_;
    std::map<std::string, std::shared_ptr<Bus>, std::less<>> buses_;
    std::map<std::string, std::shared_ptr<Bus>, std::less<>> classes_;  // never removed
    std::list<DevicePtr> all_devices_;  // registration order: the power walks' list
    // Name -> device. Names of plugin and control-plane devices are unique
    // across buses; a declarative device's only on its bus, so a name may
    // map to more than one (declared_device.cpp).
    std::unordered_multimap<std::string, DevicePtr> devices_by_name_;
    std::vector<std::weak_ptr<Device>> deferred_;  // probe said EPROBE_DEFER
    std::atomic<bool> bound_since_retry_{false};   // a device bound: retry deferred_

    // Declarative devices by path (declared_*.cpp), under model_mu_:
    // they are part of the model the bus and class lists describe, and are
    // made and taken away in the same sections as those.
    std::map<std::string, std::shared_ptr<DeclaredEntry>, std::less<>> declared_;
    // Code-less drivers' directories (bus/X/drivers/Y), by "X/Y"; made on
    // first use, never removed, under model_mu_.
    std::map<std::string, NodePtr, std::less<>> static_drivers_;
    std::set<std::string> declared_buses_;  // buses descriptions made, under model_mu_
    std::set<NodePtr> declared_plain_;      // their undescribed ancestors' directories, under model_mu_
    Result<NodePtr> static_driver_dir_locked(const std::string& bus, const std::string& driver);
    // bind/unbind of a code-less driver: run `change` on the declarative
    // device `device` of bus `bus` (ENODEV if none) under its Device::lock
    // and model_mu_, then, if it succeeded, send the event `action`.
    Result<DevicePtr> change_declared(const std::string& bus, const std::string& device, const char* action,
                                      const std::function<Status(Device&)>& change);
    Status static_bind(const std::string& bus, const std::string& driver, const std::string& device);
    Status static_unbind(const std::string& bus, const std::string& driver, const std::string& device);
    // A plugin driver named like a code-less one registers: the devices
    // bound to the code-less one are unbound (matching then gives them to
    // the plugin's) and its directory goes. No lock held.
    void retire_static_driver(const std::string& bus, const std::string& driver);
    // Link `dev` to its code-less driver; model_mu_ held.
    Status static_bind_locked(DeclaredEntry& entry, const std::string& driver);
    void static_unbind_locked(DeclaredEntry& entry);
    Status remove_declared_entry(const std::shared_ptr<DeclaredEntry>& entry);
    // Adopting a directory the core made for a declarative device without a
    // subsystem (declared_device.cpp); under model_mu_.
    NodePtr platform_root_locked() const;
    bool adoptable_locked(const NodePtr& dir, const DeclaredDevice& spec) const;
    std::vector<NodePtr> added_to_adopted(const DeclaredEntry& entry, const std::set<std::string>& before);
    // A declarative device's uevent lines and event keys (declared_uevent.cpp).
    std::string declared_uevent(const Device& dev);
    void declared_event_env(const Device& dev, std::map<std::string, std::string>& env);
    // A bound driver's file named like a recorded attribute of dev hides
    // it; at unbind the recorded ones come back. model_mu_ not held.
    bool hide_recorded(Device& dev, const std::string& name);
    void restore_recorded(Device& dev);
    // Linux's uevent_store: ACTION [UUID [KEY=VALUE ...]] (device.cpp).
    Status uevent_write(Device& dev, std::string_view data);
};

}  // namespace driverfs
