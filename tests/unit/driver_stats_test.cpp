// Driver statistics at the core level: exact counts through the gate, the
// slowest call outliving its device, refusals while the driver is going, and
// concurrent readers (the counters' atomics under TSan).
#include <gtest/gtest.h>

#include <fcntl.h>

#include <thread>
#include <vector>

#include "core/core.hpp"
#include "core/open_file.hpp"
#include "test_util.hpp"

namespace {

using driverfs::Core;
using driverfs::DriverStatsSnapshot;

class DriverStatsTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto loaded = core.load_plugin(plugins.install(dfs_test::fixture_so("fx_sleepy"), "fx_sleepy.so"));
        ASSERT_TRUE(loaded) << loaded.error().message;
        ASSERT_TRUE(core.add_device("platform", "sleepy0", {}));
    }

    DriverStatsSnapshot stats() {
        for (const driverfs::DriverStatsInfo& d : core.driver_stats())
            if (d.driver == "sleepy") return d.stats;
        ADD_FAILURE() << "no driver sleepy in driver_stats()";
        return {};
    }
    driverfs::Result<size_t> read_nap() {
        auto file = driverfs::OpenFile::open(core.tree().resolve("devices/platform/sleepy0/nap"), O_RDONLY);
        if (!file) return file.error();
        char buf[driverfs::AttrOps::kPageSize];
        return file.value()->read(buf, sizeof buf, 0);
    }
    driverfs::Result<size_t> store_nap(std::string_view v) {
        auto file = driverfs::OpenFile::open(core.tree().resolve("devices/platform/sleepy0/nap"), O_WRONLY);
        if (!file) return file.error();
        return file.value()->write(v, 0);
    }

    dfs_test::PrivateDir plugins;
    Core core{driverfs::CoreOptions{plugins.path(), std::chrono::milliseconds(2000)}};
};

TEST_F(DriverStatsTest, CountsEveryCallAndEveryFailureExactly) {
    const DriverStatsSnapshot before = stats();
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(read_nap());
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(store_nap("x"));
    const DriverStatsSnapshot after = stats();
    EXPECT_EQ(after.calls - before.calls, 8u);
    EXPECT_EQ(after.errors - before.errors, 3u);
    EXPECT_EQ(after.in_flight, 0u);
    EXPECT_EQ(after.refused, 0u);
}

TEST_F(DriverStatsTest, TheSlowestCallIsACopyThatOutlivesItsDevice) {
    ASSERT_TRUE(store_nap("20"));
    ASSERT_TRUE(read_nap());
    DriverStatsSnapshot s = stats();
    EXPECT_EQ(s.slowest, "show nap of sleepy0");
    EXPECT_GE(s.slowest_us, 20000u);
    ASSERT_TRUE(store_nap("0"));
    // The device (and its name) are freed; the record must not refer to them
    // (under ASan a kept Device pointer is a use after free here).
    ASSERT_TRUE(core.remove_device("sleepy0"));
    s = stats();
    EXPECT_EQ(s.slowest, "show nap of sleepy0");
    EXPECT_GE(s.slowest_us, 20000u);
}

TEST_F(DriverStatsTest, PinsRefusedWhileTheDriverIsGoingAreCounted) {
    auto stub = core.stubs().find("sleepy");
    ASSERT_TRUE(stub);
    const uint64_t calls = stats().calls;
    core.stubs().begin_unregister(*stub);
    auto r = read_nap();
    core.stubs().abort_unregister(*stub);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ENODEV);
    const DriverStatsSnapshot s = stats();
    EXPECT_GE(s.refused, 1u);  // the open's validation; a read never got that far
    EXPECT_EQ(s.calls, calls) << "a refused call is no call";
    ASSERT_TRUE(read_nap());
    EXPECT_EQ(stats().refused, s.refused) << "a live driver refuses nothing";
}

TEST_F(DriverStatsTest, ConcurrentReadersAreAllCounted) {
    const uint64_t before = stats().calls;
    std::vector<std::thread> readers;
    std::atomic<int> failed{0};
    for (int t = 0; t < 4; ++t)
        readers.emplace_back([&] {
            for (int i = 0; i < 250; ++i)
                if (!read_nap()) ++failed;
        });
    // Read the counters meanwhile too: in_flight never goes below zero.
    for (int i = 0; i < 200; ++i) EXPECT_LE(stats().in_flight, 4u);
    for (std::thread& t : readers) t.join();
    EXPECT_EQ(failed.load(), 0);
    const DriverStatsSnapshot s = stats();
    EXPECT_EQ(s.calls - before, 1000u);
    EXPECT_EQ(s.in_flight, 0u);
}

}  // namespace
