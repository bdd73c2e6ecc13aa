// Reading plugin structs safely across ABI versions. Private to the core.
#pragma once

#include <cerrno>
#include <cstddef>

// True if the plugin's struct (which begins with its own size) is large
// enough to contain `field`: a plugin built against an older header simply
// lacks the newer fields, which then read as absent.
#define DFS_HAS_FIELD(ptr, type, field) \
    ((ptr)->size >= offsetof(type, field) + sizeof(((type*)nullptr)->field))

namespace driverfs {

// A plugin's return value as an errno: negative errno in range, else EIO.
inline int errno_from_plugin(long rc) { return rc < 0 && rc >= -4095 ? static_cast<int>(-rc) : EIO; }

}  // namespace driverfs
