// Buses: where devices and drivers meet, and the rule that matches them.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/device.hpp"
#include "core/driver.hpp"

namespace driverfs {

class Plugin;

// The platform rule: the device's match key (its `compatible` property, else
// its name without the trailing instance number: "led0", "led.1" -> "led")
// against the driver's compatible list, or its name.
bool platform_match(const Device& dev, const Driver& drv);

// Shared: devices and drivers hold their bus, so a plugin's bus lives while
// anything of it is still reachable (an open file's device) and no longer.
class Bus : public std::enable_shared_from_this<Bus> {
public:
    // A plugin's match rule (pins the plugin itself); empty: the platform rule.
    using MatchFn = std::function<bool(const Device&, const Driver&)>;

    Bus(std::string name, MatchFn match) : name_(std::move(name)), match_(std::move(match)) {
        live_.fetch_add(1, std::memory_order_relaxed);
    }
    ~Bus() { live_.fetch_sub(1, std::memory_order_relaxed); }
    Bus(const Bus&) = delete;
    Bus& operator=(const Bus&) = delete;
    // Bus objects (buses and classes) not yet freed, process-wide: what a
    // leak check counts.
    static size_t live() { return live_.load(std::memory_order_relaxed); }

    const std::string& name() const { return name_; }
    // Matching is daemon code only (the platform rule): cheap, calls no
    // plugin, so it may run under DeviceModel::model_mu_.
    bool core_match() const { return !match_; }
    // driver_override wins over the bus rule, as in Linux.
    bool matches(const Device& dev, const std::string& override_name, const Driver& drv) const {
        if (!override_name.empty()) return override_name == drv.name();
        return match_ ? match_(dev, drv) : platform_match(dev, drv);
    }

    // Membership, under DeviceModel::model_mu_. The lists keep registration order;
    // for the platform rule the indexes below let matching look only at the
    // devices and drivers that share a key, instead of every pair (100,000
    // devices against 1,000 drivers is 10^8 pairs).
    void add_device(const DevicePtr& dev);
    void remove_device(const DevicePtr& dev);
    void add_driver(const DriverPtr& drv);
    void remove_driver(const Driver& drv);
    void set_override(Device& dev, std::string name);
    // Drop every membership at once (the core going away).
    void forget_members();
    // Drivers that match dev, in registration order (all of them when the
    // rule is a plugin's: it is checked later, with no lock held).
    std::vector<DriverPtr> driver_candidates(const Device& dev) const;
    // Unbound live devices drv matches (all unbound ones for a plugin's rule).
    std::vector<DevicePtr> device_candidates(const Driver& drv) const;

    std::list<DevicePtr> devices;  // registration order
    std::vector<DriverPtr> drivers;
    NodePtr dir, devices_dir, drivers_dir;
    NodePtr devices_root;  // devices/<bus>: where its top-level devices live

    std::atomic<bool> autoprobe{true};
    // remove_bus has begun: no device may join (under DeviceModel::model_mu_).
    bool removed = false;
    Plugin* owner = nullptr;  // the plugin that registered it; null for platform
    // A class (leds, hwmon), not a bus: the subsystem of class devices. Its
    // `dir` is class/<name>; the bus lists and indexes stay empty, members
    // holds its devices by name (under DeviceModel::model_mu_). Set at creation.
    bool is_class = false;
    std::map<std::string, std::weak_ptr<Device>> members;

private:
    static std::vector<std::string> keys_of(const Driver& drv);
    static inline std::atomic<size_t> live_{0};

    const std::string name_;
    MatchFn match_;
    uint64_t next_driver_seq_ = 0;
    std::unordered_map<const Driver*, uint64_t> driver_seq_;        // registration order
    std::unordered_multimap<std::string, DriverPtr> drivers_by_key_;
    // Match key -> its devices in registration order. A list, so a device
    // leaves it through Device::key_pos in O(1): most devices of a plugin bus
    // share one key, and a scan of them per removal made unloading 100,000
    // devices quadratic.
    std::unordered_map<std::string, std::list<DevicePtr>> devices_by_key_;
    std::vector<DevicePtr> overridden_;  // devices with a driver_override
};



}  // namespace driverfs
