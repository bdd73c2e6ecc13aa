// driverfsctl's usage errors and failures (exit.hpp).
#include "exit.hpp"

#include <cstdio>

#include "control/protocol.hpp"

namespace driverfs::cli {

namespace proto = driverfs::protocol;

int usage_error(const std::string& msg, std::string_view command) {
    if (command.empty()) {
        std::fprintf(stderr, "driverfsctl: %s\n(see driverfsctl --help)\n", msg.c_str());
    } else {
        const std::string cmd(command);
        std::fprintf(stderr, "driverfsctl: %s: %s\n(see driverfsctl %s --help)\n", cmd.c_str(), msg.c_str(),
                     cmd.c_str());
    }
    return kUsage;
}

int failed(int code, const std::string& msg, bool name_errno, bool as_json) {
    if (name_errno)
        std::fprintf(stderr, "driverfsctl: %s (%s)\n", msg.c_str(), proto::errno_name(code).c_str());
    else
        std::fprintf(stderr, "driverfsctl: %s\n", msg.c_str());
    if (as_json) {
        const proto::json obj{{"ok", false}, {"errno", proto::errno_name(code)}, {"message", msg}};
        std::printf("%s\n", obj.dump(-1, ' ', false, proto::json::error_handler_t::replace).c_str());
        std::fflush(stdout);
    }
    return kFailed;
}

}  // namespace driverfs::cli
