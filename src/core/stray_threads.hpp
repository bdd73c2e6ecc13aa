// Stray threads: which threads a plugin started, so its code is never unmapped under a running one.
// (One may still run after the plugin's exit() returned.)
// Private to the core; the loader is the only user.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace driverfs {

// Marks the loading of one plugin object, from just before its dlopen()
// until it is known by its code (commit) or given up (destructor). Threads
// the loading thread starts meanwhile come from the object's constructors
// and count as its threads. Lock: takes the registry lock briefly; the
// caller must not hold it (nobody outside stray_threads.cpp can).
class PluginCodeLoad {
public:
    PluginCodeLoad();
    ~PluginCodeLoad();
    PluginCodeLoad(const PluginCodeLoad&) = delete;
    PluginCodeLoad& operator=(const PluginCodeLoad&) = delete;

    // Record the executable segments of the dlopen'ed `handle`: from now
    // on a thread created from a call chain that reaches them is the
    // object's. False if the object's segments cannot be found; its
    // threads are then not known and unload keeps it mapped.
    bool commit(void* handle);

private:
    uint64_t id_;
    bool committed_ = false;
};

struct PluginThreads {
    bool unknown = false;     // the object was never committed: cannot tell
    std::vector<pid_t> tids;  // threads it started that have not finished
    // Whether closing the object could pull code from under a thread.
    bool keep_mapped() const { return unknown || !tids.empty(); }
};

// The threads the object `handle` started (directly, through a library, or
// from a thread of its own) that are still running. When there are none
// the object is forgotten in the same step, so no thread can be counted
// as its thread afterwards: the caller must then dlclose it. When there are
// some it stays known, and threads those start count as its threads too.
// Call only once nothing can enter the object any more (after its exit()).
PluginThreads finish_plugin_threads(void* handle);

}  // namespace driverfs
