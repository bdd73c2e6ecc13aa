// driverfsctl: its options, --help, and one command sent to driverfsd and its reply printed.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "connection.hpp"
#include "control/commands.hpp"
#include "driverfs_config.h"
#include "exit.hpp"
#include "record.hpp"
#include "request.hpp"
#include "top.hpp"

namespace {

namespace proto = driverfs::protocol;
using namespace driverfs::cli;
using proto::json;

// The "commands:" part of --help, from the table: a row without help text
// shares the line of the row before ("suspend | resume").
std::string commands_help() {
    constexpr size_t kColumn = 37;  // where the descriptions start, after two spaces
    std::string out;
    const auto& rows = proto::kCommands;
    for (size_t i = 0; i < std::size(rows); ++i) {
        if (!rows[i].help) continue;
        std::string label = rows[i].synopsis;
        for (size_t j = i + 1; j < std::size(rows) && !rows[j].help; ++j) label += std::string(" | ") + rows[j].synopsis;
        out += "  " + label;
        const std::string_view help = rows[i].help;
        if (!help.empty()) out += std::string(kColumn > label.size() ? kColumn - label.size() : 1, ' ');
        for (char c : help) out += c == '\n' ? "\n" + std::string(kColumn + 2, ' ') : std::string(1, c);
        out += '\n';
    }
    return out;
}

void usage(FILE* out) {
    std::fprintf(out,
        "usage: driverfsctl [--socket PATH | --mount MOUNTPOINT] [--json] COMMAND [ARGS]\n"
        "       driverfsctl -h | --help | -V | --version\n"
        "\n"
        "options (--opt VALUE and --opt=VALUE are the same):\n"
        "  --socket PATH                        the daemon's control socket (driverfsd --control)\n"
        "  --mount MOUNTPOINT                   the default socket of the daemon mounted there\n"
        "  --json                               print results as JSON; a failure as one object\n"
        "                                       {\"ok\": false, \"errno\": \"ENOENT\", \"message\": \"...\"}\n"
        "  -h, --help                           this text\n"
        "  -V, --version                        the version of driverfsctl\n"
        "Without --socket or --mount, the socket named by $DRIVERFS_SOCKET is used.\n"
        "After --, every word is the command or an argument (remove-device -- -1).\n"
        "\n"
        "commands:\n");
    std::fputs(commands_help().c_str(), out);
    std::fprintf(out,
        "\n"
        "Exit status: 0 ok, 1 failed (message on stderr; with --json also the object above\n"
        "on stdout), 2 usage (stderr only). See driverfsctl(8).\n");
}

// Print the `key` object of each streamed line until the daemon hangs up
// (monitor, log -f); an interrupt or a closed stdout ends us earlier.
int print_stream(Conn& conn, const char* key, proto::PrintItem print, bool as_json) {
    signal(SIGPIPE, SIG_DFL);
    std::string ln;
    while (conn.read_line(ln)) {
        json msg = json::parse(ln, nullptr, false);
        if (msg.is_discarded() || !msg.contains(key)) continue;
        print(msg[key], as_json);
    }
    return failed(ECONNRESET, "the daemon closed the connection", false, as_json);
}

// The reply's result as `cmd`'s row says: a sequence item by item (then the
// stream, if the request asked for one), else the result object.
int print_reply(Conn& conn, const proto::Command& cmd, const json& req, const json& result, bool as_json) {
    if (cmd.items || cmd.stream_key) {
        // With --json too, one item per line.
        if (cmd.items)
            for (const json& item : result.value(cmd.items, json::array())) cmd.print_item(item, as_json);
        if (!proto::streams(cmd, req)) return kOk;
        return print_stream(conn, cmd.stream_key, cmd.print_item, as_json);
    }
    if (as_json)
        std::printf("%s\n", result.dump().c_str());
    else if (cmd.print)
        cmd.print(result);
    return kOk;
}

}  // namespace

