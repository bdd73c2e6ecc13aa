// `driverfsctl top`: the per-driver statistics of a running daemon, refreshed.
#pragma once

#include <string>
#include <vector>

namespace driverfs::cli {

// `driverfsctl top [--interval SECS] [--count N]`: `args` holds the words
// after "top". Every SECS (default 1) asks the daemon at `socket_path` for
// "driver-stats" and prints one line per driver, calls/s from the last two
// samples; N refreshes (default: until interrupted). `as_json`: one JSON
// object per refresh and line. Returns the exit status (0 ok, 1 failed, 2 usage).
int top_main(const std::string& socket_path, bool as_json, const std::vector<std::string>& args);

}  // namespace driverfs::cli
