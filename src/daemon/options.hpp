// The daemon's command line: its own options, taken out before libfuse parses the rest.
#pragma once

#include <string>
#include <vector>

#include "fuse/fs.hpp"
#include "udev/udev.hpp"

namespace driverfs::daemon {

struct DaemonOptions {
    std::string plugin_dir;
    std::vector<std::string> load;
    long unload_timeout_ms = 5000;
    std::string control;  // socket path; empty: the default for the mount point
    std::vector<std::string> config;  // device descriptions applied, in order, before mounting
    driverfs::udev::Options udev;
};

// The --help text of our own options; libfuse's follow it.
void print_usage(const char* prog);

// Running from the build tree: the plugins built next to us; else the installed dir.
std::string default_plugin_dir();

// Take our own long options out of argv into `out`; the rest, argv[0] first,
// goes to `rest` for libfuse. False (after saying why on stderr) on a bad value.
bool take_daemon_options(int argc, char** argv, DaemonOptions& out, std::vector<char*>& rest);

// entry_timeout= and attr_timeout= are ours, not libfuse's: take them out of
// the arguments before libfuse sees (and refuses) them.
bool take_cache_timeouts(fuse_args* args, driverfs::fuse::CacheTimeouts& out);

}  // namespace driverfs::daemon
