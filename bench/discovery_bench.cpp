// Discovery and power-walk figures for the core, without FUSE:
//   1. drivers first: load D drivers, then add N devices (each matched
//      against the driver list and bound);
//   2. suspend + resume over the N bound devices (each call pinned);
//   3. devices first: add N devices, then load the D drivers.
// Prints wall times; the targets are in bench/README.md. --rounds R repeats
// the three R times in one process: the first round also pays for the heap's
// first touch of its pages (the kernel's page faults), which later rounds,
// reusing freed memory, do not; compare the two paths within a round after
// the first. --first devices runs the devices-first path first in each
// round, to show which of the two pays for that. Memory is the heap in use
// (mallinfo2: arena and mmapped chunks) grown by the drivers-first adds,
// divided by the devices: everything a bound device costs (its nodes,
// names, indexes and binding), as pin_bench measures heap_per_stub.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <malloc.h>
#include <string>
#include <unistd.h>

#include "core/core.hpp"
#include "core/log.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

void check(const driverfs::Status& s, const char* what) {
    if (!s) {
        std::fprintf(stderr, "%s: %s\n", what, s.error().message.c_str());
        std::exit(1);
    }
}

size_t bound(const driverfs::Core& core) { return core.stats().bound_devices; }

size_t heap_in_use() {
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

}  // namespace

int main(int argc, char** argv) {
    long drivers = 1000, devices = 100000, rounds = 1;
    bool devices_first_first = false;
    std::string plugin;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--drivers") drivers = std::strtol(argv[i + 1], nullptr, 10);
        else if (a == "--devices") devices = std::strtol(argv[i + 1], nullptr, 10);
        else if (a == "--plugin") plugin = argv[i + 1];
        else if (a == "--rounds") rounds = std::strtol(argv[i + 1], nullptr, 10);
        else if (a == "--first") devices_first_first = std::string(argv[i + 1]) == "devices";
    }
    if (plugin.empty() || drivers < 1 || devices < 1 || rounds < 1) {
        std::fprintf(stderr, "usage: %s --plugin bench_drivers.so [--drivers D] [--devices N] [--rounds R] [--first drivers|devices]\n", argv[0]);
        return 2;
    }
    // Plugins are refused from directories others can write: use a private copy.
    char tmpl[] = "/tmp/driverfs-bench.XXXXXX";
    std::filesystem::path dir = mkdtemp(tmpl);
    std::filesystem::copy_file(plugin, dir / "bench_drivers.so");
    std::filesystem::permissions(dir / "bench_drivers.so", std::filesystem::perms(0644));
    setenv("DRIVERFS_BENCH_DRIVERS", std::to_string(drivers).c_str(), 1);
    driverfs::set_log_threshold(driverfs::LogLevel::warning);
    // snprintf, not string concatenation: GCC 12 warns falsely (-Wrestrict) on the latter here.
    auto name = [&](long i) {
        char buf[48];
        std::snprintf(buf, sizeof buf, "dev%ld.%ld", i % drivers, i);
        return std::string(buf);
    };
    int failures = 0;
    auto drivers_first = [&] {
        driverfs::Core core({dir.string(), std::chrono::milliseconds(5000)});
        auto t0 = Clock::now();
        if (auto r = core.load_plugin("bench_drivers"); !r) check(r.error(), "load");
        double load_s = seconds_since(t0);
        const size_t heap_before = heap_in_use();
        t0 = Clock::now();
        for (long i = 0; i < devices; ++i) check(core.add_device("platform", name(i), {}), "add_device");
        double add_s = seconds_since(t0);
        const double heap_per_device = (static_cast<double>(heap_in_use()) - static_cast<double>(heap_before)) / devices;
        std::printf("drivers first: load %ld drivers %.3f s; add+match+bind %ld devices %.3f s (%.2f us/device); bound %zu\n",
                    drivers, load_s, devices, add_s, add_s * 1e6 / devices, bound(core));
        std::printf("memory: %.0f bytes per bound device (heap in use grown by the adds; %.1f nodes a device)\n",
                    heap_per_device, static_cast<double>(core.stats().nodes) / devices);
        failures += bound(core) != static_cast<size_t>(devices);
        t0 = Clock::now();
        check(core.suspend(), "suspend");
        double sus_s = seconds_since(t0);
        t0 = Clock::now();
        check(core.resume(), "resume");
        double res_s = seconds_since(t0);
        std::printf("power walk over %ld bound devices: suspend %.3f s, resume %.3f s, both %.3f s\n", devices, sus_s,
                    res_s, sus_s + res_s);
    };
    auto devices_first = [&] {
        driverfs::Core core({dir.string(), std::chrono::milliseconds(5000)});
        auto t0 = Clock::now();
        for (long i = 0; i < devices; ++i) check(core.add_device("platform", name(i), {}), "add_device");
        double add_s = seconds_since(t0);
        t0 = Clock::now();
        if (auto r = core.load_plugin("bench_drivers"); !r) check(r.error(), "load");
        double load_s = seconds_since(t0);
        std::printf("devices first: add %ld unbound devices %.3f s; load %ld drivers + match+bind %.3f s; bound %zu\n",
                    devices, add_s, drivers, load_s, bound(core));
        failures += bound(core) != static_cast<size_t>(devices);
    };
    for (long round = 1; round <= rounds; ++round) {
        if (rounds > 1) std::printf("round %ld\n", round);
        if (devices_first_first) {
            devices_first();
            drivers_first();
        } else {
            drivers_first();
            devices_first();
        }
    }
    std::filesystem::remove_all(dir);
    if (failures) std::fprintf(stderr, "not every device was bound\n");
    return failures ? 1 : 0;
}
