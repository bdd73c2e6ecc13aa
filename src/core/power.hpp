// The power walks: system suspend and resume, and the shutdown walk at unmount, over the device model.
#pragma once

#include "core/device_model.hpp"
#include "core/error.hpp"

namespace driverfs {

// Each walk takes a snapshot of the devices, then visits them one by one
// under each Device::lock, reading and writing their power state through
// the model (its model_mu_); every call into a driver goes through the
// plugin gate, with no model lock held.
class PowerWalks {
public:
    explicit PowerWalks(DeviceModel& model) : model_(model) {}

    // Suspend every device children-before-parents (reverse registration
    // order) calling bound drivers' suspend, each call pinned; a failing
    // suspend aborts and resumes what was suspended.
    Status suspend();
    // Resume in registration order; a failed resume still marks its device active.
    Status resume();
    // Call every bound driver's shutdown, newest device first.
    void shutdown_devices();

private:
    DeviceModel& model_;
};

}  // namespace driverfs
