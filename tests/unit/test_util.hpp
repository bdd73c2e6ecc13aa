// Helpers shared by the unit tests: fixture paths, private plugin
// directories, attribute I/O through the shared file operations.
#pragma once

#include <fcntl.h>
#include <sys/types.h>

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"
#include "core/open_file.hpp"

namespace dfs_test {

// Directory holding the fixture plugins (fx_*.so) of this build.
std::string fixtures_dir();
// Directory holding the sample plugins (led/led.so, ...) of this build.
std::string plugins_dir();
// Path of fixture `name` (without .so) and of sample plugin `name`.
std::string fixture_so(const std::string& name);
std::string plugin_so(const std::string& name);

// A fresh mkdtemp directory with mode 0700, removed with its contents on
// destruction. Build-tree files may be group-writable (umask), which the
// loader rightly refuses, so tests load private copies installed here.
class PrivateDir {
public:
    PrivateDir();
    ~PrivateDir();
    PrivateDir(const PrivateDir&) = delete;
    PrivateDir& operator=(const PrivateDir&) = delete;

    const std::string& path() const { return path_; }
    // Copy `src` to DIR/`name` with `mode`; returns the new path.
    std::string install(const std::string& src, const std::string& name, unsigned mode = 0644);
    // Write `text` to DIR/`name` with `mode`; returns the new path.
    std::string write_file(const std::string& name, std::string_view text, unsigned mode = 0644);

private:
    std::string path_;
};

// The result of one read or write: errno (0 on success) and data / count.
struct Io {
    int err = 0;
    std::string data;
    size_t count = 0;
};

// The ids of this process's threads, from /proc/self/task.
std::vector<pid_t> task_ids();
// The threads that exist now and were not in `before` (a task_ids()).
std::vector<pid_t> threads_since(const std::vector<pid_t>& before);

// Open `path` in `core`'s tree with `flags`; errno of the failure or 0.
int open_errno(driverfs::Core& core, const std::string& path, int flags);
// Names in the directory at `path`, sorted and space-separated; "<none>"
// if it is missing.
std::string listing(driverfs::Core& core, const std::string& path);
// Open, read one page at offset 0, close.
Io read_attr(driverfs::Core& core, const std::string& path);
// Open O_WRONLY, write `data`, close.
Io write_attr(driverfs::Core& core, const std::string& path, std::string_view data);
// Read / write through an already open handle.
Io read_handle(driverfs::OpenFile& f, off_t offset = 0, size_t size = 4096);
Io write_handle(driverfs::OpenFile& f, std::string_view data);

// Number of modules in state "live" named `name` (0 or 1).
int live_modules(const driverfs::Core& core, const std::string& name);
const driverfs::ModuleInfo* find_module(const std::vector<driverfs::ModuleInfo>& mods, const std::string& name);

// A FIFO in a private directory that a fixture callback (fx_sleepy's `gate`,
// fx_slowprobe's DRIVERFS_FX_SLOWPROBE_GATE) waits on: the callback stays in
// flight until release(), so "still running" is a fact the test makes, not a
// race between a sleep and a loaded machine.
class Gate {
public:
    Gate();
    ~Gate();  // lets go of a callback still waiting, so nothing hangs
    Gate(const Gate&) = delete;
    Gate& operator=(const Gate&) = delete;

    const std::string& path() const { return path_; }
    // Waits (up to 60 s) until the callback has opened the FIFO, then lets
    // it return.
    void release();

private:
    PrivateDir dir_;
    std::string path_;
};

// Captures log lines for the lifetime of the object (and echoes them to
// stderr). Not thread-safe to construct/destroy while others log.
class LogCapture {
public:
    LogCapture();
    ~LogCapture();
    bool contains(std::string_view needle) const;
    // A line containing `first` comes before any line containing `second`.
    bool before(std::string_view first, std::string_view second) const;

private:
    mutable std::mutex mu_;
    std::vector<std::string> lines_;
};

// Drops log lines for its lifetime (tests that log thousands on purpose);
// the same threading rule as LogCapture.
class QuietLog {
public:
    QuietLog();
    ~QuietLog();
};

}  // namespace dfs_test
