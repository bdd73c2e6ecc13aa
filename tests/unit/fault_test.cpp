// Fault containment, one test per row of the FAULT CONTAINMENT table in
// driverfsd(8): a plugin that writes past its page, returns lengths or
// errnos that cannot be, throws from probe, or leaves a thread running
// after exit(). Each time the caller gets a clear errno, a log line names
// the culprit, and the daemon goes on.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <thread>

#include "core/core.hpp"
#include "test_util.hpp"

using driverfs::Core;
using driverfs::CoreOptions;
using dfs_test::read_attr;
using dfs_test::write_attr;
using namespace std::chrono_literals;

namespace {

class FaultTest : public ::testing::Test {
protected:
    void SetUp() override {
        plugins_.install(dfs_test::plugin_so("led"), "led.so");
        for (const char* fx : {"fx_faults", "fx_stray", "fx_sleepy"})
            plugins_.install(dfs_test::fixture_so(fx), std::string(fx) + ".so");
        core_.emplace(CoreOptions{plugins_.path(), std::chrono::milliseconds(5000)});
    }
    Core& core() { return *core_; }

    // Load fx_faults and bind faulty0 to its driver "faulty".
    void load_faulty() {
        auto r = core().load_plugin("fx_faults");
        ASSERT_TRUE(r) << r.error().message;
        ASSERT_TRUE(core().add_device("platform", "faulty0", {}));
        ASSERT_NE(core().tree().resolve(kFaulty + "fine"), nullptr) << "faulty0 did not bind";
    }
    int64_t in_flight(const std::string& driver) {
        auto stub = core().stubs().find(driver);
        return stub ? stub->in_flight() : -1;
    }
    std::string module_state(const std::string& name) {
        auto mods = core().modules();
        const auto* m = dfs_test::find_module(mods, name);
        return m ? m->state : "";
    }

    static inline const std::string kFaulty = "devices/platform/faulty0/";
    dfs_test::PrivateDir plugins_;
    std::optional<Core> core_;
};

// voluntary_ctxt_switches of one of our threads, or -1 once it is gone.
long voluntary_switches(pid_t tid) {
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/status");
    std::string key;
    long n;
    while (in >> key)
        if (key == "voluntary_ctxt_switches:" && in >> n) return n;
    return -1;
}

}  // namespace

TEST_F(FaultTest, ShowWritingPastThePageIsEioLoggedAndDiscarded) {
    load_faulty();
    dfs_test::LogCapture logs;
    for (int i = 0; i < 3; ++i) {
        auto io = read_attr(core(), kFaulty + "overrun");
        EXPECT_EQ(io.err, EIO) << "read " << i;
        EXPECT_EQ(io.data, "") << "bytes of an overrunning show reached the reader";
    }
    EXPECT_TRUE(logs.contains("plugin fx_faults: driver faulty: show overrun of faulty0 wrote 8 byte(s) past the end"))
        << "no log line naming plugin, driver, attribute, device and the overrun";
    EXPECT_EQ(in_flight("faulty"), 0);
    // The guard is armed again for every call: a clean show still works on
    // this thread and others.
    EXPECT_EQ(read_attr(core(), kFaulty + "fine").data, "ok\n");
    std::string other;
    std::thread([&] { other = read_attr(core(), kFaulty + "fine").data; }).join();
    EXPECT_EQ(other, "ok\n");
}

TEST_F(FaultTest, PositiveGarbageCountsAreEio) {
    load_faulty();
    dfs_test::LogCapture logs;
    EXPECT_EQ(read_attr(core(), kFaulty + "garbage").err, EIO);
    EXPECT_TRUE(logs.contains("show garbage of faulty0 returned 5096 where at most 4096 was possible"));
    EXPECT_EQ(write_attr(core(), kFaulty + "garbage", "abc").err, EIO);
    EXPECT_TRUE(logs.contains("store garbage of faulty0 returned 8 where at most 3 was possible"));
    EXPECT_EQ(in_flight("faulty"), 0);
}

TEST_F(FaultTest, NegativeNumbersThatAreNoErrnoAreEio) {
    load_faulty();
    dfs_test::LogCapture logs;
    EXPECT_EQ(read_attr(core(), kFaulty + "bigneg").err, EIO);
    EXPECT_TRUE(logs.contains("show bigneg of faulty0 returned -100000, which is not a negative errno"));
    EXPECT_EQ(write_attr(core(), kFaulty + "bigneg", "1").err, EIO);
    EXPECT_TRUE(logs.contains("returned " + std::to_string(std::numeric_limits<ssize_t>::min()) +
                              ", which is not a negative errno"));
    // -600 is in the kernel's private range: a FUSE reply with it would be
    // refused by the kernel and leave the reader waiting.
    EXPECT_EQ(read_attr(core(), kFaulty + "oddcode").err, EIO);
    EXPECT_TRUE(logs.contains("show oddcode of faulty0 returned -600, which is not a negative errno"));
    EXPECT_EQ(read_attr(core(), kFaulty + "fine").data, "ok\n");
}

