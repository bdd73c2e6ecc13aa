// driverfs-run's command line and exit statuses.
#pragma once

#include <string>
#include <vector>

namespace driverfs::run {

constexpr int kSetupFailed = 1;
constexpr int kUsage = 2;
constexpr int kCannotRun = 127;

struct RunOptions {
    std::string config;
    std::vector<std::string> devices;  // --device FILE, applied after --config, in order
    std::string plugin_dir;
    std::vector<std::string> load;
    std::vector<char*> command;  // NULL-terminated once parsed
};

// Fills `out` from argv. Returns -1 to go on, else the exit status (0 after
// --help or --version, kUsage after saying what is wrong).
int parse_args(int argc, char** argv, RunOptions& out);

}  // namespace driverfs::run
