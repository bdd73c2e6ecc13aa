// driverfsctl: drive a running driverfsd through its control socket.
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "connection.hpp"
#include "control/protocol.hpp"
#include "driverfs_config.h"
#include "output.hpp"
#include "record.hpp"
#include "top.hpp"

namespace {

namespace proto = driverfs::protocol;
using driverfs::cli::Conn;
using driverfs::cli::read_reply;
using namespace driverfs::cli::output;
using proto::json;

constexpr int kOk = 0, kFailed = 1, kUsage = 2;

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
        "commands:\n"
        "  load PATH|NAME                       load a driver plugin\n"
        "  unload NAME [--timeout[=]SECS]       unload a plugin (drains running calls)\n"
        "  list                                 loaded and known modules (like lsmod)\n"
        "  devices                              the device tree with drivers and state\n"
        "  add-device BUS NAME [KEY=VALUE...] [--parent[=]DEV]\n"
        "  remove-device NAME|PATH              remove a device and its children; a PATH\n"
        "                                       (devices/...) names a declarative device\n"
        "  bind BUS DRIVER DEVICE               bind a device to a driver\n"
        "  unbind BUS DRIVER DEVICE             unbind it\n"
        "  suspend | resume                     system suspend / resume of every device\n"
        "  purge                                free inactive driver stubs\n"
        "  stats                                core counters\n"
        "  driver-stats                         per-driver calls, errors, in_flight, refused, slowest\n"
        "  top [--interval SECS] [--count N]    driver-stats refreshed, with calls/s (like top)\n"
        "  monitor                              print events as they happen (until interrupted)\n"
        "  log [-f|--follow]                    the daemon's recent messages (the newest 2048,\n"
        "                                       1 MiB of text at most);\n"
        "                                       -f: then each new one (until interrupted)\n"
        "  apply FILE                           apply a device description (JSON or .umockdev)\n"
        "  record [--no-parents] SYSPATH...     print real sysfs devices as a description\n"
        "                                       (no daemon needed; record --help)\n"
        "  ping                                 check that the daemon answers\n"
        "\n"
        "Exit status: 0 ok, 1 failed (message on stderr; with --json also the object above\n"
        "on stdout), 2 usage (stderr only). See driverfsctl(8).\n");
}

// Set once the command line is read: failures are then also reported on
// stdout, so that a script reading --json output never gets nothing.
bool g_json = false;

int usage_error(const std::string& msg) {
    std::fprintf(stderr, "driverfsctl: %s\n(see driverfsctl --help)\n", msg.c_str());
    return kUsage;
}

// `code`: the errno that says what went wrong (the daemon's, or ours for a
// socket we could not reach or a reply we could not read). The daemon's
// refusals name their errno on stderr too, as they always did.
int fail(int code, const std::string& msg, bool name_errno = false) {
    if (name_errno)
        std::fprintf(stderr, "driverfsctl: %s (%s)\n", msg.c_str(), proto::errno_name(code).c_str());
    else
        std::fprintf(stderr, "driverfsctl: %s\n", msg.c_str());
    if (g_json) {
        const json obj{{"ok", false}, {"errno", proto::errno_name(code)}, {"message", msg}};
        std::printf("%s\n", obj.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
        std::fflush(stdout);
    }
    return kFailed;
}


std::string absolute(const std::string& p) {
    char buf[PATH_MAX];
    if (realpath(p.c_str(), buf)) return buf;
    if (!p.empty() && p[0] == '/') return p;
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd)) return std::string(cwd) + "/" + p;
    return p;
}


