// driverfsd: parse the command line, build the core, mount, serve, clean up.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <climits>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"
#include "driverfs/core.hpp"
#include "driverfs/log.hpp"
#include "driverfs/protocol.hpp"
#include "driverfs_config.h"
#include "fuse/fs.hpp"
#include "server.hpp"
#include "udev.hpp"

namespace {

struct DaemonOptions {
    std::string plugin_dir;
    std::vector<std::string> load;
    long unload_timeout_ms = 5000;
    std::string control;  // socket path; empty: the default for the mount point
    std::string config;   // device description applied before mounting
    driverfs::udev::Options udev;
};

void usage(const char* prog) {
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

// Take our own long options out of argv; the rest goes to libfuse.
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
            out.config = v;
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

// entry_timeout= and attr_timeout= are ours, not libfuse's: take them out of
// the arguments before libfuse sees (and refuses) them.
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

// A field of /proc/self/mountinfo with its octal escapes (\040 for a
// space, ...) decoded, so that it compares equal to a path.
std::string unescape_mountinfo(const std::string& field) {
    std::string out;
    for (size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size() && field[i + 1] >= '0' && field[i + 1] <= '3' &&
            field[i + 2] >= '0' && field[i + 2] <= '7' && field[i + 3] >= '0' && field[i + 3] <= '7') {
            out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0'));
            i += 3;
        } else {
            out += field[i];
        }
    }
    return out;
}

bool driverfs_mounted_at(const std::string& path) {
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
        std::vector<std::string> f;
        size_t pos = 0;
        while (pos <= line.size()) {
            size_t sp = line.find(' ', pos);
            if (sp == std::string::npos) sp = line.size();
            f.push_back(line.substr(pos, sp - pos));
            pos = sp + 1;
        }
        size_t dash = 6;
        while (dash < f.size() && f[dash] != "-") ++dash;
        if (f.size() < 5 || dash + 1 >= f.size()) continue;
        if (f[dash + 1] == "fuse.driverfs" && unescape_mountinfo(f[4]) == path) return true;
    }
    return false;
}

bool socket_answers(const std::string& path) {
    sockaddr_un sa{};
    if (path.size() >= sizeof sa.sun_path) return false;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.c_str(), path.size());
    const bool up = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    close(fd);
    return up;
}

// Checked before anything is built, forked or created, so a refusal leaves
// the system as it was and its message reaches the terminal. Without these
// checks the kernel mounts over a regular file, and a second daemon stacks
// a mount on the first one, hiding it while its daemon keeps running.
// `mountpoint` is absolute: libfuse resolved it with realpath(3).
driverfs::Status check_mountpoint(const std::string& mountpoint, const std::string& default_socket) {
    // /dev/fd/N: a mount already opened by fusermount3 or mount.fuse3
    // (drop_privileges); there is no directory of ours to look at.
    if (mountpoint.rfind("/dev/fd/", 0) == 0) return {};
    struct stat st;
    if (stat(mountpoint.c_str(), &st) != 0) {
        const int e = errno;
        return driverfs::Error::of(e, mountpoint + ": " + std::strerror(e) +
                                           (e == ENOTCONN ? " (a dead FUSE mount: fusermount3 -u it first)" : ""));
    }
    if (!S_ISDIR(st.st_mode))
        return driverfs::Error::of(ENOTDIR, mountpoint + ": not a directory; a driverfs mount point must be a directory");
    if (driverfs_mounted_at(mountpoint))
        return driverfs::Error::of(EBUSY, mountpoint + ": a driverfs is already mounted there; unmount it first "
                                                       "(fusermount3 -u " + mountpoint + ") or pick another mount point");
    if (socket_answers(default_socket))
        return driverfs::Error::of(EBUSY, mountpoint + ": a driverfs daemon for this mount point still answers on " +
                                              default_socket + "; stop it first (driverfsctl --mount " + mountpoint +
                                              " ping gives its pid)");
    return {};
}

// Fork now; the parent waits until the child has mounted (or failed), so
// `driverfsd M && ls M` works. Returns in the child only.
int ready_fd = -1;

void daemonize() {
    int p[2];
    if (pipe(p) != 0) {
        std::perror("driverfsd: pipe");
        std::exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        std::perror("driverfsd: fork");
        std::exit(1);
    }
    if (pid > 0) {
        close(p[1]);
        char status = 1;
        if (read(p[0], &status, 1) != 1) {
            int ws;
            waitpid(pid, &ws, 0);  // the child died before mounting; it said why on stderr
        }
        std::_Exit(status);
    }
    close(p[0]);
    ready_fd = p[1];
    setsid();
}

void report_ready(char status) {
    if (ready_fd < 0) return;
    if (status == 0) {
        // Detach from the terminal only once the parent knows we are up. A
        // stderr that is a regular file stays: with no syslog socket it is
        // where the log goes (and a pipe must close, or a reader of our
        // output would wait for the daemon's end).
        struct stat err_st;
        const bool keep_stderr = fstat(2, &err_st) == 0 && S_ISREG(err_st.st_mode);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            if (!keep_stderr) dup2(null, 2);
            if (null > 2) close(null);
        }
        (void)!chdir("/");
    }
    (void)!write(ready_fd, &status, 1);
    close(ready_fd);
    ready_fd = -1;
}

}  // namespace

int main(int argc, char** argv) {
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
            usage(argv[0]);
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
    std::optional<driverfs::control::ConfigSpec> config;
    if (!dopts.config.empty()) {
        auto spec = driverfs::control::load_config_file(dopts.config);
        if (!spec) {
            std::fprintf(stderr, "driverfsd: --config: %s\n", spec.error().message.c_str());
            fuse_opt_free_args(&args);
            return 1;
        }
        config = std::move(spec.value());
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

    if (config) {
        auto applied = driverfs::control::apply_config(core, *config);
        if (!applied) {
            std::fprintf(stderr, "driverfsd: --config %s: %s\n", dopts.config.c_str(), applied.error().message.c_str());
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
