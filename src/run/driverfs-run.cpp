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
#include <sched.h>
#include <signal.h>
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

#include "core/error.hpp"
#include "driverfs_run_config.h"
#include "locate.hpp"
#include "options.hpp"
#include "sandbox.hpp"

using driverfs::Error;
using driverfs::Result;
using driverfs::Status;
using namespace driverfs::run;

namespace {

constexpr long kFuseSuperMagic = 0x65735546;

// How long the daemon may take to mount, and to exit once told to. Generous:
// on a loaded machine loading five plugins can take seconds.
constexpr auto kMountTimeout = std::chrono::seconds(60);
constexpr auto kStopTimeout = std::chrono::seconds(15);

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
    // Applied by the daemon with its udev front end already subscribed, so
    // /run/udev holds them before COMMAND starts.
    for (const std::string& d : opts.devices) args.insert(args.end(), {"--config", d});
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
