// Reading a file that may block forever (some sysfs attributes wait on
// hardware): the read runs in a forked child that is abandoned at a deadline.
#pragma once

#include <string>

namespace driverfs::cli {

struct BoundedRead {
    enum Kind { kOk, kError, kTimeout, kTooLarge } kind = kError;
    int error = 0;      // the errno of open() or read(), for kError
    std::string data;   // the contents, for kOk
};

// Read all of `path` (O_RDONLY, never anything else) within `timeout_ms`.
// More than `limit` bytes is kTooLarge. A child still blocked at the deadline
// is sent SIGKILL and left behind, unwaited: one stuck in the kernel
// (uninterruptible) cannot then hold us up either; reap_abandoned_readers()
// collects them once they have died. Not for multithreaded callers
// (fork).
BoundedRead bounded_read(const std::string& path, size_t limit, int timeout_ms);

// Collect abandoned readers as they end, for at most `grace_ms`; returns how
// many are still alive (stuck in the kernel) after that.
int reap_abandoned_readers(int grace_ms);

}  // namespace driverfs::cli
