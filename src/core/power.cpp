// Power: the system suspend/resume walks and the shutdown walk, each through the plugin gate.
#include "core/power.hpp"

#include <algorithm>

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

Status PowerWalks::suspend() {
    std::vector<DevicePtr> order = model_.devices_in_order();
    std::reverse(order.begin(), order.end());  // children before parents
    std::vector<DevicePtr> done;
    for (const DevicePtr& dev : order) {
        std::lock_guard dev_lock(dev->lock);
        DeviceModel::PmView pm = model_.pm_view(*dev);
        // Walks survive removal: a device deleted meanwhile is skipped.
        if (pm.dead || pm.suspended) continue;
        if (Returned rc = pm_call(*dev, pm.driver, PmOp::suspend); !rc) {
            Error e = Error::of(rc.err, "suspend of " + dev->name() + " failed (" + std::to_string(rc.raw) + "); resumed the " +
                                    std::to_string(done.size()) + " device(s) already suspended");
            // Undo in the opposite order: parents before children.
            for (auto it = done.rbegin(); it != done.rend(); ++it) {
                std::lock_guard undo_lock((*it)->lock);
                pm_call(**it, model_.pm_view(**it).driver, PmOp::resume);
                model_.set_suspended(**it, false);
            }
            log(LogLevel::err, e.message);
            return e;
        }
        model_.set_suspended(*dev, true);
        done.push_back(dev);
    }
    log(LogLevel::info, "suspended " + std::to_string(done.size()) + " device(s)");
    return {};
}

Status PowerWalks::resume() {
    const std::vector<DevicePtr> order = model_.devices_in_order();  // parents before children
    std::string failures;
    size_t resumed = 0;
    for (const DevicePtr& dev : order) {
        std::lock_guard dev_lock(dev->lock);
        DeviceModel::PmView pm = model_.pm_view(*dev);
        if (pm.dead || !pm.suspended) continue;
        // A device whose resume fails is still marked active: there is no
        // better state to report, and Linux does the same.
        if (Returned rc = pm_call(*dev, pm.driver, PmOp::resume); !rc)
            failures += (failures.empty() ? "" : ", ") + dev->name() + " (" + std::to_string(rc.raw) + ")";
        model_.set_suspended(*dev, false);
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

void PowerWalks::shutdown_devices() {
    std::vector<DevicePtr> order = model_.devices_in_order();
    std::reverse(order.begin(), order.end());  // newest first
    for (const DevicePtr& dev : order) {
        // try_lock: a device stuck in a probe must not hang the daemon's exit.
        std::unique_lock dev_lock(dev->lock, std::try_to_lock);
        if (!dev_lock) continue;
        DeviceModel::PmView pm = model_.pm_view(*dev);
        if (pm.dead) continue;
        pm_call(*dev, pm.driver, PmOp::shutdown);
    }
}

}  // namespace driverfs
