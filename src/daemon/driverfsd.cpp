// driverfsd: parse the command line, build the core, mount, serve, clean up.
#include <malloc.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/config.hpp"
#include "daemonize.hpp"
#include "core/core.hpp"
#include "core/log.hpp"
#include "control/protocol.hpp"
#include "driverfs_config.h"
#include "fuse/fs.hpp"
#include "mount_point.hpp"
#include "options.hpp"
#include "control/server.hpp"
#include "udev/udev.hpp"

namespace {

// glibc gives a thread that finds every arena locked a new arena, up to
// eight per core, and keeps it for the life of the process. libfuse's workers
// (up to ten), the control threads and the notifier meet in malloc often
// enough under a sustained stress that the daemon's RSS crept up for minutes
// with no leak at all: a 16th arena appeared after 300 s, about 380 kB. No more
// threads than there are cores can be inside malloc at once, so two arenas
// per core still keep them apart; bench/README.md measures the read path both
// ways. A limit the user set (MALLOC_ARENA_MAX, GLIBC_TUNABLES) stays theirs.
void bound_malloc_arenas() {
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    if (std::getenv("MALLOC_ARENA_MAX") != nullptr ||
        (tunables != nullptr && std::strstr(tunables, "arena_max") != nullptr))
        return;
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    mallopt(M_ARENA_MAX, static_cast<int>(2 * (cores > 0 ? cores : 1)));
}

}  // namespace

using namespace driverfs::daemon;

