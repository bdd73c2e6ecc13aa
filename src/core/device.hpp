// Devices: named objects on a bus that a driver binds to, and class devices.
// A class device is Linux's device_create: a device of a class, made by a
// bound driver below its device. Both are one type, as struct device is in
// Linux: a class device's "bus" is its class (a Bus with is_class), it is
// never bound, and its attributes call the driver that made it (`owner`).
#pragma once

#include <atomic>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/node.hpp"
#include "driverfs/plugin.h"

// The opaque handle plugins hold is the Device itself.
struct dfs_device {};

namespace driverfs {

class Bus;
class DeviceModel;
class Driver;
struct DeclaredEntry;

class Device : public dfs_device, public std::enable_shared_from_this<Device> {
public:
    // `match_key`: what the platform rule compares (empty: the
    // `compatible` property, else the name without its instance number).
    Device(std::string name, Bus& bus, std::map<std::string, std::string> props, std::string match_key = "");

    const std::string& name() const { return name_; }
    Bus& bus() const { return *bus_; }
    // Properties are fixed at creation, so plugins may read them without a lock.
    const std::map<std::string, std::string>& properties() const { return props_; }
    // What the platform rule compares with a driver's names; fixed at creation.
    const std::string& match_key() const { return match_key_; }
    const char* property(const std::string& key) const {
        auto it = props_.find(key);
        return it == props_.end() ? nullptr : it->second.c_str();
    }

    static Device* from(dfs_device* d) { return static_cast<Device*>(d); }
    static const Device* from(const dfs_device* d) { return static_cast<const Device*>(d); }

    // Held across probe/remove of this device and while its binding changes,
    // like the kernel's device_lock(). Lock order: lock before DeviceModel::model_mu_.
    std::mutex lock;

    // The fields below are written with `lock` and DeviceModel::model_mu_ held and
    // read with either.
    std::shared_ptr<Driver> driver;            // bound driver, or null
    std::string driver_override;
    NodePtr dir;                               // devices/platform/<name>
    std::string path;                          // dir's path in the tree; set with dir
    // Created for the bound driver. Weak: those attribute nodes hold the
    // device (a call must find it alive), and the tree owns them.
    std::vector<std::weak_ptr<Node>> driver_nodes;
    bool dead = false;                         // deleted from its bus
    // Its places in Bus::devices, the bus's match-key index, DeviceModel::all_devices_
    // and its driver's `bound`, so leaving each is O(1) and keeps the others'
    // order: with a scan per device, unloading a driver of 100,000 devices
    // took minutes (bench/README.md, "A big directory"). Under DeviceModel::model_mu_.
    std::list<std::shared_ptr<Device>>::iterator bus_pos, key_pos, all_pos, bound_pos;
    unsigned child_count = 0;                  // registered devices whose parent this is
    bool removing = false;                     // remove_device has begun: no child may join
    bool suspended = false;                    // power state
    std::shared_ptr<Device> parent;            // null for a top-level device
    // The driver probe() runs for right now (class_device_create may come
    // from inside it, before `driver` is set); null outside probe.
    std::shared_ptr<Driver> probing;
    // Class devices the bound (or probing) driver made below this device,
    // in creation order. Destroyed at unbind at the latest.
    std::vector<std::shared_ptr<Device>> class_devices;

    // Class devices only, fixed at creation: the driver whose code their
    // attributes run (pinned through its stub), the groups they were made
    // with, their device number (major 0: none) and where class/ and dev/
    // link to them.
    std::shared_ptr<Driver> owner;
    std::vector<const dfs_attribute_group*> class_groups;
    uint32_t major = 0, minor = 0;
    bool block = false;
    NodePtr class_link, dev_link;
    bool is_class_device() const;

    // Where the bound driver's attribute-group files are in their life:
    // made at bind (attaching), changeable by update_group (live), going at
    // unbind (detaching). Under groups_mu.
    enum class Groups : uint8_t { none, attaching, live, detaching };
    // Serializes every change of the bound driver's group files: their
    // creation at bind, update_group, their removal at unbind. Held only
    // around tree updates, never across a call into a plugin or a drain, so
    // update_group may run inside any callback. Lock order: lock, then
    // groups_mu, then DeviceModel::model_mu_.
    std::mutex groups_mu;
    Groups groups = Groups::none;  // under groups_mu
    uint64_t binding = 0;          // bumped at every bind (under groups_mu)
    // update_group came while attaching: evaluate every group again once
    // live (under groups_mu).
    bool regroup = false;
    // Per group, the number of the latest update_group to start (under
    // groups_mu): an evaluation that a later one overtook is not applied,
    // so the files end up matching the newest answers of is_visible.
    std::map<const dfs_attribute_group*, uint64_t> group_ticket;

    // Declarative devices only (declared_device.cpp): what the description
    // made of it; fixed at creation, null for every other device. Its
    // mutable fields are under DeviceModel::model_mu_.
    std::shared_ptr<DeclaredEntry> declared;
    // The code-less driver of a description it is bound to (empty: none).
    // Written with `lock` and DeviceModel::model_mu_ held, like `driver`; a device
    // with one is bound as far as matching is concerned.
    std::string static_driver;

    std::atomic<void*> drvdata{nullptr};
    NodeTree* tree = nullptr;  // set at creation; for change notifications
    DeviceModel* model = nullptr;  // set at creation; for dfs_host's calls on it

private:
    const std::string name_;
    const std::shared_ptr<Bus> bus_;  // keeps a retired bus alive while the device is
    const std::map<std::string, std::string> props_;
    const std::string match_key_;
};

// "led0", "led.1", "led-2" -> "led"; a name that is all digits stays.
std::string strip_instance_number(const std::string& name);

using DevicePtr = std::shared_ptr<Device>;

}  // namespace driverfs
