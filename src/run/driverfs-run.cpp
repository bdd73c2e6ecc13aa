// driverfs-run: run a program with a fresh driverfs as its /sys.
//
// Three places, so that the daemon never reads through the /sys it serves:
//   * driverfs-run and driverfsd share namespace A (private mounts, private
//     network with only loopback). driverfsd mounts on STATE/sys, a tmpfs
//     directory; its own /sys stays the host's, so a plugin that reads
//     /sys/class/thermal reads the real one and cannot deadlock on itself.
//   * COMMAND gets namespace B, a copy of A's mounts where STATE/sys is bound
//     over /sys and STATE/udev (the daemon's udev database) over /run/udev.
//     It shares A's network namespace, so the daemon's netlink uevents reach
//     its libudev listeners and nobody else's.
//   * The host sees none of it: every mount lives in A or B and goes with them.
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "driverfs/error.hpp"
#include "driverfs_run_config.h"

using driverfs::Error;
using driverfs::Result;
using driverfs::Status;

namespace {

constexpr int kSetupFailed = 1;
constexpr int kUsage = 2;
constexpr int kCannotRun = 127;
constexpr long kFuseSuperMagic = 0x65735546;

// How long the daemon may take to mount, and to exit once told to. Generous:
// on a loaded machine loading five plugins can take seconds.
constexpr auto kMountTimeout = std::chrono::seconds(60);
constexpr auto kStopTimeout = std::chrono::seconds(15);

struct RunOptions {
    std::string config;
    std::string plugin_dir;
    std::vector<std::string> load;
    std::vector<char*> command;  // NULL-terminated once parsed
};

Error sys_error(const std::string& what) { return Error::of(errno, what + ": " + std::strerror(errno)); }

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

// Returns -1 to go on, else the exit status.
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
        } else if (flag == "--config" || flag == "--plugin-dir" || flag == "--load") {
            if (i + 1 >= argc) return usage_error(flag + " needs a value");
            value = argv[++i];
        }
        if (flag == "--config") out.config = value;
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

std::string dir_of_self() {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return "";
    exe[n] = '\0';
    std::string s(exe);
    return s.substr(0, s.rfind('/'));
}

bool under_build_root(const std::string& dir) {
    const std::string root = DRIVERFS_RUN_BUILD_ROOT;
    return dir.compare(0, root.size(), root) == 0 && (dir.size() == root.size() || dir[root.size()] == '/');
}

// From the build tree, the daemon and the library built beside us; installed,
// the ones installed with us (found relative to our own directory first, so
// a DESTDIR copy uses its own), else the configured paths.
Result<std::string> find_file(const char* what, const std::vector<std::string>& candidates) {
    for (const std::string& c : candidates)
        if (access(c.c_str(), R_OK) == 0) return c;
    std::string tried;
    for (const std::string& c : candidates) tried += (tried.empty() ? "" : ", ") + c;
    return Error::of(ENOENT, std::string("cannot find ") + what + " (looked at " + tried + "); is driverfs installed?");
}

Result<std::string> find_daemon(const std::string& self) {
    if (under_build_root(self)) return find_file("driverfsd", {DRIVERFS_RUN_BUILD_DAEMON});
    return find_file("driverfsd", {self + "/driverfsd", self + "/../" DRIVERFS_RUN_SBINDIR "/driverfsd",
                                   DRIVERFS_RUN_DAEMON});
}

Result<std::string> find_preload(const std::string& self) {
    if (under_build_root(self)) return find_file("the sysfs preload library", {DRIVERFS_RUN_BUILD_PRELOAD});
    return find_file("the sysfs preload library",
                     {self + "/../" DRIVERFS_RUN_LIBDIR "/driverfs/" DRIVERFS_RUN_PRELOAD_NAME, DRIVERFS_RUN_PRELOAD});
}

Status write_file(const std::string& path, const std::string& text) {
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return sys_error("open " + path);
    ssize_t n = write(fd, text.data(), text.size());
    int e = errno;
    close(fd);
    if (n != static_cast<ssize_t>(text.size())) {
        errno = n < 0 ? e : EIO;
        return sys_error("write " + path);
    }
    return {};
}

