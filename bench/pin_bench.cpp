// Pin cost: the stub pin (one atomic op) against validating the driver
// pointer by scanning the driver list under a lock, the approach the 2002
// design replaced, with 1 to 10,000 drivers registered.
#include <benchmark/benchmark.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "driverfs/plugin.h"
#include "driverfs/stub.hpp"

namespace {

// Drivers registered in a table of `n`; the one to pin is the last one
// registered, which is the worst case for the scan.
struct StubFixture {
    driverfs::StubTable table;
    std::vector<std::shared_ptr<driverfs::Stub>> held;
    dfs_driver ops{};

    explicit StubFixture(int64_t n) {
        for (int64_t i = 0; i < n; ++i) held.push_back(table.activate("drv" + std::to_string(i), &ops, nullptr));
    }
};

void BM_StubPin(benchmark::State& state) {
    static std::unique_ptr<StubFixture> fx;
    if (state.thread_index() == 0) fx = std::make_unique<StubFixture>(state.range(0));
    driverfs::Stub* stub = nullptr;
    for (auto _ : state) {
        if (!stub) stub = fx->held.back().get();
        if (!stub->pin()) state.SkipWithError("pin failed");
        benchmark::DoNotOptimize(stub->driver());
        stub->unpin();
    }
}

// The O(n) alternative: a global list and a lock; find the pointer, then take
// a module reference.
struct ScanFixture {
    std::mutex lock;
    std::vector<const dfs_driver*> list;
    std::vector<dfs_driver> drivers;
    std::atomic<long> refcount{0};

    explicit ScanFixture(int64_t n) : drivers(static_cast<size_t>(n)) {
        for (auto& d : drivers) list.push_back(&d);
    }
    bool pin(const dfs_driver* drv) {
        std::lock_guard g(lock);
        for (const dfs_driver* d : list) {
            if (d == drv) {
                refcount.fetch_add(1, std::memory_order_acquire);
                return true;
            }
        }
        return false;
    }
    void unpin() { refcount.fetch_sub(1, std::memory_order_release); }
};

void BM_ListScanPin(benchmark::State& state) {
    static std::unique_ptr<ScanFixture> fx;
    if (state.thread_index() == 0) fx = std::make_unique<ScanFixture>(state.range(0));
    const dfs_driver* target = nullptr;
    for (auto _ : state) {
        if (!target) target = &fx->drivers.back();
        if (!fx->pin(target)) state.SkipWithError("scan failed");
        fx->unpin();
    }
}

void BM_StubMemory(benchmark::State& state) {
    // Not a timing: reports the bytes one record costs, control block included.
    for (auto _ : state) benchmark::DoNotOptimize(state.iterations());
    state.counters["sizeof_Stub"] = sizeof(driverfs::Stub);
    state.counters["with_shared_ptr_block"] = sizeof(driverfs::Stub) + 16;
}

}  // namespace

BENCHMARK(BM_StubPin)->RangeMultiplier(10)->Range(1, 10000);
BENCHMARK(BM_ListScanPin)->RangeMultiplier(10)->Range(1, 10000);
BENCHMARK(BM_StubPin)->Arg(1000)->Threads(2);
BENCHMARK(BM_ListScanPin)->Arg(1000)->Threads(2);
BENCHMARK(BM_StubMemory)->Iterations(1);

BENCHMARK_MAIN();