int main(int argc, char** argv) {
    bound_malloc_arenas();
    DaemonOptions dopts;
    std::vector<char*> fuse_argv;
    if (!take_daemon_options(argc, argv, dopts, fuse_argv)) return 2;
    static char defaults[] = "-odefault_permissions,fsname=driverfs,subtype=driverfs";
    fuse_argv.push_back(defaults);
    fuse_args args = FUSE_ARGS_INIT(static_cast<int>(fuse_argv.size()), fuse_argv.data());
    fuse_cmdline_opts opts{};
    driverfs::fuse::CacheTimeouts timeouts;
    if (fuse_parse_cmdline(&args, &opts) != 0 || !take_cache_timeouts(&args, timeouts)) {
        free(opts.mountpoint);
        fuse_opt_free_args(&args);
        return 2;
    }
    if (opts.show_help || opts.show_version || !opts.mountpoint) {
        int rc = 0;
        if (opts.show_help) {
            print_usage(argv[0]);
            std::fflush(stdout);
            fuse_lowlevel_help();
        } else if (opts.show_version) {
            std::printf("driverfsd %s (plugin ABI %u)\n", DRIVERFS_VERSION, DRIVERFS_ABI_VERSION);
            std::fflush(stdout);
            fuse_lowlevel_version();
        } else {
            std::fprintf(stderr, "driverfsd: no mount point given (see driverfsd --help)\n");
            rc = 2;
        }
        free(opts.mountpoint);
        fuse_opt_free_args(&args);
        return rc;
    }
    std::string mountpoint = opts.mountpoint;
    free(opts.mountpoint);
    const std::string default_control =
        driverfs::protocol::default_socket_path(mountpoint, geteuid(), getenv("XDG_RUNTIME_DIR"));
    if (auto st = check_mountpoint(mountpoint, default_control); !st) {
        std::fprintf(stderr, "driverfsd: %s (%s)\n", st.error().message.c_str(),
                     driverfs::protocol::errno_name(st.error().code).c_str());
        fuse_opt_free_args(&args);
        // A path that names no directory is a wrong argument, like one that
        // does not exist (which libfuse already refuses with status 2).
        return st.error().code == ENOTDIR || st.error().code == ENOENT ? 2 : 1;
    }

    // Checked before forking, so a bad file is reported on the terminal and
    // nothing is mounted; applied once the core exists.
    std::vector<driverfs::control::ConfigSpec> configs;
    for (const std::string& file : dopts.config) {
        auto spec = driverfs::control::load_config_file(file);
        if (!spec) {
            std::fprintf(stderr, "driverfsd: --config: %s\n", spec.error().message.c_str());
            fuse_opt_free_args(&args);
            return 1;
        }
        configs.push_back(std::move(spec.value()));
    }
    std::string control_path = dopts.control;
    if (control_path.empty()) {
        control_path = default_control;
    } else if (control_path[0] != '/') {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd)) control_path = std::string(cwd) + "/" + control_path;  // we chdir("/") later
    }

    if (!opts.foreground) {
        daemonize();
        // No syslog socket (a container, an initramfs): stderr stays the
        // sink; `driverfsctl log` has the recent messages either way.
        struct stat log_st;
        if (stat("/dev/log", &log_st) == 0 && S_ISSOCK(log_st.st_mode)) {
            openlog("driverfsd", LOG_PID, LOG_DAEMON);
            driverfs::set_log_sink([](driverfs::LogLevel level, std::string_view msg) {
                syslog(static_cast<int>(level), "%.*s", static_cast<int>(msg.size()), msg.data());
            });
        }
    }
    if (opts.debug) driverfs::set_log_threshold(driverfs::LogLevel::debug);

    driverfs::CoreOptions copts;
    copts.plugin_dir = dopts.plugin_dir.empty() ? default_plugin_dir() : dopts.plugin_dir;
    copts.unload_timeout = std::chrono::milliseconds(dopts.unload_timeout_ms);
    driverfs::Core core(copts);
    // Subscribed before anything loads, so the database holds every device.
    std::unique_ptr<driverfs::udev::FrontEnd> udev;
    if (dopts.udev.netlink || !dopts.udev.database.empty()) {
        auto started = driverfs::udev::FrontEnd::start(core.events(), dopts.udev);
        if (!started) {
            std::fprintf(stderr, "driverfsd: %s\n", started.error().message.c_str());
            report_ready(1);
            return 1;
        }
        udev = std::move(started.value());
    }
    for (const std::string& name : dopts.load) {
        driverfs::Result<std::string> r = core.load_plugin(name);
        if (!r) {
            std::fprintf(stderr, "driverfsd: --load %s: %s\n", name.c_str(), r.error().message.c_str());
            report_ready(1);
            return 1;
        }
    }

    for (size_t i = 0; i < configs.size(); ++i) {
        auto applied = driverfs::control::apply_config(core, configs[i]);
        if (!applied) {
            std::fprintf(stderr, "driverfsd: --config %s: %s\n", dopts.config[i].c_str(), applied.error().message.c_str());
            core.shutdown();
            report_ready(1);
            return 1;
        }
    }

    // The control socket lives exactly as long as the mount loop.
    driverfs::control::Server server(core, control_path);
    if (auto st = server.start(); !st) {
        // An explicit --control must work; the default one is a convenience
        // and its absence (no writable runtime dir) must not stop a mount.
        if (!dopts.control.empty()) {
            std::fprintf(stderr, "driverfsd: %s\n", st.error().message.c_str());
            core.shutdown();
            report_ready(1);
            return 1;
        }
        driverfs::log(driverfs::LogLevel::warning, "no control socket: " + st.error().message);
    }

    if (udev) udev->wait_idle();

    int rc;
    {
        driverfs::fuse::Fs fs(core, timeouts);
        rc = fs.serve(&args, mountpoint, opts, [] { report_ready(0); });
    }
    report_ready(1);  // no-op once ready was reported
    // Unmounted: unload every plugin cleanly, newest first, while monitors
    // are still connected to see it; no new request can start meanwhile.
    server.stop_requests();
    core.shutdown();
    server.stop();  // the monitors' last events, then it joins its threads and removes the socket
    udev.reset();  // before the core's event queue goes
    fuse_opt_free_args(&args);
    return rc;
}
