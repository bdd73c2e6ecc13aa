// A driverfsctl command line as a request: its words read by the command's row of the table.
#pragma once

#include <string>
#include <vector>

#include "control/commands.hpp"

namespace driverfs::cli {

// `args`: the command (args[0]) and its words. Fills `req` with the fields
// of `cmd`'s row (`cmd`: nullptr for a command the table does not have) and
// returns kOk, or the exit status after saying what is wrong: a usage error
// (an unknown option, an option of another command, a wrong number of
// words, a bad value) or a failure (apply: a FILE that cannot be read).
// `as_json`: a failure is also printed as the --json object.
int build_request(const protocol::Command* cmd, const std::vector<std::string>& args, bool as_json,
                  protocol::json& req);

// `p` made absolute: resolved if it exists, else joined to the working
// directory (the daemon's is /).
std::string absolute(const std::string& p);

}  // namespace driverfs::cli
