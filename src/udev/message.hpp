// What a uevent looks like to udev: its property list, its libudev netlink message, its filter hashes.
// The hashes are what libudev's socket filters compare.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/events.hpp"

namespace driverfs::udev {

using Properties = std::vector<std::pair<std::string, std::string>>;

// The event as udev would publish it: ACTION, DEVPATH (absolute), SUBSYSTEM,
// DEVTYPE and DRIVER when known, SEQNUM, then the device's properties with
// their keys upper-cased (as the tree's uevent file shows them). The core's
// load/unload become Linux's module add/remove. Empty when the event has no
// meaning to udev.
Properties udev_properties(const Uevent& ev);

// The value of KEY in props, or empty.
std::string_view find(const Properties& props, std::string_view key);

// MurmurHash2 (32 bit) of s, as libudev's monitor filters hash subsystem and
// devtype names (seed 0).
uint32_t murmur_hash2(std::string_view s, uint32_t seed = 0);

// libudev's netlink message for props: the "libudev" header (magic, offsets,
// filter hashes, empty tag bloom) followed by NUL-terminated KEY=VALUE lines.
std::string encode_monitor_message(const Properties& props);

// Receivers read into 8 KiB and drop anything longer.
constexpr size_t kMaxMonitorMessage = 8192;

}  // namespace driverfs::udev
