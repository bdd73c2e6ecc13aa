// Reading plugin structs safely across ABI versions. Private to the core.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

#include "core/log.hpp"

#include "driverfs/plugin.h"

// True if the plugin's struct (which begins with its own size) is large
// enough to contain `field`: a plugin built against an older header simply
// lacks the newer fields, which then read as absent.
#define DFS_HAS_FIELD(ptr, type, field) \
    ((ptr)->size >= offsetof(type, field) + sizeof(((type*)nullptr)->field))

namespace driverfs {

// A plugin's failing return value as the errno to report. A negative errno
// this system names passes through unchanged. Anything else (-100000,
// INT64_MIN, a positive count where an errno was due, or -600, which is in
// the kernel's private range) is EIO plus a log line naming `what`: such a
// number reaches no caller intact, and the kernel refuses a FUSE reply with
// an errno of 512 or more, which would leave the caller waiting forever.
inline int errno_from_plugin(long rc, std::string_view what) {
    if (rc < 0 && rc > -512 && strerrorname_np(static_cast<int>(-rc))) return static_cast<int>(-rc);
    log(LogLevel::err, std::string(what) + " returned " + std::to_string(rc) +
                           ", which is not a negative errno; reported as EIO");
    return EIO;
}

// An attribute the host can make a file of: long enough to have a mode, and named.
inline bool attr_usable(const dfs_attribute* a) {
    return a->size >= offsetof(dfs_attribute, mode) + sizeof a->mode && a->name;
}

// A group long enough to have is_visible (NULL or not), with a list.
inline bool group_usable(const dfs_attribute_group* g) {
    return g->size >= offsetof(dfs_attribute_group, is_visible) + sizeof g->is_visible && g->attrs;
}

}  // namespace driverfs
