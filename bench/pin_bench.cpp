// Pin cost: the stub pin (one atomic op) against validating the driver
// pointer by scanning the driver list under a lock, the approach the 2002
// design replaced, with 1 to 10,000 drivers registered.
#include <benchmark/benchmark.h>

#include <malloc.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "driverfs/plugin.h"
#include "core/stub.hpp"

namespace {

// Drivers registered in a table of `n`; the one to pin is the last one
// registered, which is the worst case for the scan.
struct StubFixture {
    driverfs::StubTable table;
    std::vector<driverfs::StubRef> held;
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
    // Not a timing: what one record costs. record_bytes is what the record
    // allocates (its fields, then the name and a NUL) for an 8-character
    // name; heap_per_stub is measured: the heap in use (mallinfo2) grown by
    // registering 10,000 such names, divided by 10,000, so malloc's own
    // overhead and the table's map entry are included.
    constexpr int kStubs = 10000;
    double heap_per_stub = 0;
    for (auto _ : state) {
        dfs_driver ops{};
        driverfs::StubTable table;
        std::vector<std::string> names;
        for (int i = 0; i < kStubs; ++i) names.push_back("drv" + std::to_string(10000 + i));  // 8 characters
        std::vector<driverfs::StubRef> held;
        held.reserve(kStubs);
        const size_t before = mallinfo2().uordblks;
        for (const std::string& n : names) held.push_back(table.activate(n, &ops, nullptr));
        heap_per_stub = static_cast<double>(mallinfo2().uordblks - before) / kStubs;
    }
    state.counters["sizeof_Stub"] = sizeof(driverfs::Stub);
    state.counters["record_bytes"] = sizeof(driverfs::Stub) + 8 + 1;
    state.counters["heap_per_stub"] = heap_per_stub;
}

}  // namespace

BENCHMARK(BM_StubPin)->RangeMultiplier(10)->Range(1, 10000);
BENCHMARK(BM_ListScanPin)->RangeMultiplier(10)->Range(1, 10000);
BENCHMARK(BM_StubPin)->Arg(1000)->Threads(2);
BENCHMARK(BM_ListScanPin)->Arg(1000)->Threads(2);
BENCHMARK(BM_StubMemory)->Iterations(1);

BENCHMARK_MAIN();
