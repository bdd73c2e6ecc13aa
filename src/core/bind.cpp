// Binding a device to a driver: probe and attach its files, unbind and remove, bind/unbind requests.
#include <utility>

#include "abi.hpp"
#include "core_attr.hpp"
#include "driver_attr.hpp"
#include "core/device_model.hpp"
#include "core/log.hpp"
#include "plugin_gate.hpp"

namespace driverfs {

Status DeviceModel::probe_locked(Device& dev, const DriverPtr& drv) {
    Result<DriverGate> gate = DriverGate::enter(*drv);
    if (!gate) return Error::of(ENODEV, "driver " + drv->name() + " is being unloaded");
    const dfs_driver* ops = gate->ops();
    if (DFS_HAS_FIELD(ops, dfs_driver, probe) && ops->probe) {
        {
            std::lock_guard lock(model_mu_);
            dev.probing = drv;
        }
        Returned rc = gate->probe(dev);
        std::vector<DevicePtr> made;
        {
            std::lock_guard lock(model_mu_);
            dev.probing = nullptr;
            if (!rc) made = dev.class_devices;
        }
        // A refused probe leaves nothing behind, whatever it created.
        for (auto it = made.rbegin(); it != made.rend(); ++it) retire_class_device(*it);
        if (rc.err == kEprobeDefer) {
            // Linux's deferred probe: retried whenever another driver binds.
            std::lock_guard lock(model_mu_);
            deferred_.push_back(dev.weak_from_this());
            return Error::of(EAGAIN, "driver " + drv->name() + " deferred probing " + dev.name() +
                                         "; it is retried whenever another device binds");
        }
        if (!rc)
            return Error::of(rc.err, "driver " + drv->name() + " refused " + dev.name() + " (probe returned " +
                                         std::to_string(rc.raw) + ")");
    }
    {
        std::lock_guard groups(dev.groups_mu);
        std::lock_guard lock(model_mu_);
        dev.driver = drv;
        dev.bound_pos = drv->bound.insert(drv->bound.end(), dev.shared_from_this());
        dev.groups = Device::Groups::attaching;
        dev.regroup = false;
        ++dev.binding;
    }
    // Still pinned: an unload that starts now drains this call, then finds
    // the device bound and unbinds it.
    attach_driver_nodes(dev, drv);
    if (log_enabled(LogLevel::info)) log(LogLevel::info, "device " + dev.name() + " bound to " + drv->name());
    emit("bind", dev);
    bound_since_retry_.store(true, std::memory_order_release);
    return {};
}

std::vector<NodePtr> DeviceModel::add_driver_attrs(Device& dev, const NodePtr& dir, const DriverPtr& drv) {
    const dfs_driver* ops = drv->stub().driver();  // the caller pins drv
    std::vector<NodePtr> nodes;
    auto add = [&](const std::string& name, uint32_t mode, std::unique_ptr<AttrOps> attr) {
        // A driver's file hides a recorded attribute of the same name of a
        // declarative device while bound (declared_device.cpp).
        if (dev.declared && dir == dev.dir) hide_recorded(dev, name);
        Result<NodePtr> node = tree_.add_attr(dir, name, mode & 0777, std::move(attr));
        if (!node) {
            log(LogLevel::warning, "driver " + drv->name() + ": attribute " + name + " of " + dev.name() +
                                       " not created: " + node.error().message);
            return;
        }
        nodes.push_back(node.value());
    };
    if (DFS_HAS_FIELD(ops, dfs_driver, dev_attrs) && ops->dev_attrs) {
        for (const dfs_attribute* const* a = ops->dev_attrs; *a; ++a)
            if (attr_usable(*a))
                add((*a)->name, (*a)->mode, std::make_unique<DriverAttr>(drv, *a, dev.shared_from_this(), (*a)->name));
    }
    if (DFS_HAS_FIELD(ops, dfs_driver, bin_attrs) && ops->bin_attrs) {
        for (const dfs_bin_attribute* const* b = ops->bin_attrs; *b; ++b) {
            const dfs_bin_attribute* bin = *b;
            if (bin->size < offsetof(dfs_bin_attribute, write) + sizeof bin->write || !bin->name) continue;
            add(bin->name, bin->mode,
                std::make_unique<DriverBinAttr>(drv, bin, bin->length, dev.shared_from_this(), bin->name));
        }
    }
    return nodes;
}

void DeviceModel::attach_driver_nodes(Device& dev, const DriverPtr& drv) {
    // Runs with the driver pinned (from probe_locked): its structs are mapped.
    const dfs_driver* ops = drv->stub().driver();
    std::vector<NodePtr> nodes = add_driver_attrs(dev, dev.dir, drv);
    const bool has_groups = DFS_HAS_FIELD(ops, dfs_driver, groups) && ops->groups;
    if (has_groups)  // the same path as update_group, asking is_visible (attr_group.cpp)
        for (const dfs_attribute_group* const* g = ops->groups; *g; ++g)
            if (group_usable(*g)) sync_group(dev, drv, *g, Device::Groups::attaching);
    const std::string& dev_path = dev.path;
    const std::string drv_path = "bus/" + drv->bus().name() + "/drivers/" + drv->name();
    if (auto l = tree_.add_symlink(dev.dir, "driver", relative_link(dev_path, drv_path))) nodes.push_back(l.value());
    if (auto l = tree_.add_symlink(drv->dir, dev.name(), relative_link(drv_path, dev_path)))
        nodes.push_back(l.value());
    if (DFS_HAS_FIELD(ops, dfs_driver, class_name) && ops->class_name)
        make_legacy_class_device(dev, drv, ops->class_name);
    bool regroup = false;
    {
        std::lock_guard groups(dev.groups_mu);
        {
            std::lock_guard lock(model_mu_);
            dev.driver_nodes.insert(dev.driver_nodes.end(), nodes.begin(), nodes.end());
        }
        // From here update_group changes the files itself. (Not if a stuck
        // unload abandoned the binding meanwhile: it is none then.)
        if (dev.groups == Device::Groups::attaching) {
            dev.groups = Device::Groups::live;
            regroup = std::exchange(dev.regroup, false);
        }
    }
    // An update_group that came while the files were being made may have
    // followed a change is_visible had already been asked about: ask again.
    if (regroup && has_groups)
        for (const dfs_attribute_group* const* g = ops->groups; *g; ++g)
            if (group_usable(*g)) sync_group(dev, drv, *g, Device::Groups::live);
}

Status DeviceModel::unbind_locked(Device& dev, std::chrono::steady_clock::time_point deadline, bool driver_drained) {
    DriverPtr drv;
    {
        std::lock_guard lock(model_mu_);
        drv = dev.driver;
    }
    if (!drv) return {};
    Result<DriverGate> gate = driver_drained ? Result<DriverGate>(DriverGate::drained(*drv)) : DriverGate::enter(*drv);
    // The driver is going: its unloader owns it now and unbinds this device
    // itself once the drain is over.
    if (!gate) return Error::of(ENODEV, "driver " + drv->name() + " is being unloaded");
    // update_group stops changing the files before they are collected, so
    // none it would add escapes the drain below. It never waits for this
    // (it answers ENODEV now), so a store that calls it while we drain that
    // very store returns and the drain ends.
    Device::Groups was;
    {
        std::lock_guard groups(dev.groups_mu);
        was = std::exchange(dev.groups, Device::Groups::detaching);
    }
    // The class devices it made stop changing their files too (see
    // class_device.cpp): none can be added now that dev is detaching.
    std::vector<DevicePtr> cdevs;
    {
        std::lock_guard lock(model_mu_);
        cdevs = dev.class_devices;
    }
    std::vector<Device::Groups> cdevs_were;
    for (const DevicePtr& c : cdevs) {
        std::lock_guard groups(c->groups_mu);
        cdevs_were.push_back(std::exchange(c->groups, Device::Groups::detaching));
    }
    std::vector<NodePtr> nodes;
    {
        std::lock_guard lock(model_mu_);
        for (const std::weak_ptr<Node>& w : dev.driver_nodes)
            if (NodePtr n = w.lock()) nodes.push_back(std::move(n));
        for (const DevicePtr& c : cdevs)
            for (const std::weak_ptr<Node>& w : c->driver_nodes)
                if (NodePtr n = w.lock()) nodes.push_back(std::move(n));
    }
    // No show/store of this device or its class devices may run while
    // remove() tears it down.
    std::vector<NodePtr> stopped;
    for (const NodePtr& n : nodes) {
        if (!tree_.deactivate(n, deadline)) {
            for (const NodePtr& s : stopped) s->active().reactivate();
            for (size_t i = 0; i < cdevs.size(); ++i) {
                std::lock_guard groups(cdevs[i]->groups_mu);
                if (cdevs[i]->groups == Device::Groups::detaching) cdevs[i]->groups = cdevs_were[i];
            }
            std::lock_guard groups(dev.groups_mu);
            dev.groups = was;
            return Error::of(EBUSY, "attribute " + n->name + " of " + dev.name() + " is still in a call of driver " +
                                        drv->name());
        }
        stopped.push_back(n);
    }
    gate->remove(dev);
    detach_binding(dev);
    if (log_enabled(LogLevel::info)) log(LogLevel::info, "device " + dev.name() + " unbound from " + drv->name());
    emit("unbind", dev);
    return {};
}

void DeviceModel::detach_binding(Device& dev) {
    // What remove() left of the class devices goes first, newest first, as
    // Linux's devres would release it (their remove events before unbind).
    std::vector<DevicePtr> cdevs;
    {
        std::lock_guard lock(model_mu_);
        cdevs = dev.class_devices;
    }
    for (auto it = cdevs.rbegin(); it != cdevs.rend(); ++it) retire_class_device(*it);
    DriverPtr drv;
    std::vector<std::weak_ptr<Node>> nodes;
    {
        std::lock_guard groups(dev.groups_mu);
        dev.groups = Device::Groups::none;
        dev.regroup = false;
        dev.group_ticket.clear();
        std::lock_guard lock(model_mu_);
        drv = std::move(dev.driver);  // leaves dev.driver null
        nodes.swap(dev.driver_nodes);
        dev.drvdata = nullptr;
        if (drv) drv->bound.erase(dev.bound_pos);  // in it since dev.driver was set
    }
    for (const std::weak_ptr<Node>& w : nodes)
        if (NodePtr n = w.lock()) tree_.remove(n);
    if (dev.declared) restore_recorded(dev);
}

Status DeviceModel::bind(const std::string& bus_name, const std::string& driver, const std::string& device) {
    std::shared_ptr<Bus> bus = find_bus(bus_name);
    if (!bus) return Error::of(ENOENT, "no bus named " + bus_name);
    DevicePtr dev = find_device(*bus, device);
    if (!dev) return Error::of(ENODEV, "no device '" + device + "' on bus " + bus_name);
    DriverPtr drv;
    {
        std::lock_guard lock(model_mu_);
        for (const DriverPtr& d : bus->drivers)
            if (d->name() == driver) drv = d;
    }
    if (!drv) return Error::of(ENODEV, "no driver '" + driver + "' on bus " + bus_name);
    std::unique_lock dev_lock(dev->lock);
    if (dev->dead) return Error::of(ENODEV, "device " + device + " is being removed");
    if (dev->driver) return Error::of(EBUSY, "device " + device + " is already bound to " + dev->driver->name());
    if (!dev->static_driver.empty())
        return Error::of(EBUSY, "device " + device + " is bound to the code-less driver " + dev->static_driver +
                                    "; write its name to bus/" + bus_name + "/drivers/" + dev->static_driver + "/unbind first");
    if (!bus->matches(*dev, dev->driver_override, *drv))
        return Error::of(ENODEV, "driver " + driver + " does not match device " + device);
    Status s = probe_locked(*dev, drv);
    dev_lock.unlock();
    retry_deferred();
    return s;
}

Status DeviceModel::unbind(const std::string& bus_name, const std::string& driver, const std::string& device) {
    std::shared_ptr<Bus> bus = find_bus(bus_name);
    if (!bus) return Error::of(ENOENT, "no bus named " + bus_name);
    DevicePtr dev = find_device(*bus, device);
    if (!dev) return Error::of(ENODEV, "no device '" + device + "' on bus " + bus_name);
    std::lock_guard dev_lock(dev->lock);
    if (!dev->driver || dev->driver->name() != driver)
        return Error::of(ENODEV, "device " + device + " is not bound to " + driver);
    return unbind_locked(*dev, std::chrono::steady_clock::now() + unload_timeout_, false);
}

}  // namespace driverfs
