// Attribute groups of a bound driver: files made at bind, kept in step with is_visible by update_group.
// (update_group is Linux's sysfs_update_group.)
//
// Locking. An update is two steps: ask is_visible for every attribute (plugin
// code: no host lock held, the driver pinned through its stub), then change
// the tree under the device's groups_mu (daemon code only, never a drain).
// Because no lock is held while the plugin runs, update_group may be called
// from any callback of the driver, including a store() of an attribute that
// is being drained by an unbind holding Device::lock: it does not take
// Device::lock, and once the unbind has begun it answers ENODEV at once.
// Two updates of one group may overlap; each takes a ticket when it starts
// and only the newest one's answers are applied, so the files end up as the
// last is_visible said (a caller changes its state before it calls).
//
// A store() of an attribute whose own group it updates may remove its own
// file: tree removal only deactivates (it never waits for calls in flight),
// so that store runs to its end and its return value reaches the writer; the
// node it runs on stays alive (the open file holds it), and every later read
// or write of that fd gets ENODEV while poll reports POLLERR, as for any
// removed attribute.
#include <algorithm>
#include <utility>

#include "abi.hpp"
#include "driver_attr.hpp"
#include "core/device_model.hpp"
#include "core/log.hpp"
#include "plugin_gate.hpp"

namespace driverfs {
namespace {

// How many is_visible calls of update_groups this thread is inside: one that
// calls update_group would start another evaluation of itself, without end.
thread_local int evaluating = 0;

struct Evaluating {
    Evaluating() { ++evaluating; }
    ~Evaluating() { --evaluating; }
    Evaluating(const Evaluating&) = delete;
    Evaluating& operator=(const Evaluating&) = delete;
};

// The modes is_visible asks for (nullopt: hidden; also when it threw, which
// the gate logged).
std::vector<std::optional<uint32_t>> visible_modes(Device& dev, const DriverGate& gate,
                                                   const dfs_attribute_group* group) {
    Evaluating guard;
    std::vector<std::optional<uint32_t>> modes;
    for (const dfs_attribute* const* a = group->attrs; *a; ++a) {
        std::optional<uint32_t> mode;
        if (attr_usable(*a)) mode = group->is_visible ? gate.is_visible(dev, group, *a) : (*a)->mode;
        modes.push_back(mode);
    }
    return modes;
}

}  // namespace

Status DeviceModel::update_group(Device& dev, const dfs_attribute_group* group) {
    if (evaluating > 0)
        return Error::of(EDEADLK, "update_group called from is_visible on " + dev.name() + " (it would recurse)");
    DriverPtr drv;
    {
        std::lock_guard lock(model_mu_);
        drv = dev.is_class_device() ? dev.owner : dev.driver;
    }
    if (!drv) return Error::of(ENODEV, "device " + dev.name() + " is not bound to a driver");
    // A callback of the driver already holds a pin; a plugin thread may not,
    // and the group's memory must stay mapped while we read it.
    Result<DriverGate> gate = DriverGate::enter(*drv);
    if (!gate) return Error::of(ENODEV, "driver " + drv->name() + " is being unloaded");
    const dfs_driver* ops = gate->ops();
    bool mine = false;
    if (dev.is_class_device())
        mine = std::find(dev.class_groups.begin(), dev.class_groups.end(), group) != dev.class_groups.end();
    else if (DFS_HAS_FIELD(ops, dfs_driver, groups) && ops->groups)
        for (const dfs_attribute_group* const* g = ops->groups; *g && !mine; ++g) mine = *g == group;
    if (!mine || !group_usable(group))
        return Error::of(ENODEV, "update_group on " + dev.name() + ": not a group of driver " + drv->name());
    {
        std::lock_guard lock(dev.groups_mu);
        if (dev.groups == Device::Groups::attaching) {
            // The bind is making the files now; it asks every group again
            // once it has finished (attach_driver_nodes).
            dev.regroup = true;
            return {};
        }
    }
    return sync_group(dev, drv, group, Device::Groups::live);
}

Status DeviceModel::sync_group(Device& dev, const DriverPtr& drv, const dfs_attribute_group* group, Device::Groups phase) {
    // Every caller holds a pin already (a bind, a class device's creation,
    // update_group); this one is the gate's own for the is_visible calls.
    Result<DriverGate> gate = DriverGate::enter(*drv);
    if (!gate) return Error::of(ENODEV, "driver " + drv->name() + " is being unloaded");
    uint64_t binding, ticket;
    {
        std::lock_guard lock(dev.groups_mu);
        if (dev.groups != phase) return Error::of(ENODEV, "device " + dev.name() + " is not bound or is being unbound");
        binding = dev.binding;
        ticket = ++dev.group_ticket[group];
    }
    std::vector<std::optional<uint32_t>> modes = visible_modes(dev, gate.value(), group);
    std::lock_guard lock(dev.groups_mu);
    if (dev.groups != phase || dev.binding != binding)
        return Error::of(ENODEV, "device " + dev.name() + " was unbound while its attribute group was updated");
    if (dev.group_ticket[group] != ticket) return {};  // a later update applies newer answers
    apply_group(dev, drv, group, modes);
    return {};
}

void DeviceModel::apply_group(Device& dev, const DriverPtr& drv, const dfs_attribute_group* group,
                              const std::vector<std::optional<uint32_t>>& modes) {
    // Only files of this binding are ours to remove or remake: a same-named
    // core file (uevent, power) is left alone and the new one fails EEXIST.
    std::vector<NodePtr> owned;
    {
        std::lock_guard lock(model_mu_);
        for (const std::weak_ptr<Node>& w : dev.driver_nodes)
            if (NodePtr n = w.lock(); n && !n->removed()) owned.push_back(std::move(n));
    }
    auto ours = [&](const Result<NodePtr>& found) -> NodePtr {
        if (!found || std::find(owned.begin(), owned.end(), found.value()) == owned.end()) return nullptr;
        return found.value();
    };
    auto not_created = [&](const std::string& what, const Error& e) {
        log(LogLevel::warning,
            "driver " + drv->name() + ": " + what + " of " + dev.name() + " not created: " + e.message);
    };
    NodePtr dir = group->name ? ours(tree_.lookup(dev.dir->ino, group->name, false)) : dev.dir;
    std::vector<NodePtr> added;
    size_t i = 0;
    for (const dfs_attribute* const* a = group->attrs; *a; ++a, ++i) {
        if (!attr_usable(*a)) continue;
        const std::optional<uint32_t>& want = modes[i];
        NodePtr cur = dir ? ours(tree_.lookup(dir->ino, (*a)->name, false)) : nullptr;
        if (cur && want && cur->mode() == (*want & 0777)) continue;  // already as asked
        // Hidden now, or its mode changed: a new node with the new mode, as
        // sysfs_update_group removes and re-adds; open fds of the old get ENODEV.
        if (cur) tree_.remove(cur);
        if (!want) continue;
        if (!dir) {
            // A named group's directory is made with its first visible file.
            Result<NodePtr> sub = tree_.add_dir(dev.dir, group->name);
            if (!sub) {
                not_created(std::string("group ") + group->name, sub.error());
                break;
            }
            dir = sub.value();
            added.push_back(dir);
        }
        // As at bind: it hides a recorded file of the same name (declared_device.cpp).
        if (dev.declared && dir == dev.dir) hide_recorded(dev, (*a)->name);
        Result<NodePtr> node = tree_.add_attr(dir, (*a)->name, *want & 0777,
                                              std::make_unique<DriverAttr>(drv, *a, dev.shared_from_this(), (*a)->name));
        if (node)
            added.push_back(node.value());
        else
            not_created(std::string("attribute ") + (*a)->name, node.error());
    }
    // ... and goes with its last one (the same rule as at bind: no empty
    // group directory). Linux keeps an empty one; nothing here creates one.
    if (group->name && dir) {
        Result<std::vector<DirEntry>> left = tree_.list(dir->ino);
        if (left && left.value().empty()) tree_.remove(dir);
    }
    std::lock_guard lock(model_mu_);
    std::vector<std::weak_ptr<Node>>& nodes = dev.driver_nodes;
    nodes.erase(std::remove_if(nodes.begin(), nodes.end(),
                               [](const std::weak_ptr<Node>& w) {
                                   NodePtr n = w.lock();
                                   return !n || n->removed();
                               }),
                nodes.end());
    nodes.insert(nodes.end(), added.begin(), added.end());
}

}  // namespace driverfs
