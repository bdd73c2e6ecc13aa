// Matching devices with drivers: the platform rule, the walks, deferred probes.
#include "core/device_model.hpp"
#include "core/log.hpp"

namespace driverfs {

bool platform_match(const Device& dev, const Driver& drv) {
    const std::string& key = dev.match_key();
    if (drv.compatible().empty()) return key == drv.name();
    for (const std::string& c : drv.compatible())
        if (c == key) return true;
    return false;
}

void DeviceModel::match_device(const DevicePtr& dev) {
    Bus& bus = dev->bus();
    // The candidates, in driver-list order. With the platform rule matching
    // is daemon code, done under model_mu_ in one pass; a plugin's rule is
    // plugin code, so it runs on a snapshot with no lock held (and pins the
    // plugin itself).
    std::vector<DriverPtr> candidates;
    std::string override_name;
    {
        std::lock_guard lock(model_mu_);
        override_name = dev->driver_override;
        candidates = bus.driver_candidates(*dev);
    }
    std::lock_guard dev_lock(dev->lock);
    for (const DriverPtr& drv : candidates) {
        if (dev->driver || !dev->static_driver.empty() || dev->dead) return;
        if (!bus.core_match() && !bus.matches(*dev, override_name, *drv)) continue;
        // probe_locked enters the plugin gate; a driver being unloaded
        // fails its pin and is skipped, never called.
        Status s = probe_locked(*dev, drv);
        if (s) return;
        if (s.error().code == EAGAIN) {  // deferred: stop here, as Linux does
            log(LogLevel::info, s.error().message);
            return;
        }
        log(LogLevel::warning, s.error().message);
    }
}

void DeviceModel::match_driver(const DriverPtr& drv) {
    Bus& bus = drv->bus();
    std::vector<DevicePtr> candidates;
    {
        std::lock_guard lock(model_mu_);
        candidates = bus.device_candidates(*drv);
    }
    for (const DevicePtr& dev : candidates) {
        std::lock_guard dev_lock(dev->lock);
        std::string override_name;
        {
            std::lock_guard lock(model_mu_);
            if (dev->driver || !dev->static_driver.empty() || dev->dead) continue;
            override_name = dev->driver_override;
        }
        if (!bus.matches(*dev, override_name, *drv)) continue;
        Status s = probe_locked(*dev, drv);
        if (!s) {
            log(LogLevel::warning, s.error().message);
            if (s.error().code == ENODEV && !drv->stub().active().active()) return;  // driver going
        }
    }
}

void DeviceModel::retry_deferred() {
    // Runs with no device lock held (match_device takes each device's own),
    // so it can be called after any operation that may have bound a device.
    while (bound_since_retry_.exchange(false, std::memory_order_acq_rel)) {
        std::vector<std::weak_ptr<Device>> pending;
        {
            std::lock_guard lock(model_mu_);
            pending.swap(deferred_);
        }
        for (const std::weak_ptr<Device>& w : pending)
            if (DevicePtr dev = w.lock()) match_device(dev);
    }
}

}  // namespace driverfs
