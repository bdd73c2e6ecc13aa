// Declarative devices, private to the core: what the core keeps of each one and the files it serves for them.
// Devices a description gives with their files, links and properties,
// served by the core itself (no plugin, nothing to unload): added in
// declared_device.cpp, removed in declared_remove.cpp, bound to code-less
// drivers in declared_driver.cpp, their uevent in declared_uevent.cpp,
// their recorded attributes in declared_attr.cpp. Nothing outside src/core/
// touches these.
//
// Locking. DeviceModel::declared_, every DeclaredEntry's mutable fields and the
// static drivers' directories are under DeviceModel::model_mu_, the lock of the
// model they extend: a declarative device joins its bus or class, the tree
// and declared_ in one model_mu_ section (as register_device does), so a
// reader of any of those sees all of it or none of it. The order is the
// core's: Device::lock, then model_mu_, then the tree's lock. Recorded
// values have their own leaf lock (DeclaredValue::mu). Nothing in these
// files calls a plugin with a lock held: matching and unbinding go through
// match_device and unbind_locked, which enter the plugin gate themselves.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/device_description.hpp"
#include "core/device.hpp"
#include "core/node.hpp"

namespace driverfs {

// The value of one recorded attribute, shared by every node that serves it
// (a recorded file hidden by a driver's and shown again later is a new node
// on the same value). `mu` is a leaf lock: held only to copy bytes in or out.
struct DeclaredValue {
    std::mutex mu;
    std::string bytes;
};

// A recorded attribute: text (snapshotted at open like every text file) or
// binary (read and written at an offset, at most DeclaredAttr::kMaxBinary).
// Daemon code: no pin, nothing to unload. A write (mode with a write bit:
// the FUSE side refuses the others with EACCES) keeps the value and wakes
// pollers as sysfs_notify does.
class DeclaredAttrOps : public AttrOps {
public:
    DeclaredAttrOps(std::shared_ptr<DeclaredValue> value, bool binary, NodeTree& tree)
        : value_(std::move(value)), binary_(binary), tree_(tree) {}
    // The node serving it, for the wake-up; set right after the node is made.
    void set_node(const NodePtr& node) { node_ = node; }

    Result<size_t> show(char* page) override;
    Result<size_t> store(std::string_view data) override;
    size_t size() const override;
    bool binary() const override { return binary_; }
    Result<size_t> read_at(char* out, size_t count, size_t offset) override;
    Result<size_t> write_at(std::string_view data, size_t offset) override;
    // The whole value, whatever the mode; pollers wake.
    Status replace(std::string_view bytes);

private:
    void changed();

    const std::shared_ptr<DeclaredValue> value_;
    const bool binary_;
    NodeTree& tree_;
    std::weak_ptr<Node> node_;
};

// Make the node of a recorded attribute in `dir`.
Result<NodePtr> add_declared_attr(NodeTree& tree, const NodePtr& dir, const std::string& name, uint32_t mode,
                                  const std::shared_ptr<DeclaredValue>& value, bool binary);

// driverfsctl set-attribute: from now on the recorded attribute at `path`
// (relative to the root; symlinks followed, so class/... works) shows
// `bytes`, whatever its mode, as hardware changes a read-only sysfs value;
// pollers wake. ENOENT if nothing is there, EINVAL for any other file (a driver's attribute answers through
// its driver, the core's files are the core's).
Status set_recorded_attribute(NodeTree& tree, std::string_view path, std::string_view bytes);

// The uevent file of a declarative device bound to `driver` (empty: none),
// in the order of Linux's dev_uevent; the recorded properties follow the
// core's own lines, which win over recorded ones of the same key.
std::string declared_uevent_text(const DeclaredDevice& spec, const std::string& driver);

// What the core keeps of one declarative device. `spec` is fixed at
// creation; the rest is under DeviceModel::model_mu_ (the lock that also guards
// the model it is part of: DeviceModel::declared_, the bus and class lists).
struct DeclaredEntry {
    DeclaredDevice spec;
    DevicePtr dev;  // null: no subsystem, a plain directory with a uevent
    NodePtr dir;
    // Nodes outside `dir` made for it (bus/X/devices/NAME, class/X/NAME,
    // dev/char/M:N), removed with it.
    std::vector<NodePtr> outside;
    // Code-less driver it is bound to (empty: none) and the two links of
    // that binding (dev/driver, bus/X/drivers/Y/NAME).
    std::string static_driver;
    NodePtr driver_link, driver_back_link;
    // Its top-level recorded attributes by name, to show again after a
    // plugin driver's attribute of the same name went away with its binding.
    struct Recorded {
        std::shared_ptr<DeclaredValue> value;
        uint32_t mode;
        bool binary;
    };
    std::map<std::string, Recorded> recorded;
    std::set<std::string> hidden;  // recorded names a bound driver's file hides
    bool removing = false;         // remove_declared_device has begun
    // Set when `dir` was there before the device: devices/platform (a
    // device in Linux, a directory of the core here) or a plain directory
    // made for an earlier declarative device. The device then owns only
    // `adopted_nodes`, the entries it added to `dir`; removal takes those
    // and leaves the directory. Set once, under DeviceModel::model_mu_.
    bool adopted = false;
    std::vector<NodePtr> adopted_nodes;
};

}  // namespace driverfs
