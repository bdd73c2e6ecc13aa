// Code-less drivers of declarative devices (bus/X/drivers/Y with bind/unbind) and the recorded files a driver hides.
// Locking: DeviceModel::model_mu_, as declared.hpp says.
#include <functional>

#include "core_attr.hpp"
#include "declared.hpp"
#include "core/device_model.hpp"
#include "core/log.hpp"

namespace driverfs {

Result<NodePtr> DeviceModel::static_driver_dir_locked(const std::string& bus_name, const std::string& driver) {
    const std::string key = bus_name + "/" + driver;
    if (auto it = static_drivers_.find(key); it != static_drivers_.end() && !it->second->removed()) return it->second;
    auto bus_it = buses_.find(bus_name);
    if (bus_it == buses_.end()) return Error::of(ENOENT, "no bus named " + bus_name);
    Result<NodePtr> dir = tree_.add_dir(bus_it->second->drivers_dir, driver);
    if (!dir) return Error::of(dir.error().code, "bus " + bus_name + " already has a driver named " + driver);
    // bind/unbind as Linux's: write a device name. A code-less driver takes
    // any declarative device of its bus that no driver has.
    tree_.add_attr(dir.value(), "bind", 0200,
                   std::make_unique<CoreAttr>(nullptr, [this, bus_name, driver](std::string_view data) {
                       return logged(static_bind(bus_name, driver, std::string(chomp(data))), "bind");
                   }));
    tree_.add_attr(dir.value(), "unbind", 0200,
                   std::make_unique<CoreAttr>(nullptr, [this, bus_name, driver](std::string_view data) {
                       return logged(static_unbind(bus_name, driver, std::string(chomp(data))), "unbind");
                   }));
    static_drivers_[key] = dir.value();
    return dir.value();
}

Status DeviceModel::static_bind_locked(DeclaredEntry& entry, const std::string& driver) {
    Device& dev = *entry.dev;
    Result<NodePtr> dir = static_driver_dir_locked(dev.bus().name(), driver);
    if (!dir) return dir.error();
    const std::string drv_path = "bus/" + dev.bus().name() + "/drivers/" + driver;
    Result<NodePtr> link = tree_.add_symlink(dev.dir, "driver", relative_link(dev.path, drv_path));
    if (!link) return Error::of(link.error().code, "driver: " + link.error().message);
    Result<NodePtr> back = tree_.add_symlink(dir.value(), dev.name(), relative_link(drv_path, dev.path));
    if (!back) {
        tree_.remove(link.value());
        return Error::of(back.error().code, "driver: " + back.error().message);
    }
    entry.static_driver = driver;
    dev.static_driver = driver;
    entry.driver_link = link.value();
    entry.driver_back_link = back.value();
    return {};
}

void DeviceModel::static_unbind_locked(DeclaredEntry& entry) {
    if (entry.driver_link) tree_.remove(entry.driver_link);
    if (entry.driver_back_link) tree_.remove(entry.driver_back_link);
    entry.driver_link = entry.driver_back_link = nullptr;
    entry.static_driver.clear();
    if (entry.dev) entry.dev->static_driver.clear();
}

Result<DevicePtr> DeviceModel::change_declared(const std::string& bus_name, const std::string& device, const char* action,
                                               const std::function<Status(Device&)>& change) {
    std::shared_ptr<Bus> bus = find_bus(bus_name);
    DevicePtr dev = bus ? find_device(*bus, device) : nullptr;
    if (!dev || !dev->declared)
        return Error::of(ENODEV, "no declarative device '" + device + "' on bus " + bus_name);
    {
        std::lock_guard dev_lock(dev->lock);
        std::lock_guard lock(model_mu_);
        if (Status s = change(*dev); !s) return s.error();
    }
    emit(action, *dev);
    return dev;
}

Status DeviceModel::static_bind(const std::string& bus_name, const std::string& driver, const std::string& device) {
    Result<DevicePtr> dev = change_declared(bus_name, device, "bind", [&](Device& d) -> Status {
        if (d.dead || d.declared->removing) return Error::of(ENODEV, "device " + device + " is being removed");
        if (d.driver || !d.static_driver.empty())
            return Error::of(EBUSY, "device " + device + " is already bound to " +
                                        (d.driver ? d.driver->name() : d.static_driver));
        return static_bind_locked(*d.declared, driver);
    });
    if (!dev) return dev.error();
    return {};
}

Status DeviceModel::static_unbind(const std::string& bus_name, const std::string& driver, const std::string& device) {
    Result<DevicePtr> dev = change_declared(bus_name, device, "unbind", [&](Device& d) -> Status {
        if (d.static_driver != driver) return Error::of(ENODEV, "device " + device + " is not bound to " + driver);
        static_unbind_locked(*d.declared);
        return {};
    });
    if (!dev) return dev.error();
    // Free again: a plugin driver of the bus may take it now.
    if (dev.value()->bus().autoprobe) match_device(dev.value());
    return {};
}

void DeviceModel::retire_static_driver(const std::string& bus_name, const std::string& driver) {
    std::vector<DevicePtr> bound;
    NodePtr dir;
    {
        std::lock_guard lock(model_mu_);
        auto it = static_drivers_.find(bus_name + "/" + driver);
        if (it == static_drivers_.end()) return;
        dir = it->second;
        static_drivers_.erase(it);
        for (const auto& [path, e] : declared_)
            if (e->dev && e->static_driver == driver && e->dev->bus().name() == bus_name) bound.push_back(e->dev);
    }
    for (const DevicePtr& dev : bound) {
        {
            std::lock_guard dev_lock(dev->lock);
            std::lock_guard lock(model_mu_);
            if (dev->static_driver != driver) continue;
            static_unbind_locked(*dev->declared);
        }
        emit("unbind", *dev);
    }
    tree_.remove(dir);
    if (log_enabled(LogLevel::info))
        log(LogLevel::info, "code-less driver " + bus_name + "/" + driver + " gives way to the plugin driver of that name");
}

bool DeviceModel::hide_recorded(Device& dev, const std::string& name) {
    std::lock_guard lock(model_mu_);
    DeclaredEntry& e = *dev.declared;
    if (!e.recorded.count(name) || e.hidden.count(name)) return false;
    Result<NodePtr> n = tree_.lookup(e.dir->ino, name, false);
    if (!n) return false;
    tree_.remove(n.value());
    e.hidden.insert(name);
    return true;
}

void DeviceModel::restore_recorded(Device& dev) {
    std::lock_guard lock(model_mu_);
    DeclaredEntry& e = *dev.declared;
    for (const std::string& name : e.hidden) {
        const DeclaredEntry::Recorded& r = e.recorded.at(name);
        if (Result<NodePtr> n = add_declared_attr(tree_, e.dir, name, r.mode, r.value, r.binary); !n)
            log(LogLevel::warning, "declarative device " + e.spec.path + ": recorded " + name +
                                       " not shown again: " + n.error().message);
    }
    e.hidden.clear();
}

}  // namespace driverfs
