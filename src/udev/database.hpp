// The udev database: one file per device under DIR/data, as udevd keeps it in /run/udev.
// libudev's property lookups then see a device's properties.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/error.hpp"
#include "message.hpp"

namespace driverfs::udev {

class Database {
public:
    // dir: the database root (what /run/udev is to libudev). Creates
    // dir/data and the empty dir/control libudev looks for before it listens.
    static Result<Database> open(const std::string& dir);

    // Applies one event: remove deletes the device's file, every other
    // action (re)writes it whole, atomically (temp file + rename).
    Status apply(const Properties& props);

    // The file name libudev reads for a device: c|bMAJ:MIN with a device
    // number, else +SUBSYSTEM:SYSNAME.
    static std::string entry_name(const Properties& props);

private:
    explicit Database(std::string dir) : dir_(std::move(dir)) {}

    std::string dir_;
    // DEVPATH -> when it was first written (I: line, usec of CLOCK_MONOTONIC),
    // kept across change events as udevd keeps it.
    std::map<std::string, uint64_t> initialized_;
};

}  // namespace driverfs::udev
