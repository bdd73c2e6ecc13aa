// Calling a driver's probe, remove or is_visible with its faults contained.
// Private to the core.
#pragma once

#include <functional>
#include <string>

#include "driverfs/stub.hpp"

namespace driverfs {

// Run `fn` (plugin code; the caller holds a pin of `stub`) as the in-flight
// call `what`: an exception becomes -EIO and a log line naming the driver
// and `what`, so nothing thrown by a plugin reaches the core.
int call_driver(Stub& stub, const std::string& what, const std::function<int()>& fn);

}  // namespace driverfs
