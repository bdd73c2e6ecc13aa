// The daemon's command line: its own options, taken out before libfuse parses the rest.
#include "options.hpp"

#include <unistd.h>

#include <climits>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "driverfs_config.h"

namespace driverfs::daemon {


void print_usage(const char* prog) {
    std::printf(
        "usage: %s [options] MOUNTPOINT\n"
        "\n"
        "driverfs: a driver model filesystem with hot-loadable driver plugins.\n"
        "\n"
        "    --plugin-dir DIR       where plugin names are looked up\n"
        "                           (default: %s, or the build tree's plugins/)\n"
        "    --load NAME|PATH       load a plugin before serving (repeatable)\n"
        "    --unload-timeout SECS  how long unload waits for running calls (default 5)\n"
        "    --control PATH         control socket (default: /run/driverfs/ID.sock for root,\n"
        "                           else $XDG_RUNTIME_DIR/driverfs/ID.sock; ID is the mount\n"
        "                           point escaped as systemd-escape --path does)\n"
        "    --config FILE.json     device description applied before the mount appears\n"
        "                           (repeatable: applied in order, each all or nothing)\n"
        "    --udev-netlink         send every uevent to libudev listeners (netlink group 2);\n"
        "                           refused in the host's network namespace (driverfs-run(1))\n"
        "    --udev-db DIR          keep a udev database in DIR (what /run/udev is to libudev)\n"
        "    -f                     stay in the foreground\n"
        "    -d                     debug: foreground, log every request\n"
        "    -s                     single-threaded\n"
        "    -o OPT[,OPT...]        FUSE mount options (allow_other, clone_fd, max_idle_threads=N, ...)\n"
        "    -o entry_timeout=SECS  how long the kernel caches a lookup (default 1)\n"
        "    -o attr_timeout=SECS   how long the kernel caches attributes (default 1)\n"
        "    -h, --help             this text\n"
        "    -V, --version          version\n"
        "\n"
        "See driverfsd(8) and driverfs(5).\n",
        prog, DRIVERFS_PLUGIN_DIR);
}

// Running from the build tree: use the plugins built next to us.
std::string default_plugin_dir() {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        std::string build_root = DRIVERFS_BUILD_ROOT;
        if (std::strncmp(exe, build_root.c_str(), build_root.size()) == 0 && exe[build_root.size()] == '/')
            return build_root + "/plugins";
    }
    return DRIVERFS_PLUGIN_DIR;
}

bool take_daemon_options(int argc, char** argv, DaemonOptions& out, std::vector<char*>& rest) {
    rest.push_back(argv[0]);
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const char* v = nullptr;
        // 1: `flag` with its value in v; 0: another argument; -1: value missing.
        auto take = [&](const std::string& flag) {
            if (a.rfind(flag + "=", 0) == 0) {
                v = argv[i] + flag.size() + 1;
                return 1;
            }
            if (a != flag) return 0;
            if (i + 1 >= argc) {
                std::fprintf(stderr, "driverfsd: %s needs a value\n", flag.c_str());
                return -1;
            }
            v = argv[++i];
            return 1;
        };
        int got;
        if ((got = take("--plugin-dir")) != 0) {
            if (got < 0) return false;
            out.plugin_dir = v;
        } else if ((got = take("--load")) != 0) {
            if (got < 0) return false;
            out.load.emplace_back(v);
        } else if ((got = take("--control")) != 0) {
            if (got < 0) return false;
            out.control = v;
        } else if ((got = take("--config")) != 0) {
            if (got < 0) return false;
            out.config.emplace_back(v);
        } else if (a == "--udev-netlink") {
            out.udev.netlink = true;
        } else if ((got = take("--udev-db")) != 0) {
            if (got < 0) return false;
            out.udev.database = v;
        } else if ((got = take("--unload-timeout")) != 0) {
            if (got < 0) return false;
            char* end;
            double secs = std::strtod(v, &end);
            if (*end || secs <= 0 || secs > 3600) {
                std::fprintf(stderr, "driverfsd: --unload-timeout takes seconds, more than 0 and at most 3600\n");
                return false;
            }
            out.unload_timeout_ms = static_cast<long>(secs * 1000);
        } else {
            rest.push_back(argv[i]);
        }
    }
    return true;
}

bool take_cache_timeouts(fuse_args* args, driverfs::fuse::CacheTimeouts& out) {
    static const fuse_opt spec[] = {
        {"entry_timeout=%lf", offsetof(driverfs::fuse::CacheTimeouts, entry), 0},
        {"attr_timeout=%lf", offsetof(driverfs::fuse::CacheTimeouts, attr), 0},
        FUSE_OPT_END,
    };
    if (fuse_opt_parse(args, &out, spec, nullptr) != 0) return false;
    for (double t : {out.entry, out.attr}) {
        if (!(t >= 0 && t <= 86400)) {
            std::fprintf(stderr, "driverfsd: entry_timeout and attr_timeout take seconds from 0 to 86400\n");
            return false;
        }
    }
    return true;
}

}  // namespace driverfs::daemon
