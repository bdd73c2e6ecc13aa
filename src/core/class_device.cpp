// Class devices: what a bound driver makes below its device, their class, and their end.
// Linux's device_create: leds/led0, hwmon/hwmon0.
//
// Lifetime. A class device belongs to one binding of its parent: it can be
// made only while the parent is in probe() of its owner or bound to it, and
// it is gone when the parent is unbound (remove() may destroy it earlier;
// the host destroys what is left). Its attribute files pin `owner`'s stub
// like every driver attribute, so unload drains them with the driver's. A
// class device of no device (devices/virtual/...) belongs to its owner
// driver instead: creating one pins that driver, so it either finishes
// before an unload's drain ends or fails its pin; exit() may destroy it,
// and the unloader retires what is left after exit() returns.
//
// Why no file of a class device escapes the drain of an unbind:
// unbind_locked first moves the parent's groups to `detaching` and then,
// under each class device's groups_mu, the class device's own groups; it
// collects the nodes after that. Creation registers a class device in
// parent.class_devices under parent.groups_mu while the parent is not
// detaching (so an unbind that starts later sees it), and every file that
// calls the driver is made by sync_group/apply_group, which re-check the
// class device's own phase under its groups_mu: after `detaching` they add
// nothing. The standard files (uevent, power, dev) run daemon code only.
#include <algorithm>
#include <cstdio>

#include "abi.hpp"
#include "core_attr.hpp"
#include "driver_attr.hpp"
#include "core/call_tracker.hpp"
#include "core/device_model.hpp"
#include "core/log.hpp"
#include "core/validate.hpp"
#include "plugin_gate.hpp"

