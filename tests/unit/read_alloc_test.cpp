// Reading an attribute allocates nothing once warm: 10,000 reads of a
// plugin's text attribute through OpenFile (the plugin gate, call tracking,
// the snapshot) are counted with a replaced global operator new. Its own
// binary, since the replacement counts every allocation of the process.
#include <gtest/gtest.h>

#include <fcntl.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>

#include "core/core.hpp"
#include "core/open_file.hpp"
#include "test_util.hpp"

namespace {

// Every thread's allocations count while `counting` is set: a background
// thread allocating during the reads would be a finding too.
std::atomic<bool> counting{false};
std::atomic<size_t> allocations{0};

void* allocate(std::size_t n) {
    if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}

}  // namespace

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return allocate(n);
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace {

TEST(ReadAllocTest, TenThousandReadsOfATextAttributeAllocateNothingAfterTheFirst) {
    dfs_test::PrivateDir plugins;
    driverfs::Core core(driverfs::CoreOptions{plugins.path(), std::chrono::milliseconds(2000)});
    auto loaded = core.load_plugin(plugins.install(dfs_test::fixture_so("fx_abi_v1"), "fx_abi_v1.so"));
    ASSERT_TRUE(loaded) << loaded.error().message;
    ASSERT_TRUE(core.add_device("platform", "oldie0", {}));
    // "show value of oldie0" is longer than a small string: a description
    // formatted per call would be caught here.
    driverfs::NodePtr node = core.tree().resolve("devices/platform/oldie0/value");
    ASSERT_NE(node, nullptr);
    auto file = driverfs::OpenFile::open(node, O_RDONLY);
    ASSERT_TRUE(file) << file.error().message;

    char buf[driverfs::AttrOps::kPageSize];
    auto first = file.value()->read(buf, sizeof buf, 0);  // warm-up: per-thread slots, the snapshot page
    ASSERT_TRUE(first) << first.error().message;
    ASSERT_EQ(std::string(buf, first.value()), "7\n");

    size_t failed = 0;
    allocations = 0;
    counting = true;
    for (int i = 0; i < 10000; ++i) {
        auto n = file.value()->read(buf, sizeof buf, 0);
        if (!n || n.value() != first.value()) ++failed;
    }
    counting = false;
    EXPECT_EQ(failed, 0u);
    EXPECT_EQ(allocations.load(), 0u) << "heap allocations during 10,000 reads after the first";
    // The reads went through the gate's statistics (counted, timed), so
    // those are allocation-free too.
    std::vector<driverfs::DriverStatsInfo> stats = core.driver_stats();
    ASSERT_EQ(stats.size(), 1u);
    EXPECT_EQ(stats[0].stats.calls, 10001u);
    EXPECT_EQ(stats[0].stats.in_flight, 0u);

    file.value().reset();
    EXPECT_TRUE(core.unload_plugin("fx_abi_v1"));
}

}  // namespace
