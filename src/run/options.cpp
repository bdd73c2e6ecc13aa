// driverfs-run's command line and exit statuses.
#include "options.hpp"

#include <cstdio>

#include "driverfs_run_config.h"

namespace driverfs::run {
namespace {

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: driverfs-run [options] [--] COMMAND [ARG]...\n"
                 "\n"
                 "Run COMMAND with a fresh driverfs mounted over /sys, in private mount and network\n"
                 "namespaces. COMMAND finds the daemon's control socket in $DRIVERFS_SOCKET\n"
                 "(driverfsctl uses it), libudev listeners receive its uevents, and /run/udev holds\n"
                 "the devices' udev properties.\n"
                 "\n"
                 "    --config FILE          device description to apply (driverfsd --config)\n"
                 "    --device FILE          a description of declarative devices (the JSON\n"
                 "                           driverfsctl record writes) to apply too; repeatable\n"
                 "    --plugin-dir DIR       where plugin names are looked up\n"
                 "    --load NAME|PATH       load a plugin first (repeatable)\n"
                 "    -h, --help             this text\n"
                 "    -V, --version          version\n"
                 "\n"
                 "Exit status: COMMAND's (128+N if signal N killed it), 127 if it cannot be run,\n"
                 "2 for a usage error, 1 if the tree cannot be set up. See driverfs-run(1).\n");
}

int usage_error(const std::string& msg) {
    std::fprintf(stderr, "driverfs-run: %s (see driverfs-run --help)\n", msg.c_str());
    return kUsage;
}

}  // namespace

int parse_args(int argc, char** argv, RunOptions& out) {
    int i = 1;
    for (; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--") {
            ++i;
            break;
        }
        if (a == "-h" || a == "--help") {
            usage(stdout);
            return 0;
        }
        if (a == "-V" || a == "--version") {
            std::printf("driverfs-run %s\n", DRIVERFS_VERSION);
            return 0;
        }
        if (a.empty() || a[0] != '-') break;  // COMMAND starts here
        std::string flag = a, value;
        if (auto eq = a.find('='); eq != std::string::npos) {
            flag = a.substr(0, eq);
            value = a.substr(eq + 1);
        } else if (flag == "--config" || flag == "--device" || flag == "--plugin-dir" || flag == "--load") {
            if (i + 1 >= argc) return usage_error(flag + " needs a value");
            value = argv[++i];
        }
        if (flag == "--config") out.config = value;
        else if (flag == "--device") out.devices.push_back(value);
        else if (flag == "--plugin-dir") out.plugin_dir = value;
        else if (flag == "--load") out.load.push_back(value);
        else return usage_error("unknown option " + a);
        if (value.empty()) return usage_error(flag + " needs a value");
    }
    if (i >= argc) return usage_error("no command given");
    for (; i < argc; ++i) out.command.push_back(argv[i]);
    out.command.push_back(nullptr);
    return -1;
}

}  // namespace driverfs::run
