// Reading plugin structs safely across ABI versions. Private to the core.
#pragma once

#include <cerrno>
#include <cstddef>

#include "driverfs/plugin.h"

// True if the plugin's struct (which begins with its own size) is large
// enough to contain `field`: a plugin built against an older header simply
// lacks the newer fields, which then read as absent.
#define DFS_HAS_FIELD(ptr, type, field) \
    ((ptr)->size >= offsetof(type, field) + sizeof(((type*)nullptr)->field))

namespace driverfs {

// A plugin's return value as an errno: negative errno in range, else EIO.
inline int errno_from_plugin(long rc) { return rc < 0 && rc >= -4095 ? static_cast<int>(-rc) : EIO; }

// An attribute the host can make a file of: long enough to have a mode, and named.
inline bool attr_usable(const dfs_attribute* a) {
    return a->size >= offsetof(dfs_attribute, mode) + sizeof a->mode && a->name;
}

// A group long enough to have is_visible (NULL or not), with a list.
inline bool group_usable(const dfs_attribute_group* g) {
    return g->size >= offsetof(dfs_attribute_group, is_visible) + sizeof g->is_visible && g->attrs;
}

}  // namespace driverfs
