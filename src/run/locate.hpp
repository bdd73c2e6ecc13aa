// Where driverfs-run finds the daemon and the preload library: the build tree's or the installed ones.
#pragma once

#include <string>

#include "core/error.hpp"

namespace driverfs::run {

// The directory of our own executable ("" if /proc cannot tell).
std::string dir_of_self();

// From the build tree, the daemon and the library built beside us; installed,
// the ones installed with us (found relative to our own directory `self`
// first, so a DESTDIR copy uses its own), else the configured paths.
Result<std::string> find_daemon(const std::string& self);
Result<std::string> find_preload(const std::string& self);

}  // namespace driverfs::run