// Namespace A. Without root, a user namespace maps us to its root, which is
// what mounting FUSE and tmpfs and sending netlink multicast need.
Status enter_namespaces() {
    const uid_t uid = geteuid();
    const gid_t gid = getegid();
    int flags = CLONE_NEWNS | CLONE_NEWNET;
    if (uid != 0) flags |= CLONE_NEWUSER;
    if (unshare(flags) != 0) {
        Error e = sys_error(uid != 0 ? "unshare(user, mount, network namespaces)" : "unshare(mount, network namespaces)");
        if (uid != 0)
            e.message += "; this kernel may forbid unprivileged user namespaces "
                         "(sysctl kernel.unprivileged_userns_clone / user.max_user_namespaces): run as root";
        return e;
    }
    if (uid != 0) {
        if (Status s = write_file("/proc/self/setgroups", "deny"); !s) return s;
        if (Status s = write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1"); !s) return s;
        if (Status s = write_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1"); !s) return s;
    }
    // Nothing we mount may leak back to the host through shared propagation.
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return sys_error("make / private");
    return {};
}

// A fresh network namespace has lo down; programs under test may want it.
Status loopback_up() {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return sys_error("socket for lo");
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    Status st;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) st = sys_error("get lo flags");
    else {
        ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) st = sys_error("bring lo up");
    }
    close(fd);
    return st;
}

// Everything of one run under one tmpfs: unmounting it removes it all.
struct State {
    std::string dir;       // the tmpfs
    bool mounted = false;  // tmpfs on dir
    std::string sys() const { return dir + "/sys"; }
    std::string udev() const { return dir + "/udev"; }
    std::string socket() const { return dir + "/control.sock"; }
    std::string log() const { return dir + "/driverfsd.log"; }
};

Status make_state(State& st) {
    const char* tmp = getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp == '/' ? tmp : "/tmp") + "/driverfs-run.XXXXXX";
    if (!mkdtemp(templ.data())) return sys_error("mkdtemp " + templ);
    st.dir = templ;
    if (mount("driverfs-run", st.dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") != 0)
        return sys_error("mount a tmpfs on " + st.dir);
    st.mounted = true;
    for (const std::string& d : {st.sys(), st.udev()})
        if (mkdir(d.c_str(), 0755) != 0) return sys_error("mkdir " + d);
    // COMMAND's /run/udev is bound over this directory; the host may have
    // none (no udevd running). It is left in place afterwards, empty: another
    // run may be using it as its mount point, and then it cannot be removed.
    if (mkdir("/run/udev", 0755) != 0 && errno != EEXIST)
        return sys_error("mkdir /run/udev (needed as the place of COMMAND's udev database)");
    return {};
}

void remove_state(State& st) {
    if (st.mounted) {
        umount2(st.sys().c_str(), MNT_DETACH);  // normally gone with the daemon already
        if (umount2(st.dir.c_str(), MNT_DETACH) != 0)
            std::fprintf(stderr, "driverfs-run: unmount %s: %s\n", st.dir.c_str(), std::strerror(errno));
    }
    if (!st.dir.empty() && rmdir(st.dir.c_str()) != 0)
        std::fprintf(stderr, "driverfs-run: remove %s: %s\n", st.dir.c_str(), std::strerror(errno));
}

// In a child: die with driverfs-run, even on SIGKILL, so nothing outlives it.
void die_with_parent(int sig, pid_t parent) {
    prctl(PR_SET_PDEATHSIG, sig);
    if (getppid() != parent) _exit(kSetupFailed);
}

sigset_t forwarded_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) sigaddset(&set, s);
    return set;
}

void unblock_all_signals() {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
}