// Print the `key` object of each streamed line until the daemon hangs up
// (monitor, log -f); an interrupt or a closed stdout ends us earlier.
template <typename Print>
int print_stream(Conn& conn, const char* key, Print print) {
    signal(SIGPIPE, SIG_DFL);
    std::string ln;
    while (conn.read_line(ln)) {
        json msg = json::parse(ln, nullptr, false);
        if (msg.is_discarded() || !msg.contains(key)) continue;
        print(msg[key]);
    }
    return fail(ECONNRESET, "the daemon closed the connection");
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
    g_json = as_json;
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
    std::vector<std::string> pos;  // positional arguments after the command
    std::optional<std::string> timeout, parent;
    bool follow = false;
    for (size_t i = 1; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--") {
            pos.insert(pos.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
            break;
        }
        if (cmd == "log" && (a == "-f" || a == "--follow")) {
            follow = true;
        } else if (a == "--timeout" || a == "--parent") {
            if (i + 1 >= args.size()) return usage_error(a + " needs a value");
            (a == "--timeout" ? timeout : parent) = args[++i];
        } else if (a.rfind("--timeout=", 0) == 0) {
            timeout = a.substr(10);
        } else if (a.rfind("--parent=", 0) == 0) {
            parent = a.substr(9);
        } else if (a.size() > 1 && a[0] == '-') {
            return usage_error("unknown option '" + a + "' for " + args[0]);
        } else {
            pos.push_back(a);
        }
    }
    if (timeout && cmd != "unload") return usage_error("--timeout is an option of unload");
    if (parent && cmd != "add-device") return usage_error("--parent is an option of add-device");
    auto arity = [&](size_t lo, size_t hi, const char* synopsis) {
        if (pos.size() < lo || pos.size() > hi) {
            usage_error(std::string("usage: driverfsctl ") + synopsis);
            return false;
        }
        return true;
    };

    json req{{"id", 1}, {"cmd", cmd}};
    if (cmd == "load") {
        if (!arity(1, 1, "load PATH|NAME")) return kUsage;
        // A path is resolved here: the daemon's working directory is /.
        req["plugin"] = pos[0].find('/') != std::string::npos ? absolute(pos[0]) : pos[0];
    } else if (cmd == "unload") {
        if (!arity(1, 1, "unload NAME [--timeout SECS]")) return kUsage;
        req["module"] = pos[0];
        if (timeout) {
            char* end;
            double t = std::strtod(timeout->c_str(), &end);
            if (timeout->empty() || *end || !(t > 0 && t <= 3600))
                return usage_error("--timeout takes seconds, more than 0 and at most 3600");
            req["timeout"] = t;
        }
    } else if (cmd == "list" || cmd == "devices" || cmd == "suspend" || cmd == "resume" || cmd == "purge" ||
               cmd == "stats" || cmd == "driver-stats" || cmd == "monitor" || cmd == "ping") {
        if (!arity(0, 0, (cmd + " (takes no arguments)").c_str())) return kUsage;
    } else if (cmd == "log") {
        if (!arity(0, 0, "log [-f|--follow]")) return kUsage;
        if (follow) req["follow"] = true;
    } else if (cmd == "add-device") {
        if (!arity(2, SIZE_MAX, "add-device BUS NAME [KEY=VALUE...] [--parent DEV]")) return kUsage;
        req["bus"] = pos[0];
        req["name"] = pos[1];
        json props = json::object();
        for (size_t i = 2; i < pos.size(); ++i) {
            auto eq = pos[i].find('=');
            if (eq == std::string::npos || eq == 0) return usage_error("property '" + pos[i] + "' is not KEY=VALUE");
            props[pos[i].substr(0, eq)] = pos[i].substr(eq + 1);
        }
        req["properties"] = props;
        if (parent) req["parent"] = *parent;
    } else if (cmd == "remove-device") {
        if (!arity(1, 1, "remove-device NAME|PATH")) return kUsage;
        req["name"] = pos[0];
    } else if (cmd == "bind" || cmd == "unbind") {
        if (!arity(3, 3, (cmd + " BUS DRIVER DEVICE").c_str())) return kUsage;
        req["bus"] = pos[0];
        req["driver"] = pos[1];
        req["device"] = pos[2];
    } else if (cmd == "apply") {
        if (!arity(1, 1, "apply FILE")) return kUsage;
        std::ifstream in(pos[0]);
        if (!in) {
            const int e = errno ? errno : EIO;
            return fail(e, pos[0] + ": " + std::strerror(e));
        }
        std::stringstream ss;
        ss << in.rdbuf();
        // The daemon tells JSON from a .umockdev dump and names the file and
        // line of an error: one parser for this and driverfsd --config.
        req["text"] = ss.str();
        req["file"] = pos[0];
    } else {
        return usage_error("unknown command '" + cmd + "'");
    }

    Conn conn;
    std::string err;
    if (int e = conn.open(socket_path, err); e != 0) return fail(e, err);
    const std::string line = req.dump();
    if (line.size() > proto::kMaxLine) return fail(EMSGSIZE, "request too large (over 32 MiB)");
    // A refused client may find the connection closed before it could send:
    // the daemon's reason is still waiting to be read.
    const bool sent = conn.send_line(line);
    const int send_errno = errno;
    json reply;
    if (int e = read_reply(conn, reply, err); e != 0) {
        if (sent) return fail(e, err);
        return fail(send_errno, "cannot send to " + socket_path + ": " + std::strerror(send_errno));
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
        return fail(code, message, true);
    }
    const json result = reply.value("result", json::object());

    if (cmd == "log") {
        // With --json too, one record per line, as monitor prints events.
        for (const json& rec : result.value("records", json::array())) print_log_record(rec, as_json);
        if (!follow) return kOk;
        return print_stream(conn, "log", [&](const json& rec) { print_log_record(rec, as_json); });
    }
    if (cmd == "monitor") return print_stream(conn, "event", [&](const json& ev) { print_event(ev, as_json); });
    if (as_json) {
        std::printf("%s\n", result.dump().c_str());
        return kOk;
    }
    if (cmd == "list") {
        print_list(result);
    } else if (cmd == "devices") {
        print_devices(result);
    } else if (cmd == "stats") {
        print_stats(result);
    } else if (cmd == "driver-stats") {
        print_driver_stats(result);
    } else if (cmd == "purge") {
        std::printf("freed %s inactive stubs\n", str(result, "freed").c_str());
    } else if (cmd == "ping") {
        std::printf("driverfsd %s (pid %s)\n", str(result, "version").c_str(), str(result, "pid").c_str());
    } else if (cmd == "apply") {
        auto names = [&](std::initializer_list<const char*> keys) {
            std::string s;
            for (const char* k : keys) {
                const json arr = result.value(k, json::array());
                for (const json& n : arr) s += " " + n.get<std::string>();
            }
            return s.empty() ? std::string(" -") : s;
        };
        std::printf("loaded:%s\nadded:%s\nalready present:%s\n", names({"loaded"}).c_str(),
                    names({"added", "declared_added"}).c_str(),
                    names({"plugins_present", "devices_present", "declared_present"}).c_str());
    }
    return kOk;
}
