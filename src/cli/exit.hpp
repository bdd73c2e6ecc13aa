// driverfsctl's exit statuses and the two ways it fails: a usage error, a failed command.
#pragma once

#include <string>
#include <string_view>

namespace driverfs::cli {

// Exit statuses, as driverfsctl(8) documents them.
inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;  // the message on stderr (with --json also an object on stdout)
inline constexpr int kUsage = 2;   // stderr only

// "driverfsctl: MSG" and where to read more on stderr; returns kUsage.
// `command`: a command with a --help of its own (record), named in both.
int usage_error(const std::string& msg, std::string_view command = {});

// "driverfsctl: MSG" on stderr, with " (ENAME)" when `name_errno` (the
// daemon's refusals name their errno); with `as_json` also
// {"ok": false, "errno": "ENAME", "message": MSG} on stdout, so that a
// script reading --json output never gets nothing. `code`: the errno that
// says what went wrong (the daemon's, or ours for a socket we could not
// reach or a reply we could not read). Returns kFailed.
int failed(int code, const std::string& msg, bool name_errno, bool as_json);

}  // namespace driverfs::cli