TEST_F(FaultTest, ProbeThatThrowsRefusesTheDevice) {
    auto r = core().load_plugin("fx_faults");
    ASSERT_TRUE(r) << r.error().message;
    dfs_test::LogCapture logs;
    ASSERT_TRUE(core().add_device("platform", "faulty1", {{"probe_throws", "1"}}));
    EXPECT_TRUE(logs.contains("driver faulty: probe faulty1 threw: faulty: probe refuses by throwing"));
    EXPECT_EQ(core().tree().resolve("devices/platform/faulty1/driver"), nullptr) << "bound despite the throw";
    auto b = core().bind("platform", "faulty", "faulty1");
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().code, EIO);
    EXPECT_EQ(in_flight("faulty"), 0);
    // The driver still binds a device whose probe does not throw.
    ASSERT_TRUE(core().add_device("platform", "faulty0", {}));
    EXPECT_EQ(read_attr(core(), kFaulty + "fine").data, "ok\n");
}

TEST_F(FaultTest, ThreadLeftRunningAfterExitKeepsTheCodeMapped) {
    const std::vector<pid_t> before = dfs_test::task_ids();
    auto r = core().load_plugin("fx_stray");
    ASSERT_TRUE(r) << r.error().message;
    const std::vector<pid_t> started = dfs_test::threads_since(before);
    ASSERT_EQ(started.size(), 1u) << "fx_stray should have started exactly one thread";

    dfs_test::LogCapture logs;
    auto un = core().unload_plugin("fx_stray", 2000ms);
    ASSERT_TRUE(un) << "the unload itself succeeds: " << un.error().message;
    EXPECT_TRUE(logs.contains("plugin fx_stray: ")) << "no log line for fx_stray";
    EXPECT_TRUE(logs.contains("left 1 thread(s) running after exit (thread " + std::to_string(started[0]) +
                              "); its code stays mapped"))
        << "the log line does not name the stray thread " << started[0];
    EXPECT_EQ(module_state("fx_stray"), "gone");
    EXPECT_EQ(core().tree().resolve("bus/platform/drivers/stray"), nullptr);

    // The thread goes on sleeping and waking in code that is still there,
    // and the daemon goes on: another plugin loads and serves.
    // Counted by its wake-ups (each 20 ms sleep is a voluntary context
    // switch), not assumed after a fixed sleep.
    const long w0 = voluntary_switches(started[0]);
    ASSERT_GE(w0, 0) << "the stray thread died at unload";
    for (auto t0 = std::chrono::steady_clock::now();
         voluntary_switches(started[0]) < w0 + 3 && std::chrono::steady_clock::now() - t0 < 30s;)
        std::this_thread::sleep_for(5ms);
    EXPECT_GE(voluntary_switches(started[0]), w0 + 3) << "the stray thread stopped waking after the unload";
    const std::vector<pid_t> now = dfs_test::task_ids();
    EXPECT_NE(std::find(now.begin(), now.end(), started[0]), now.end()) << "the stray thread died";
    ASSERT_TRUE(core().load_plugin("led"));
    ASSERT_TRUE(core().add_device("platform", "led0", {}));
    EXPECT_EQ(read_attr(core(), "devices/platform/led0/leds/led0/max_brightness").data, "255\n");
}

TEST_F(FaultTest, WellBehavedPluginsAreNotReportedAtUnload) {
    dfs_test::LogCapture logs;
    ASSERT_TRUE(core().load_plugin("led"));
    ASSERT_TRUE(core().load_plugin("fx_sleepy"));
    ASSERT_TRUE(core().add_device("platform", "led0", {}));
    ASSERT_TRUE(core().add_device("platform", "sleepy0", {}));
    // led blinks on a thread of its own, joined when the device goes.
    ASSERT_EQ(write_attr(core(), "devices/platform/led0/leds/led0/trigger", "timer").err, 0);
    EXPECT_EQ(read_attr(core(), "devices/platform/sleepy0/nap").data, "0\n");
    // A reader on another thread, blocked in the core, must not count. The
    // unload starts once it has read at least once, not after a guess.
    std::atomic<int> reads{0};
    std::thread reader([&] {
        for (int i = 0; i < 50; ++i) {
            read_attr(core(), "devices/platform/led0/leds/led0/brightness");
            ++reads;
        }
    });
    for (auto t0 = std::chrono::steady_clock::now(); reads == 0 && std::chrono::steady_clock::now() - t0 < 30s;)
        std::this_thread::sleep_for(1ms);
    auto u1 = core().unload_plugin("led", 2000ms);
    reader.join();
    auto u2 = core().unload_plugin("fx_sleepy", 2000ms);
    ASSERT_TRUE(u1) << u1.error().message;
    ASSERT_TRUE(u2) << u2.error().message;
    EXPECT_FALSE(logs.contains("running after exit")) << "a false stray-thread report";
    EXPECT_FALSE(logs.contains("stays mapped")) << "a well-behaved plugin was kept mapped";
}
