// Driver attributes: a plugin's show/store reached through a stub pin.
#pragma once

#include "driverfs/device.hpp"
#include "driverfs/driver.hpp"
#include "driverfs/node.hpp"
#include "driverfs/plugin.h"

namespace driverfs {

class DriverAttr : public AttrOps {
public:
    DriverAttr(DriverPtr driver, const dfs_attribute* attr, DevicePtr device, std::string name)
        : driver_(std::move(driver)), attr_(attr), device_(std::move(device)), name_(std::move(name)) {}

    Result<size_t> show(char* page) override;
    Result<size_t> store(std::string_view data) override;
    Status validate() override;

private:
    // Pin the stub and check that it still publishes the registration this
    // node was made for. Once pinned, attr_ points into mapped plugin memory.
    Result<Pin> pin_driver();

    const DriverPtr driver_;
    const dfs_attribute* const attr_;  // plugin memory: dereference only while pinned
    const DevicePtr device_;
    const std::string name_;
};

}  // namespace driverfs