Result<pid_t> start_daemon(const std::string& daemon, const RunOptions& opts, const State& st) {
    std::vector<std::string> args = {daemon, "-f", "--control", st.socket(), "--udev-netlink", "--udev-db", st.udev()};
    if (!opts.config.empty()) args.insert(args.end(), {"--config", opts.config});
    if (!opts.plugin_dir.empty()) args.insert(args.end(), {"--plugin-dir", opts.plugin_dir});
    for (const std::string& l : opts.load) args.insert(args.end(), {"--load", l});
    args.push_back(st.sys());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return sys_error("fork for driverfsd");
    if (pid == 0) {
        die_with_parent(SIGTERM, parent);
        // Its own process group: a ^C on the terminal is for COMMAND, and the
        // daemon must outlive COMMAND's reaction to it.
        setpgid(0, 0);
        // In the foreground the daemon logs every load and bind to stderr:
        // keep that out of COMMAND's output; show it when the daemon fails.
        int log = open(st.log().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (log >= 0) {
            dup2(log, STDOUT_FILENO);
            dup2(log, STDERR_FILENO);
        }
        unblock_all_signals();
        execv(argv[0], argv.data());
        std::fprintf(stderr, "driverfs-run: cannot run %s: %s\n", argv[0], std::strerror(errno));
        _exit(kSetupFailed);
    }
    return pid;
}

// Mounted once STATE/sys answers as a FUSE file system. Polls (bounded): the
// daemon in the foreground has no readiness pipe, and its early exit (a bad
// --config) is what we must tell apart from slowness.
Status wait_mounted(pid_t daemon, const State& st, bool& exited) {
    const auto deadline = std::chrono::steady_clock::now() + kMountTimeout;
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
        int ws;
        pid_t r = waitpid(daemon, &ws, WNOHANG);
        if (r == daemon) {
            exited = true;
            if (WIFEXITED(ws))
                return Error::of(EIO, "driverfsd exited with status " + std::to_string(WEXITSTATUS(ws)) +
                                          " before mounting (its log is above)");
            return Error::of(EIO, "driverfsd was killed by signal " + std::to_string(WTERMSIG(ws)) + " before mounting");
        }
        struct statfs sfs{};
        if (statfs(st.sys().c_str(), &sfs) == 0 && sfs.f_type == kFuseSuperMagic) return {};
        if (std::chrono::steady_clock::now() > deadline)
            return Error::of(ETIMEDOUT, "driverfsd did not mount within " +
                                            std::to_string(std::chrono::seconds(kMountTimeout).count()) + " s");
        std::this_thread::sleep_for(pause);
        if (pause < std::chrono::milliseconds(50)) pause *= 2;
    }
}

// The daemon's log, on our stderr: it holds the reason of a failure.
void show_daemon_log(const State& st) {
    FILE* f = std::fopen(st.log().c_str(), "r");
    if (!f) return;
    char line[1024];
    while (std::fgets(line, sizeof line, f)) std::fputs(line, stderr);
    std::fclose(f);
}