int main(int argc, char** argv) {
    std::string socket_path, mountpoint;
    bool as_json = false;
    std::vector<std::string> args;
    bool operands_only = false;  // after "--": a device named "-1" is a name
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (operands_only) {
            args.push_back(a);
            continue;
        }
        if (a == "--") {
            // Passed on, so that the command's own loop below stops too.
            operands_only = true;
            args.push_back(a);
            continue;
        }
        auto value = [&](const std::string& flag, std::string& out) -> int {
            if (a.rfind(flag + "=", 0) == 0) {
                out = a.substr(flag.size() + 1);
                return 1;
            }
            if (a != flag) return 0;
            if (i + 1 >= argc) return -1;
            out = argv[++i];
            return 1;
        };
        int got;
        if ((got = value("--socket", socket_path)) != 0) {
            if (got < 0) return usage_error("--socket needs a path");
        } else if ((got = value("--mount", mountpoint)) != 0) {
            if (got < 0) return usage_error("--mount needs a mount point");
        } else if (a == "--json") {
            as_json = true;
        } else if (a == "-h" || a == "--help") {
            usage(stdout);
            return kOk;
        } else if (a == "-V" || a == "--version") {
            std::printf("driverfsctl %s\n", DRIVERFS_VERSION);
            return kOk;
        } else if (args.empty() && a == "record") {  // reads /sys, needs no daemon: its own options
            return driverfs::cli::record_main(argc - i - 1, argv + i + 1);
        } else if (args.empty() && a.size() > 1 && a[0] == '-') {
            // Before the command every dash word is one of ours; after it,
            // the command's own options are checked below.
            return usage_error("unknown option '" + a + "'");
        } else {
            args.push_back(a);
        }
    }
    if (!args.empty() && args[0] == "--") {  // "-- CMD ARGS": CMD's arguments are operands too
        args.erase(args.begin());
        if (!args.empty()) args.insert(args.begin() + 1, "--");
    }
    if (args.empty()) return usage_error("no command given");
    if (!socket_path.empty() && !mountpoint.empty()) return usage_error("give --socket or --mount, not both");
    if (socket_path.empty() && mountpoint.empty()) {
        if (const char* env = getenv("DRIVERFS_SOCKET"); env && *env)
            socket_path = env;
        else
            return usage_error("say which daemon: --socket PATH or --mount MOUNTPOINT");
    }
    if (socket_path.empty()) socket_path = proto::default_socket_path(absolute(mountpoint), geteuid(), getenv("XDG_RUNTIME_DIR"));

    const std::string cmd = args[0];
    if (cmd == "top") return driverfs::cli::top_main(socket_path, as_json, {args.begin() + 1, args.end()});
    const proto::Command* row = proto::find_command(cmd);
    json req{{"id", 1}, {"cmd", cmd}};
    if (int e = build_request(row, args, as_json, req); e != kOk) return e;

    Conn conn;
    std::string err;
    if (int e = conn.open(socket_path, err); e != 0) return failed(e, err, false, as_json);
    const std::string line = req.dump();
    if (line.size() > proto::kMaxLine) return failed(EMSGSIZE, "request too large (over 32 MiB)", false, as_json);
    // A refused client may find the connection closed before it could send:
    // the daemon's reason is still waiting to be read.
    const bool sent = conn.send_line(line);
    const int send_errno = errno;
    json reply;
    if (int e = read_reply(conn, reply, err); e != 0) {
        if (sent) return failed(e, err, false, as_json);
        return failed(send_errno, "cannot send to " + socket_path + ": " + std::strerror(send_errno), false,
                      as_json);
    }
    if (auto e = reply.find("error"); e != reply.end()) {
        int code = EPROTO;  // a daemon that gave no errno broke the protocol
        if (e->is_object()) {
            const auto n = e->find("errno");
            if (n != e->end() && n->is_number_integer() && n->get<long long>() > 0 && n->get<long long>() < 4096)
                code = static_cast<int>(n->get<long long>());
        }
        const std::string message =
            cmd + ": " + (e->is_object() ? e->value("message", std::string("failed")) : std::string("failed"));
        return failed(code, message, true, as_json);
    }
    return print_reply(conn, *row, req, reply.value("result", json::object()), as_json);
}
