// The services table lent to plugins (dfs_host). Private to the core.
#pragma once

#include "driverfs/plugin.h"

namespace driverfs {

const dfs_host& host_services();

}  // namespace driverfs