// Stops the daemon; returns false if it failed (its log is then shown).
bool stop_daemon(pid_t daemon) {
    kill(daemon, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
    for (;;) {
        int ws;
        pid_t r = waitpid(daemon, &ws, WNOHANG);
        if (r == daemon) return WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
        if (r < 0 && errno == ECHILD) return true;
        if (std::chrono::steady_clock::now() > deadline) {
            std::fprintf(stderr, "driverfs-run: driverfsd did not stop within %lld s of SIGTERM; killing it\n",
                         static_cast<long long>(std::chrono::seconds(kStopTimeout).count()));
            kill(daemon, SIGKILL);
            waitpid(daemon, &ws, 0);
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

// What the child reports through its close-on-exec pipe when it fails.
struct ChildFailure {
    int status;  // our exit status: 1 setup, 127 exec
    int err;
    char what[200];
};

[[noreturn]] void child_fail(int pipe_fd, int status, const std::string& what) {
    ChildFailure f{status, errno, {}};
    std::snprintf(f.what, sizeof f.what, "%s", what.c_str());
    (void)!write(pipe_fd, &f, sizeof f);
    _exit(status);
}

// Namespace B, then exec. Returns the child's pid, or the exit status the
// failure calls for (with the reason printed).
Result<pid_t> start_command(const RunOptions& opts, const State& st, const std::string& preload, int& failed_status) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return sys_error("pipe");
    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return sys_error("fork for COMMAND");
    }
    if (pid == 0) {
        close(p[0]);
        die_with_parent(SIGKILL, parent);
        if (unshare(CLONE_NEWNS) != 0) child_fail(p[1], kSetupFailed, "unshare(mount namespace) for COMMAND");
        if (mount(st.sys().c_str(), "/sys", nullptr, MS_BIND, nullptr) != 0)
            child_fail(p[1], kSetupFailed, "bind " + st.sys() + " over /sys");
        if (mount(st.udev().c_str(), "/run/udev", nullptr, MS_BIND, nullptr) != 0)
            child_fail(p[1], kSetupFailed, "bind " + st.udev() + " over /run/udev");
        std::string ld = preload;
        if (const char* old = getenv("LD_PRELOAD"); old && *old) ld = std::string(old) + ":" + preload;
        setenv("LD_PRELOAD", ld.c_str(), 1);
        setenv("DRIVERFS_SYSFS_ROOT", "/sys", 1);
        setenv("DRIVERFS_SOCKET", st.socket().c_str(), 1);
        unblock_all_signals();
        execvp(opts.command[0], opts.command.data());
        child_fail(p[1], kCannotRun, std::string("cannot run ") + opts.command[0]);
    }
    close(p[1]);
    ChildFailure f{};
    ssize_t n;
    do n = read(p[0], &f, sizeof f);
    while (n < 0 && errno == EINTR);
    close(p[0]);
    if (n == static_cast<ssize_t>(sizeof f)) {
        int ws;
        waitpid(pid, &ws, 0);
        failed_status = f.status;
        f.what[sizeof f.what - 1] = '\0';
        return Error::of(f.err, std::string(f.what) + ": " + std::strerror(f.err));
    }
    return pid;
}

volatile sig_atomic_t g_command_pid = 0;

// Signals sent to driverfs-run (kill, a supervisor, a test) go to COMMAND.
// A terminal's ^C (si_code SI_KERNEL) already reached COMMAND, which is in
// our process group: passing it on again would deliver it twice.
void forward_signal(int sig, siginfo_t* info, void*) {
    if (info && info->si_code == SI_KERNEL) return;
    if (g_command_pid > 0) kill(g_command_pid, sig);
}

int wait_command(pid_t command, pid_t daemon, const State& st, bool& daemon_reaped) {
    for (;;) {
        int ws;
        pid_t r = waitpid(-1, &ws, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            std::fprintf(stderr, "driverfs-run: waitpid: %s\n", std::strerror(errno));
            return kSetupFailed;
        }
        if (r == daemon) {
            daemon_reaped = true;
            std::fprintf(stderr, "driverfs-run: driverfsd exited while COMMAND runs; /sys no longer answers\n");
            show_daemon_log(st);
            continue;
        }
        if (r != command) continue;
        if (WIFEXITED(ws)) return WEXITSTATUS(ws);
        if (WIFSIGNALED(ws)) return 128 + WTERMSIG(ws);
    }
}

}  // namespace

int main(int argc, char** argv) {
    RunOptions opts;
    if (int rc = parse_args(argc, argv, opts); rc >= 0) return rc;

    const std::string self = dir_of_self();
    Result<std::string> daemon = find_daemon(self);
    Result<std::string> preload = daemon ? find_preload(self) : Result<std::string>(daemon.error());
    if (!preload) {
        std::fprintf(stderr, "driverfs-run: %s\n", preload.error().message.c_str());
        return kSetupFailed;
    }

    // Until COMMAND runs, a signal must not leave half a setup behind: hold
    // them, and let the pending ones through to COMMAND once it exists.
    sigset_t held = forwarded_signals();
    sigprocmask(SIG_BLOCK, &held, nullptr);

    State st;
    pid_t daemon_pid = -1;
    bool daemon_reaped = false;
    int status = kSetupFailed;
    Status setup = enter_namespaces();
    if (setup) setup = loopback_up();
    if (setup) setup = make_state(st);
    if (setup) {
        Result<pid_t> d = start_daemon(daemon.value(), opts, st);
        if (d) {
            daemon_pid = d.value();
            setup = wait_mounted(daemon_pid, st, daemon_reaped);
        } else {
            setup = d.error();
        }
    }
    if (!setup) {
        if (daemon_pid > 0) show_daemon_log(st);
        std::fprintf(stderr, "driverfs-run: %s\n", setup.error().message.c_str());
    } else {
        Result<pid_t> cmd = start_command(opts, st, preload.value(), status);
        if (!cmd) {
            std::fprintf(stderr, "driverfs-run: %s\n", cmd.error().message.c_str());
        } else {
            g_command_pid = cmd.value();
            struct sigaction sa{};
            sa.sa_sigaction = forward_signal;
            sa.sa_flags = SA_SIGINFO | SA_RESTART;
            sigemptyset(&sa.sa_mask);
            for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) sigaction(s, &sa, nullptr);
            sigprocmask(SIG_UNBLOCK, &held, nullptr);
            status = wait_command(cmd.value(), daemon_pid, st, daemon_reaped);
            sigprocmask(SIG_BLOCK, &held, nullptr);
            g_command_pid = 0;
        }
    }
    // A daemon that fails at exit does not change COMMAND's status (the
    // test ran), but its log says what went wrong.
    if (daemon_pid > 0 && !daemon_reaped && !stop_daemon(daemon_pid)) {
        std::fprintf(stderr, "driverfs-run: driverfsd did not exit cleanly; its log:\n");
        show_daemon_log(st);
    }
    remove_state(st);
    return status;
}
