// Stray threads: finding the threads that may still run a plugin's code
// after its exit() returned, so that code is never unmapped under them.
// Private to the core.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <vector>

namespace driverfs {

struct ThreadScan {
    std::vector<pid_t> in_code;     // executing in, or called from, the object's code
    std::vector<pid_t> unexamined;  // never seen blocked within the window: not known
    bool failed = false;            // the object's segments could not be found
    // Whether unmapping would pull code from under a thread found in it.
    // Unexamined threads do not count: under load the daemon's own FUSE
    // workers may never block for the whole window, and keeping every
    // plugin mapped then would leak a mapping per unload (the caller warns).
    bool unsafe() const { return failed || !in_code.empty(); }
};

// Look at every other thread of the process for a program counter or a
// return address inside the executable segments of the dlopen'ed object
// `handle`. A thread running on a CPU cannot be looked at; it is tried
// again until `window` has passed, then reported as unexamined.
ThreadScan threads_in_object(void* handle, std::chrono::milliseconds window);

}  // namespace driverfs
