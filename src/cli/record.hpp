// `driverfsctl record`: describe real sysfs devices as the JSON "devices"
// description of driverfs(5), DEVICE DESCRIPTION FILES. Reads /sys, never writes to it.
#pragma once

namespace driverfs::cli {

// The read bound of one file, said in --help and driverfsctl(8).
inline constexpr int kRecordReadTimeoutMs = 2000;

// `driverfsctl record [--no-parents] [--verbose] SYSPATH...`: argv holds the
// words after "record". Prints the description on stdout and a summary on
// stderr; returns the exit status (0 ok, 1 failed, 2 usage).
int record_main(int argc, char** argv);

}  // namespace driverfs::cli
