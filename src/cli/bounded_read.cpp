// The forked reader behind bounded_read(): why a child and not a thread? A
// thread stuck in a sysfs read() that never returns keeps the whole process
// from exiting; an abandoned child does not.
#include "bounded_read.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

namespace driverfs::cli {

namespace {

std::vector<pid_t> g_abandoned;

long long now_ms() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

// In the child: only async-signal-safe calls, into a buffer the parent made.
[[noreturn]] void child_read(const char* path, char* buf, size_t cap, int out) {
    int32_t err = 0;
    size_t got = 0;
    const int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        err = errno;
    } else {
        while (got < cap) {
            const ssize_t n = read(fd, buf + got, cap - got);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                err = errno;
                break;
            }
            if (n == 0) break;
            got += static_cast<size_t>(n);
        }
    }
    // The errno first, then the bytes: the parent reads to end of file.
    auto put = [&](const char* p, size_t len) {
        while (len > 0) {
            const ssize_t n = write(out, p, len);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) _exit(1);
            p += n;
            len -= static_cast<size_t>(n);
        }
    };
    put(reinterpret_cast<const char*>(&err), sizeof err);
    if (err == 0) put(buf, got);
    _exit(0);
}

}  // namespace

BoundedRead bounded_read(const std::string& path, size_t limit, int timeout_ms) {
    BoundedRead r;
    std::vector<char> buf(limit + 1);  // one more byte tells "too large" from "exactly limit"
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        r.error = errno;
        return r;
    }
    const pid_t pid = fork();
    if (pid < 0) {
        r.error = errno;
        close(p[0]);
        close(p[1]);
        return r;
    }
    if (pid == 0) {
        close(p[0]);
        child_read(path.c_str(), buf.data(), buf.size(), p[1]);
    }
    close(p[1]);
    std::string got;
    const long long deadline = now_ms() + timeout_ms;
    bool eof = false;
    while (!eof) {
        const long long left = deadline - now_ms();
        if (left <= 0) break;
        pollfd pfd{p[0], POLLIN, 0};
        const int n = poll(&pfd, 1, static_cast<int>(left));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        char chunk[16384];
        const ssize_t k = read(p[0], chunk, sizeof chunk);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) eof = true;
        else got.append(chunk, static_cast<size_t>(k));
    }
    close(p[0]);
    if (!eof) {
        kill(pid, SIGKILL);
        if (waitpid(pid, nullptr, WNOHANG) != pid) g_abandoned.push_back(pid);
        r.kind = BoundedRead::kTimeout;
        return r;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    int32_t err = 0;
    if (got.size() < sizeof err || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        r.error = EIO;  // the child died before it could answer
        return r;
    }
    std::memcpy(&err, got.data(), sizeof err);
    if (err != 0) {
        r.error = err;
        return r;
    }
    r.data = got.substr(sizeof err);
    if (r.data.size() > limit) {
        r.kind = BoundedRead::kTooLarge;
        r.data.clear();
        return r;
    }
    r.kind = BoundedRead::kOk;
    return r;
}

int reap_abandoned_readers(int grace_ms) {
    // SIGKILL ends a child blocked in an interruptible wait (a FIFO, most
    // sysfs reads) at once, but not instantly; one in an uninterruptible
    // sleep stays until the kernel lets it go, and we do not wait for that.
    const long long until = now_ms() + grace_ms;
    for (;;) {
        std::vector<pid_t> alive;
        for (pid_t pid : g_abandoned)
            if (waitpid(pid, nullptr, WNOHANG) != pid) alive.push_back(pid);
        g_abandoned.swap(alive);
        if (g_abandoned.empty() || now_ms() >= until) break;
        usleep(10000);
    }
    return static_cast<int>(g_abandoned.size());
}

}  // namespace driverfs::cli
