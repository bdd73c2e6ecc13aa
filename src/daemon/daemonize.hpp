// Going to the background only once the mount is up, so `driverfsd M && ls M` works.
#pragma once

namespace driverfs::daemon {

// Fork; the parent waits until the child reports (report_ready) and exits
// with the child's status. Returns in the child only.
void daemonize();

// 0: mounted, detach from the terminal; else the parent's exit status.
// A no-op in the foreground and after the first call.
void report_ready(char status);

}  // namespace driverfs::daemon
