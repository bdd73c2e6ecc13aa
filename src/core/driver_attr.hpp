// Driver attributes: a plugin's show/store reached through a stub pin.
#pragma once

#include "core/device.hpp"
#include "core/driver.hpp"
#include "core/node.hpp"
#include "driverfs/plugin.h"

namespace driverfs {

class DriverAttr final : public AttrOps {
public:
    // Runs with the driver pinned (at bind), so `attr` may be read here.
    DriverAttr(DriverPtr driver, const dfs_attribute* attr, DevicePtr device, std::string name);

    Result<size_t> show(char* page) override;
    Result<size_t> store(std::string_view data) override;
    Status validate() override;
    bool cacheable() const override { return cacheable_; }

private:
    const DriverPtr driver_;
    const dfs_attribute* const attr_;  // plugin memory: dereference only while pinned
    const DevicePtr device_;
    const std::string name_;
    const bool cacheable_;  // DFS_ATTR_CACHEABLE, copied at creation
};

// A binary attribute: the exact offset and size go to the plugin.
class DriverBinAttr : public AttrOps {
public:
    DriverBinAttr(DriverPtr driver, const dfs_bin_attribute* attr, size_t length, DevicePtr device, std::string name)
        : driver_(std::move(driver)), attr_(attr), length_(length), device_(std::move(device)), name_(std::move(name)) {}

    Result<size_t> show(char*) override { return Error::of(EINVAL, "binary attribute"); }
    Result<size_t> store(std::string_view) override { return Error::of(EINVAL, "binary attribute"); }
    Status validate() override;
    size_t size() const override { return length_; }
    bool binary() const override { return true; }
    Result<size_t> read_at(char* out, size_t count, size_t offset) override;
    Result<size_t> write_at(std::string_view data, size_t offset) override;

private:
    const DriverPtr driver_;
    const dfs_bin_attribute* const attr_;  // plugin memory: dereference only while pinned
    const size_t length_;                  // copied at creation
    const DevicePtr device_;
    const std::string name_;
};

}  // namespace driverfs
