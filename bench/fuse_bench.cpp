// fuse_bench: reads of one small file through FUSE, timed per operation.
//
//   fuse_bench FILE [--seconds S] [--threads T] [--mode openread|pread]
//
// openread: each thread loops open(O_RDONLY) + read(4096) + close.
// pread:    each thread opens FILE once and loops pread(fd, 4096, 0).
// Every operation is timed with steady_clock; the latencies of all threads
// are sorted for p50/p99. Prints one line of key=value pairs:
//   mode=pread threads=2 seconds=2.000 ops=123456 ops_per_s=61728 p50_us=30.1 p99_us=55.2
// Every read must return the same non-empty content as the first one, or the
// run fails (exit 1): a benchmark of errors measures nothing. Each thread
// does at least one operation however late it starts: on a loaded machine a
// short run (the smoke test's warm-up is 0.1 s) could otherwise end before
// any thread was scheduled and report nothing done.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Worker {
    std::vector<uint32_t> lat_ns;  // per-op latency, saturated at ~4.29 s
    std::string error;
    uint64_t ops = 0;
};

[[noreturn]] void usage(const char* argv0) {
    std::fprintf(stderr, "usage: %s FILE [--seconds S] [--threads T] [--mode openread|pread]\n", argv0);
    std::exit(2);
}

std::string read_once(const char* path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return {};
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

void run(Worker& w, const char* path, bool openread, Clock::time_point end, const std::string& expect,
         std::atomic<bool>& failed) {
    char buf[4096];
    int fd = -1;
    if (!openread) {
        fd = open(path, O_RDONLY);
        if (fd < 0) {
            w.error = std::string("open: ") + std::strerror(errno);
            failed = true;
            return;
        }
    }
    w.lat_ns.reserve(1 << 20);
    for (;;) {
        const Clock::time_point t0 = Clock::now();
        if ((t0 >= end && w.ops > 0) || failed.load(std::memory_order_relaxed)) break;
        ssize_t n;
        if (openread) {
            int f = open(path, O_RDONLY);
            if (f < 0) {
                w.error = std::string("open: ") + std::strerror(errno);
                break;
            }
            n = read(f, buf, sizeof buf);
            int saved = errno;
            if (close(f) != 0 && n >= 0) {
                w.error = std::string("close: ") + std::strerror(errno);
                break;
            }
            errno = saved;
        } else {
            n = pread(fd, buf, sizeof buf, 0);
        }
        const Clock::time_point t1 = Clock::now();
        if (n < 0) {
            w.error = std::string("read: ") + std::strerror(errno);
            break;
        }
        if (static_cast<size_t>(n) != expect.size() || std::memcmp(buf, expect.data(), expect.size()) != 0) {
            w.error = "read returned different content (" + std::to_string(n) + " bytes)";
            break;
        }
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
        w.lat_ns.push_back(ns > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(ns));
        ++w.ops;
    }
    if (!w.error.empty()) failed = true;
    if (fd >= 0) close(fd);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argv[1][0] == '-') usage(argv[0]);
    const char* path = argv[1];
    double seconds = 2.0;
    int threads = 1;
    std::string mode = "openread";
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        if (i + 1 >= argc) usage(argv[0]);
        if (a == "--seconds") seconds = std::atof(argv[++i]);
        else if (a == "--threads") threads = std::atoi(argv[++i]);
        else if (a == "--mode") mode = argv[++i];
        else usage(argv[0]);
    }
    if (seconds <= 0 || threads < 1 || threads > 256 || (mode != "openread" && mode != "pread")) usage(argv[0]);

    const std::string expect = read_once(path);
    if (expect.empty()) {
        std::fprintf(stderr, "fuse_bench: %s: cannot read it or it is empty: %s\n", path, std::strerror(errno));
        return 1;
    }

    std::vector<Worker> workers(static_cast<size_t>(threads));
    std::vector<std::thread> pool;
    std::atomic<bool> failed{false};
    const Clock::time_point start = Clock::now();
    const Clock::time_point end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    for (auto& w : workers) pool.emplace_back(run, std::ref(w), path, mode == "openread", end, std::cref(expect), std::ref(failed));
    for (auto& t : pool) t.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

    std::vector<uint32_t> all;
    uint64_t ops = 0;
    for (auto& w : workers) {
        if (!w.error.empty()) {
            std::fprintf(stderr, "fuse_bench: %s: %s\n", path, w.error.c_str());
            return 1;
        }
        ops += w.ops;
        all.insert(all.end(), w.lat_ns.begin(), w.lat_ns.end());
    }
    if (all.empty()) {
        std::fprintf(stderr, "fuse_bench: no operation completed\n");
        return 1;
    }
    auto pct = [&](double p) {
        size_t k = static_cast<size_t>(p * static_cast<double>(all.size() - 1));
        std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end());
        return all[k] / 1000.0;
    };
    const double p50 = pct(0.50), p99 = pct(0.99);
    std::printf("mode=%s threads=%d seconds=%.3f ops=%llu ops_per_s=%.0f p50_us=%.2f p99_us=%.2f\n", mode.c_str(),
                threads, elapsed, static_cast<unsigned long long>(ops), static_cast<double>(ops) / elapsed, p50, p99);
    return 0;
}
