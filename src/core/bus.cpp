// Buses: membership and the indexes that make platform matching cheap.
#include "core/bus.hpp"

#include <algorithm>

namespace driverfs {

std::vector<std::string> Bus::keys_of(const Driver& drv) {
    if (drv.compatible().empty()) return {drv.name()};
    return drv.compatible();
}

void Bus::add_device(const DevicePtr& dev) {
    dev->bus_pos = devices.insert(devices.end(), dev);
    std::list<DevicePtr>& same_key = devices_by_key_[dev->match_key()];
    dev->key_pos = same_key.insert(same_key.end(), dev);
}

Driver::Driver(StubRef stub, Bus& bus, Plugin& plugin, std::vector<std::string> compatible)
    : stub_(std::move(stub)), name_(stub_->name()), bus_(bus.shared_from_this()), plugin_(plugin),
      compatible_(std::move(compatible)) {}

void Bus::remove_device(const DevicePtr& dev) {
    devices.erase(dev->bus_pos);
    if (auto it = devices_by_key_.find(dev->match_key()); it != devices_by_key_.end()) {
        it->second.erase(dev->key_pos);  // in it since add_device
        if (it->second.empty()) devices_by_key_.erase(it);
    }
    overridden_.erase(std::remove(overridden_.begin(), overridden_.end(), dev), overridden_.end());
}

void Bus::add_driver(const DriverPtr& drv) {
    drivers.push_back(drv);
    driver_seq_[drv.get()] = next_driver_seq_++;
    for (const std::string& key : keys_of(*drv)) drivers_by_key_.emplace(key, drv);
}

void Bus::remove_driver(const Driver& drv) {
    drivers.erase(std::remove_if(drivers.begin(), drivers.end(), [&](const DriverPtr& d) { return d.get() == &drv; }),
                  drivers.end());
    driver_seq_.erase(&drv);
    for (const std::string& key : keys_of(drv)) {
        auto [first, last] = drivers_by_key_.equal_range(key);
        for (auto it = first; it != last; ++it)
            if (it->second.get() == &drv) {
                drivers_by_key_.erase(it);
                break;
            }
    }
}

void Bus::forget_members() {
    devices.clear();
    drivers.clear();
    driver_seq_.clear();
    drivers_by_key_.clear();
    devices_by_key_.clear();
    overridden_.clear();
    members.clear();
}

void Bus::set_override(Device& dev, std::string name) {
    dev.driver_override = std::move(name);
    DevicePtr self = dev.shared_from_this();
    overridden_.erase(std::remove(overridden_.begin(), overridden_.end(), self), overridden_.end());
    if (!dev.driver_override.empty()) overridden_.push_back(self);
}

std::vector<DriverPtr> Bus::driver_candidates(const Device& dev) const {
    if (!core_match()) return drivers;
    std::vector<DriverPtr> out;
    if (!dev.driver_override.empty()) {
        for (const DriverPtr& d : drivers)
            if (d->name() == dev.driver_override) out.push_back(d);
        return out;
    }
    auto [first, last] = drivers_by_key_.equal_range(dev.match_key());
    for (auto it = first; it != last; ++it) out.push_back(it->second);
    std::sort(out.begin(), out.end(),
              [this](const DriverPtr& a, const DriverPtr& b) { return driver_seq_.at(a.get()) < driver_seq_.at(b.get()); });
    out.erase(std::unique(out.begin(), out.end()), out.end());  // a driver listing one key twice
    return out;
}

std::vector<DevicePtr> Bus::device_candidates(const Driver& drv) const {
    std::vector<DevicePtr> out;
    auto usable = [](const DevicePtr& d) { return !d->driver && d->static_driver.empty() && !d->dead; };
    if (!core_match()) {
        for (const DevicePtr& d : devices)
            if (usable(d)) out.push_back(d);
        return out;
    }
    for (const std::string& key : keys_of(drv)) {
        auto same_key = devices_by_key_.find(key);
        if (same_key == devices_by_key_.end()) continue;
        for (const DevicePtr& d : same_key->second)
            if (usable(d) && d->driver_override.empty()) out.push_back(d);
    }
    for (const DevicePtr& d : overridden_)
        if (usable(d) && d->driver_override == drv.name()) out.push_back(d);
    return out;
}

}  // namespace driverfs