namespace driverfs {
namespace {

// "hwmon%d" -> the lowest "hwmonN" not in `taken`; a name without "%d" as is.
std::string expand_name(const std::string& tmpl, const std::map<std::string, std::weak_ptr<Device>>& taken) {
    size_t at = tmpl.find("%d");
    if (at == std::string::npos) return tmpl;
    for (unsigned n = 0;; ++n) {
        std::string name = tmpl.substr(0, at) + std::to_string(n) + tmpl.substr(at + 2);
        auto it = taken.find(name);
        if (it == taken.end() || it->second.expired()) return name;
    }
}

// devices/.../<parent>/<class>/ goes with its last class device.
void remove_if_empty(NodeTree& tree, const NodePtr& dir) {
    Result<std::vector<DirEntry>> left = tree.list(dir->ino);
    if (left && left.value().empty()) tree.remove(dir);
}

}  // namespace

bool Device::is_class_device() const { return bus_->is_class; }

DriverPtr DeviceModel::driver_of(const Device& dev) const {
    std::lock_guard lock(model_mu_);
    if (dev.owner) return dev.owner;
    return dev.driver ? dev.driver : dev.probing;
}

Result<Bus*> DeviceModel::class_locked(const std::string& name) {
    if (auto it = classes_.find(name); it != classes_.end()) return it->second.get();
    if (!valid_object_name(name) || name.find(':') != std::string::npos)
        return Error::of(EINVAL, "'" + name + "' is not a class name (1-64 of A-Z a-z 0-9 _ . -)");
    Result<NodePtr> dir = tree_.ensure_dir(class_dir_, name);
    if (!dir) return dir.error();
    auto cls = std::make_shared<Bus>(name, nullptr);
    cls->is_class = true;
    cls->dir = dir.value();
    Bus* raw = cls.get();
    classes_.emplace(name, std::move(cls));
    return raw;
}

Result<DevicePtr> DeviceModel::create_class_device(Plugin& plugin, Device* parent, const dfs_class_device* info,
                                                   void* drvdata) {
    if (!info || !DFS_HAS_FIELD(info, dfs_class_device, owner) || !info->class_name || !info->name)
        return Error::of(EINVAL, "class_device_create: a NULL or truncated dfs_class_device");
    DriverPtr owner;
    if (parent) {
        owner = driver_of(*parent);
        if (!owner || parent->is_class_device() || &owner->plugin() != &plugin)
            return Error::of(ENODEV, "class_device_create: device " + parent->name() + " is not bound to a driver of " +
                                         plugin.name());
    } else {
        if (!info->owner) return Error::of(EINVAL, "class_device_create: no parent and no owner driver");
        std::lock_guard lock(model_mu_);
        // By address, never dereferenced: only a live registration matches.
        for (const DriverPtr& d : plugin.drivers)
            if (d->stub().driver() == info->owner) owner = d;
        if (!owner)
            return Error::of(ENODEV, "class_device_create: the owner is not a registered driver of " + plugin.name());
    }
    // From a plugin thread nothing pins the driver yet, and `info` is its memory.
    Result<DriverGate> gate = DriverGate::enter(*owner);
    if (!gate) return Error::of(ENODEV, "driver " + owner->name() + " is being unloaded");
    std::vector<const dfs_attribute_group*> groups;
    for (const dfs_attribute_group* const* g = info->groups; g && *g; ++g)
        if (group_usable(*g)) groups.push_back(*g);
    std::map<std::string, std::string> props;
    for (const char* const* p = info->props; p && *p; ++p) {
        std::string_view kv = *p;
        size_t eq = kv.find('=');
        if (eq == 0 || eq == std::string_view::npos)
            return Error::of(EINVAL, "class_device_create: property '" + std::string(kv) + "' is not KEY=VALUE");
        if (Status s = check_property(kv.substr(0, eq), kv.substr(eq + 1)); !s) return s.error();
        props.emplace(kv.substr(0, eq), kv.substr(eq + 1));
    }
    return make_class_device(parent, owner, info->class_name, info->name, info->major, info->minor,
                             (info->flags & DFS_CLASS_DEVICE_BLOCK) != 0, std::move(groups), std::move(props),
                             drvdata);
}

Result<DevicePtr> DeviceModel::make_class_device(Device* parent, const DriverPtr& owner, const std::string& cls_name,
                                                 const std::string& name_template, uint32_t major, uint32_t minor,
                                                 bool block, std::vector<const dfs_attribute_group*> groups,
                                                 std::map<std::string, std::string> props, void* drvdata) {
    const size_t pct = name_template.find("%d");
    const std::string probe_name = pct == std::string::npos ? name_template
                                                             : name_template.substr(0, pct) + "0" + name_template.substr(pct + 2);
    if (!valid_object_name(probe_name) ||
        (pct != std::string::npos && name_template.find('%', pct + 2) != std::string::npos) ||
        (pct == std::string::npos && name_template.find('%') != std::string::npos))
        return Error::of(EINVAL, "'" + name_template + "' is not a class device name (A-Z a-z 0-9 _ . : - and one %d)");
    DevicePtr cdev;
    {
        // A parent's groups_mu orders this against its unbind (see the top).
        std::unique_lock<std::mutex> groups_lock;
        if (parent) groups_lock = std::unique_lock(parent->groups_mu);
        std::lock_guard lock(model_mu_);
        NodePtr where;  // the directory the class's directory goes in
        if (parent) {
            const bool in_probe = parent->probing == owner;
            const bool bound = parent->driver == owner && (parent->groups == Device::Groups::attaching ||
                                                           parent->groups == Device::Groups::live);
            if (parent->dead || (!in_probe && !bound))
                return Error::of(ENODEV, "device " + parent->name() + " is not bound to " + owner->name() +
                                             " or is being unbound");
            // devices/.../<parent>/<class>/ is ours only if it holds class
            // devices: a file or group of the same name (power, a named
            // group) is refused, not reused.
            const bool holding = std::any_of(parent->class_devices.begin(), parent->class_devices.end(),
                                             [&](const DevicePtr& c) { return c->bus().name() == cls_name; });
            if (!holding && tree_.lookup(parent->dir->ino, cls_name, false))
                return Error::of(EEXIST, "device " + parent->name() + " already has an entry named " + cls_name);
            where = parent->dir;
        } else {
            // devices/virtual/<class>/, as Linux's virtual_device_parent().
            Result<NodePtr> virt = tree_.ensure_dir(devices_dir_, "virtual");
            if (!virt) return virt.error();
            where = virt.value();
        }
        Result<Bus*> cls = class_locked(cls_name);
        if (!cls) return cls.error();
        Bus& klass = *cls.value();
        const std::string name = expand_name(name_template, klass.members);
        if (auto it = klass.members.find(name); it != klass.members.end() && !it->second.expired())
            return Error::of(EEXIST, "class " + cls_name + " already has a device named " + name);
        Result<NodePtr> holder = tree_.ensure_dir(where, cls_name);
        if (!holder) return holder.error();
        Result<NodePtr> dir = tree_.add_dir(holder.value(), name);
        if (!dir) {
            remove_if_empty(tree_, holder.value());
            return dir.error();
        }
        cdev = std::make_shared<Device>(name, klass, std::move(props));
        cdev->dir = dir.value();
        cdev->path = tree_.path_of(*cdev->dir);
        if (parent) cdev->parent = parent->shared_from_this();
        cdev->owner = owner;
        cdev->class_groups = std::move(groups);
        cdev->major = major;
        cdev->minor = minor;
        cdev->block = block;
        cdev->tree = &tree_;
        cdev->model = this;
        cdev->drvdata.store(drvdata, std::memory_order_release);
        cdev->groups = Device::Groups::attaching;
        cdev->binding = 1;
        if (Status s = add_class_device_files(cdev); !s) {
            tree_.remove(cdev->dir);
            remove_if_empty(tree_, holder.value());
            return Error::of(s.error().code, "class device " + name + ": " + s.error().message);
        }
        klass.members[name] = cdev;
        (parent ? parent->class_devices : owner->class_devices).push_back(cdev);
    }
    // Its groups, as at bind: is_visible is asked with no lock held (the
    // caller pins owner), then the files are made under its groups_mu.
    for (const dfs_attribute_group* g : cdev->class_groups) sync_group(*cdev, owner, g, Device::Groups::attaching);
    bool regroup = false;
    {
        std::lock_guard groups_lock(cdev->groups_mu);
        if (cdev->groups == Device::Groups::attaching) {
            cdev->groups = Device::Groups::live;
            regroup = std::exchange(cdev->regroup, false);
        }
    }
    if (regroup)
        for (const dfs_attribute_group* g : cdev->class_groups) sync_group(*cdev, owner, g, Device::Groups::live);
    if (log_enabled(LogLevel::info))
        log(LogLevel::info, "class device " + cls_name + "/" + cdev->name() + " added" +
                                (parent ? " below " + parent->name() : std::string(" (virtual)")));
    emit("add", *cdev);
    return cdev;
}

Status DeviceModel::add_class_device_files(const DevicePtr& cdev) {
    if (Status s = add_device_files(cdev); !s) return s;
    const std::string& path = cdev->path;
    const std::string cls_path = "class/" + cdev->bus().name();
    tree_.add_symlink(cdev->dir, "subsystem", relative_link(path, cls_path));
    if (cdev->parent) tree_.add_symlink(cdev->dir, "device", relative_link(path, cdev->parent->path));
    Result<NodePtr> link = tree_.add_symlink(cdev->bus().dir, cdev->name(), relative_link(cls_path, path));
    if (!link) return link.error();
    cdev->class_link = link.value();
    if (cdev->major != 0) {
        const std::string devt = std::to_string(cdev->major) + ":" + std::to_string(cdev->minor);
        tree_.add_attr(cdev->dir, "dev", 0444,
                       std::make_unique<CoreAttr>([devt]() -> Result<std::string> { return devt + "\n"; }, nullptr));
        const NodePtr& where = cdev->block ? dev_block_dir_ : dev_char_dir_;
        Result<NodePtr> dl = tree_.add_symlink(where, devt, relative_link(cdev->block ? "dev/block" : "dev/char", path));
        if (!dl) {
            tree_.remove(cdev->class_link);
            return Error::of(dl.error().code, "device number " + devt + " is taken");
        }
        cdev->dev_link = dl.value();
    }
    return {};
}

bool DeviceModel::retire_class_device(const DevicePtr& cdev) {
    NodePtr holder;
    {
        // From now on no sync_group adds a file to it: they check the phase
        // under groups_mu (a refused probe retires a class device still live).
        std::lock_guard groups_lock(cdev->groups_mu);
        std::lock_guard lock(model_mu_);
        if (cdev->dead) return false;
        cdev->dead = true;
        cdev->groups = Device::Groups::detaching;
        Bus& klass = cdev->bus();
        if (auto it = klass.members.find(cdev->name()); it != klass.members.end() && it->second.lock() == cdev)
            klass.members.erase(it);
        auto& siblings = cdev->parent ? cdev->parent->class_devices : cdev->owner->class_devices;
        siblings.erase(std::remove(siblings.begin(), siblings.end(), cdev), siblings.end());
        holder = cdev->dir->parent();
    }
    emit("remove", *cdev);
    if (cdev->dev_link) tree_.remove(cdev->dev_link);
    if (cdev->class_link) tree_.remove(cdev->class_link);
    tree_.remove(cdev->dir);
    // Its attribute nodes hold it (a DriverAttr keeps its device) and stay
    // linked in its removed directory, which it owns: unlink them, or the
    // three keep each other, and `owner` with its stub record, alive for good.
    std::vector<std::weak_ptr<Node>> files;
    {
        std::lock_guard lock(model_mu_);
        files.swap(cdev->driver_nodes);
    }
    for (const std::weak_ptr<Node>& w : files)
        if (NodePtr n = w.lock()) tree_.remove(n);
    if (holder) remove_if_empty(tree_, holder);
    if (log_enabled(LogLevel::info)) log(LogLevel::info, "class device " + cdev->bus().name() + "/" + cdev->name() + " removed");
    return true;
}

void DeviceModel::retire_virtual_class_devices(Driver& drv) {
    std::vector<DevicePtr> cdevs;
    {
        std::lock_guard lock(model_mu_);
        cdevs = drv.class_devices;
    }
    for (auto it = cdevs.rbegin(); it != cdevs.rend(); ++it) retire_class_device(*it);
}

Status DeviceModel::destroy_class_device(Device& cdev) {
    if (!cdev.is_class_device()) return Error::of(EINVAL, "class_device_destroy: " + cdev.name() + " is not a class device");
    DevicePtr self = cdev.shared_from_this();
    Device::Groups was;
    {
        std::lock_guard groups_lock(cdev.groups_mu);
        std::lock_guard lock(model_mu_);
        if (cdev.dead) return Error::of(ENODEV, "class device " + cdev.name() + " is already gone");
        was = std::exchange(cdev.groups, Device::Groups::detaching);
    }
    std::vector<NodePtr> nodes;
    {
        std::lock_guard lock(model_mu_);
        for (const std::weak_ptr<Node>& w : cdev.driver_nodes)
            if (NodePtr n = w.lock()) nodes.push_back(std::move(n));
    }
    // As Linux's device_unregister drains its sysfs files. Not from inside a
    // callback: the call to wait for may be the caller itself; removal then
    // only stops new calls, and the ones running finish on their own.
    if (!CallScope::inside_callback()) {
        const auto deadline = std::chrono::steady_clock::now() + unload_timeout_;
        std::vector<NodePtr> stopped;
        for (const NodePtr& n : nodes) {
            if (!tree_.deactivate(n, deadline)) {
                for (const NodePtr& s : stopped) s->active().reactivate();
                std::lock_guard groups_lock(cdev.groups_mu);
                cdev.groups = was;
                return Error::of(EBUSY, "attribute " + n->name + " of class device " + cdev.name() +
                                            " is still in a call");
            }
            stopped.push_back(n);
        }
    }
    if (!retire_class_device(self)) return Error::of(ENODEV, "class device " + cdev.name() + " is already gone");
    return {};
}

void DeviceModel::make_legacy_class_device(Device& dev, const DriverPtr& drv, const std::string& cls) {
    Result<DevicePtr> made = make_class_device(&dev, drv, cls, dev.name(), 0, 0, false, {}, {}, nullptr);
    if (!made) {
        log(LogLevel::warning, "driver " + drv->name() + ": class device " + cls + "/" + dev.name() +
                                   " not created: " + made.error().message);
        return;
    }
    // Its driver predates class devices: the same attributes, calling the
    // driver with the bound device, as its callbacks expect.
    const DevicePtr& cdev = made.value();
    std::vector<NodePtr> nodes = add_driver_attrs(dev, cdev->dir, drv);
    std::lock_guard lock(model_mu_);
    cdev->driver_nodes.insert(cdev->driver_nodes.end(), nodes.begin(), nodes.end());
}

}  // namespace driverfs
