// Power: the system suspend/resume walks and the shutdown walk, each through the plugin gate.
#include "core/core.hpp"
#include "core/log.hpp"
#include "plugin_gate.hpp"

namespace driverfs {
namespace {

enum class PmOp { suspend, resume, shutdown };

// Call one PM callback of dev's driver. Success when there is nothing to
// call: an unbound device, a driver without the callback, or a driver going
// away (its pin fails, so it is skipped, never called).
Returned pm_call(Device& dev, const DriverPtr& drv, PmOp op) {
    if (!drv) return {};
    Result<DriverGate> gate = DriverGate::enter(*drv);
    if (!gate) return {};
    switch (op) {
    case PmOp::suspend: return gate->suspend(dev);
    case PmOp::resume: return gate->resume(dev);
    case PmOp::shutdown: gate->shutdown(dev); return {};
    }
    return {};
}

}  // namespace

Status Core::suspend() {
    std::vector<DevicePtr> order;
    {
        std::lock_guard lock(model_mu_);
        order.assign(all_devices_.rbegin(), all_devices_.rend());  // children before parents
    }
    std::vector<DevicePtr> done;
    for (const DevicePtr& dev : order) {
        std::lock_guard dev_lock(dev->lock);
        DriverPtr drv;
        {
            std::lock_guard lock(model_mu_);
            // Walks survive removal: a device deleted meanwhile is skipped.
            if (dev->dead || dev->suspended) continue;
            drv = dev->driver;
        }
        if (Returned rc = pm_call(*dev, drv, PmOp::suspend); !rc) {
            Error e = Error::of(rc.err, "suspend of " + dev->name() + " failed (" + std::to_string(rc.raw) + "); resumed the " +
                                    std::to_string(done.size()) + " device(s) already suspended");
            // Undo in the opposite order: parents before children.
            for (auto it = done.rbegin(); it != done.rend(); ++it) {
                std::lock_guard undo_lock((*it)->lock);
                DriverPtr d;
                {
                    std::lock_guard lock(model_mu_);
                    d = (*it)->driver;
                }
                pm_call(**it, d, PmOp::resume);
                std::lock_guard lock(model_mu_);
                (*it)->suspended = false;
            }
            log(LogLevel::err, e.message);
            return e;
        }
        {
            std::lock_guard lock(model_mu_);
            dev->suspended = true;
        }
        done.push_back(dev);
    }
    log(LogLevel::info, "suspended " + std::to_string(done.size()) + " device(s)");
    return {};
}

Status Core::resume() {
    std::vector<DevicePtr> order;
    {
        std::lock_guard lock(model_mu_);
        order.assign(all_devices_.begin(), all_devices_.end());  // parents before children
    }
    std::string failures;
    size_t resumed = 0;
    for (const DevicePtr& dev : order) {
        std::lock_guard dev_lock(dev->lock);
        DriverPtr drv;
        {
            std::lock_guard lock(model_mu_);
            if (dev->dead || !dev->suspended) continue;
            drv = dev->driver;
        }
        // A device whose resume fails is still marked active: there is no
        // better state to report, and Linux does the same.
        if (Returned rc = pm_call(*dev, drv, PmOp::resume); !rc)
            failures += (failures.empty() ? "" : ", ") + dev->name() + " (" + std::to_string(rc.raw) + ")";
        std::lock_guard lock(model_mu_);
        dev->suspended = false;
        ++resumed;
    }
    if (!failures.empty()) {
        Error e = Error::of(EIO, "resume failed for " + failures + "; every device is marked active");
        log(LogLevel::err, e.message);
        return e;
    }
    log(LogLevel::info, "resumed " + std::to_string(resumed) + " device(s)");
    return {};
}

void Core::shutdown_devices() {
    std::vector<DevicePtr> order;
    {
        std::lock_guard lock(model_mu_);
        order.assign(all_devices_.rbegin(), all_devices_.rend());  // newest first
    }
    for (const DevicePtr& dev : order) {
        // try_lock: a device stuck in a probe must not hang the daemon's exit.
        std::unique_lock dev_lock(dev->lock, std::try_to_lock);
        if (!dev_lock) continue;
        DriverPtr drv;
        {
            std::lock_guard lock(model_mu_);
            if (dev->dead) continue;
            drv = dev->driver;
        }
        pm_call(*dev, drv, PmOp::shutdown);
    }
}

}  // namespace driverfs
