// Refusing a mount point before anything is built: not a directory, or a driverfs already there.
#pragma once

#include <string>

#include "core/error.hpp"

namespace driverfs::daemon {

// Checked before anything is built, forked or created, so a refusal leaves
// the system as it was and its message reaches the terminal. Without these
// checks the kernel mounts over a regular file, and a second daemon stacks
// a mount on the first one, hiding it while its daemon keeps running.
// `mountpoint` is absolute: libfuse resolved it with realpath(3).
driverfs::Status check_mountpoint(const std::string& mountpoint, const std::string& default_socket);

}  // namespace driverfs::daemon
