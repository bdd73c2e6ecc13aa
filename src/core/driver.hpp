// Drivers: one registration of a plugin's dfs_driver, reached through its stub.
#pragma once

#include <list>
#include <memory>
#include <string>
#include <vector>

#include "core/driver_stats.hpp"
#include "core/node.hpp"
#include "core/stub.hpp"

namespace driverfs {

class Bus;
class Device;

// Immutable after registration; everything read from the plugin's struct is
// copied here so matching does not touch plugin memory.
class Driver {
public:
    Driver(StubRef stub, Bus& bus, Plugin& plugin, std::vector<std::string> compatible);  // bus.cpp

    const std::string& name() const { return name_; }
    Stub& stub() const { return *stub_; }
    Bus& bus() const { return *bus_; }
    Plugin& plugin() const { return plugin_; }
    const std::vector<std::string>& compatible() const { return compatible_; }
    // The stub generation this registration published.
    uint32_t generation() const { return generation_; }
    void set_generation(uint32_t g) { generation_ = g; }

    // Counters of this registration's calls, kept by the plugin gate (which
    // holds a const Driver&: counting is not a change of the driver).
    DriverStats& stats() const { return stats_; }

    NodePtr dir;  // bus/<bus>/drivers/<name>; set once at registration
    // module/<plugin>/drivers/<name>, its statistics; set once at
    // registration (null if it could not be made), removed with dir.
    NodePtr stats_dir;
    // Devices bound to this driver, under DeviceModel::model_mu_. The unloader
    // unbinds these, including devices already deleted from their bus.
    std::list<std::shared_ptr<Device>> bound;
    // Class devices of no device it owns (devices/virtual/...), in creation
    // order, under DeviceModel::model_mu_. Retired at unload, before exit().
    std::vector<std::shared_ptr<Device>> class_devices;

private:
    StubRef stub_;
    const std::string name_;
    const std::shared_ptr<Bus> bus_;  // keeps a retired bus alive while the driver is
    Plugin& plugin_;
    std::vector<std::string> compatible_;
    uint32_t generation_ = 0;
    mutable DriverStats stats_;
};

using DriverPtr = std::shared_ptr<Driver>;

}  // namespace driverfs
