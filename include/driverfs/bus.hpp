// Buses: where devices and drivers meet, and the rule that matches them.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "driverfs/device.hpp"
#include "driverfs/driver.hpp"

namespace driverfs {

class Plugin;

class Bus {
public:
    using MatchFn = std::function<bool(const Device&, const Driver&)>;

    Bus(std::string name, MatchFn match) : name_(std::move(name)), match_(std::move(match)) {}

    const std::string& name() const { return name_; }
    // driver_override wins over the bus rule, as in Linux.
    bool matches(const Device& dev, const std::string& override_name, const Driver& drv) const {
        if (!override_name.empty()) return override_name == drv.name();
        return match_(dev, drv);
    }

    // Under Core::model_mu_.
    std::vector<DevicePtr> devices;
    std::vector<DriverPtr> drivers;
    NodePtr dir, devices_dir, drivers_dir;

    std::atomic<bool> autoprobe{true};
    Plugin* owner = nullptr;  // the plugin that registered it; null for platform

private:
    const std::string name_;
    MatchFn match_;
};

// The platform rule: a `compatible` property, else the device name without its
// trailing instance number ("led0", "led.1" -> "led"), against the driver's
// compatible list (or its name).
bool platform_match(const Device& dev, const Driver& drv);
std::string strip_instance_number(const std::string& name);

}  // namespace driverfs
