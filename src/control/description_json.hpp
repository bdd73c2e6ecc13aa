// The JSON type of device descriptions: keys stay in the order they were written.
#pragma once

#include <nlohmann/json.hpp>

namespace driverfs::control {

// A device's "properties" are uevent lines, and Linux writes them in an order
// of its own (INTERFACE before IFINDEX for a net device) that `udevadm info`
// prints as it finds it. A sorted object would replay them in another order
// than the device had, so `record` writes and every reader of a description
// keeps the order of the text.
using DescriptionJson = nlohmann::ordered_json;

}  // namespace driverfs::control
