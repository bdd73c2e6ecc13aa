// Core end to end without FUSE: led through the shared file operations,
// unload with open files, reload reusing the stub, drain timeout, a
// throwing callback.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <thread>

#include "core/call_tracker.hpp"
#include "core/core.hpp"
#include "core/open_file.hpp"
#include "test_util.hpp"

using driverfs::Core;
using driverfs::CoreOptions;
using driverfs::OpenFile;
using dfs_test::read_attr;
using dfs_test::write_attr;
using namespace std::chrono_literals;

namespace {

class CoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        plugins_.install(dfs_test::plugin_so("led"), "led.so");
        for (const char* fx : {"fx_sleepy", "fx_throws"}) plugins_.install(dfs_test::fixture_so(fx), std::string(fx) + ".so");
        core_.emplace(CoreOptions{plugins_.path(), std::chrono::milliseconds(5000)});
    }
    Core& core() { return *core_; }

    uint32_t module_generation(const std::string& name) {
        auto mods = core().modules();
        const auto* m = dfs_test::find_module(mods, name);
        return m ? m->generation : 0;
    }
    std::string module_state(const std::string& name) {
        auto mods = core().modules();
        const auto* m = dfs_test::find_module(mods, name);
        return m ? m->state : "";
    }

    dfs_test::PrivateDir plugins_;
    std::optional<Core> core_;
};

const std::string kLed0 = "devices/platform/led0/";
// led's files are on its LED class device, as on Linux.
const std::string kLed0Class = kLed0 + "leds/led0/";

}  // namespace

TEST_F(CoreTest, LedAttributesThroughSharedFileOps) {
    auto r = core().load_plugin("led");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(core().add_device("platform", "led0", {}));

    ASSERT_NE(core().tree().resolve(kLed0Class + "brightness"), nullptr);
    ASSERT_NE(core().tree().resolve(kLed0Class + "max_brightness"), nullptr);
    auto drv_link = core().tree().resolve(kLed0 + "driver");
    ASSERT_NE(drv_link, nullptr);
    EXPECT_EQ(drv_link->target(), "../../../bus/platform/drivers/led");
    auto back = core().tree().resolve("bus/platform/drivers/led/led0");
    ASSERT_NE(back, nullptr);
    EXPECT_EQ(back->target(), "../../../../devices/platform/led0");
    auto bus_link = core().tree().resolve("bus/platform/devices/led0");
    ASSERT_NE(bus_link, nullptr);
    EXPECT_EQ(bus_link->target(), "../../../devices/platform/led0");
    // The LED class device, laid out as Linux's led_classdev_register does.
    EXPECT_EQ(core().tree().resolve(kLed0 + "brightness"), nullptr) << "led's files belong to its class device";
    auto class_link = core().tree().resolve("class/leds/led0");
    ASSERT_NE(class_link, nullptr);
    EXPECT_EQ(class_link->target(), "../../devices/platform/led0/leds/led0");
    ASSERT_NE(core().tree().resolve(kLed0Class + "subsystem"), nullptr);
    EXPECT_EQ(core().tree().resolve(kLed0Class + "subsystem")->target(), "../../../../../class/leds");
    ASSERT_NE(core().tree().resolve(kLed0Class + "device"), nullptr);
    EXPECT_EQ(core().tree().resolve(kLed0Class + "device")->target(), "../../../led0");
    EXPECT_EQ(read_attr(core(), kLed0Class + "uevent").data, "") << "no device number, no properties";
    EXPECT_EQ(read_attr(core(), kLed0Class + "power/state").data, "active\n");
    EXPECT_EQ(core().tree().resolve(kLed0Class + "driver_override"), nullptr);
    EXPECT_EQ(core().tree().resolve(kLed0Class + "brightness")->mode(), 0644u);
    EXPECT_EQ(core().tree().resolve(kLed0Class + "max_brightness")->mode(), 0444u);

    EXPECT_EQ(read_attr(core(), kLed0Class + "max_brightness").data, "255\n");
    EXPECT_EQ(read_attr(core(), kLed0Class + "brightness").data, "0\n");

    auto w = write_attr(core(), kLed0Class + "brightness", "42\n");
    EXPECT_EQ(w.err, 0);
    EXPECT_EQ(w.count, 3u);
    EXPECT_EQ(read_attr(core(), kLed0Class + "brightness").data, "42\n");

    EXPECT_EQ(write_attr(core(), kLed0Class + "brightness", "-1").err, EINVAL);
    EXPECT_EQ(write_attr(core(), kLed0Class + "brightness", "abc").err, EINVAL);
    EXPECT_EQ(write_attr(core(), kLed0Class + "brightness", "").err, EINVAL);
    EXPECT_EQ(read_attr(core(), kLed0Class + "brightness").data, "42\n") << "refused writes changed the value";
    // Above the max is clamped, as Linux's LED class does.
    EXPECT_EQ(write_attr(core(), kLed0Class + "brightness", "256").err, 0);
    EXPECT_EQ(read_attr(core(), kLed0Class + "brightness").data, "255\n");

    EXPECT_EQ(dfs_test::open_errno(core(), kLed0Class + "max_brightness", O_WRONLY), EACCES);
    EXPECT_EQ(dfs_test::open_errno(core(), kLed0Class + "max_brightness", O_RDWR), EACCES);

    ASSERT_TRUE(core().add_device("platform", "led1", {{"max_brightness", "100"}}));
    EXPECT_EQ(read_attr(core(), "devices/platform/led1/leds/led1/max_brightness").data, "100\n");
    EXPECT_EQ(write_attr(core(), "devices/platform/led1/leds/led1/brightness", "100").err, 0);
    EXPECT_EQ(write_attr(core(), "devices/platform/led1/leds/led1/brightness", "7").err, 0);
    EXPECT_EQ(write_attr(core(), "devices/platform/led1/leds/led1/brightness", "101").err, 0);
    EXPECT_EQ(read_attr(core(), "devices/platform/led1/leds/led1/brightness").data, "100\n") << "clamped to its max";
    EXPECT_EQ(read_attr(core(), kLed0Class + "brightness").data, "255\n") << "devices share state";

    // A device the driver refuses stays unbound.
    ASSERT_TRUE(core().add_device("platform", "led2", {{"max_brightness", "0"}}));
    EXPECT_NE(core().tree().resolve("devices/platform/led2"), nullptr);
    EXPECT_EQ(core().tree().resolve("devices/platform/led2/leds"), nullptr);
    EXPECT_EQ(core().tree().resolve("class/leds/led2"), nullptr);
    EXPECT_EQ(core().tree().resolve("devices/platform/led2/driver"), nullptr);

    // Devices that do not match are left alone.
    ASSERT_TRUE(core().add_device("platform", "lamp0", {}));
    EXPECT_EQ(core().tree().resolve("devices/platform/lamp0/leds/lamp0/brightness"), nullptr);
    EXPECT_EQ(core().add_device("platform", "led0", {}).error().code, EEXIST);
}

TEST_F(CoreTest, UnloadWithOpenFileThenReload) {
    ASSERT_TRUE(core().load_plugin("led"));
    ASSERT_TRUE(core().add_device("platform", "led0", {}));
    auto stub = core().stubs().find("led");
    ASSERT_NE(stub, nullptr);
    const driverfs::Stub* addr = stub.get();
    EXPECT_EQ(stub->generation(), 1u);
    EXPECT_EQ(module_generation("led"), 1u);
    EXPECT_EQ(read_attr(core(), "module/led/generation").data, "1\n");
    EXPECT_EQ(read_attr(core(), "module/led/state").data, "live\n");
    EXPECT_EQ(write_attr(core(), kLed0Class + "brightness", "42\n").err, 0);

    auto rd = OpenFile::open(core().tree().resolve(kLed0Class + "brightness"), O_RDONLY);
    auto wr = OpenFile::open(core().tree().resolve(kLed0Class + "brightness"), O_WRONLY);
    ASSERT_TRUE(rd);
    ASSERT_TRUE(wr);
    EXPECT_EQ(dfs_test::read_handle(*rd.value()).data, "42\n");

    auto un = core().unload_plugin("led");
    ASSERT_TRUE(un) << un.error().message;
    EXPECT_EQ(module_state("led"), "gone");
    EXPECT_EQ(read_attr(core(), "module/led/state").data, "gone\n");
    EXPECT_EQ(stub->state(), driverfs::StubState::gone);
    EXPECT_EQ(stub->driver(), nullptr);
    EXPECT_EQ(core().tree().resolve(kLed0Class + "brightness"), nullptr);
    EXPECT_EQ(core().tree().resolve(kLed0 + "driver"), nullptr);
    EXPECT_EQ(core().tree().resolve("bus/platform/drivers/led"), nullptr);
    EXPECT_NE(core().tree().resolve("devices/platform/led0"), nullptr) << "the device outlives its driver";

    EXPECT_EQ(dfs_test::read_handle(*rd.value()).err, ENODEV);
    EXPECT_EQ(dfs_test::read_handle(*rd.value(), 1).err, ENODEV) << "kernfs answers ENODEV at any offset once removed";
    EXPECT_EQ(dfs_test::write_handle(*wr.value(), "1").err, ENODEV);

    auto again = core().load_plugin("led");
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(module_generation("led"), 2u);
    EXPECT_EQ(module_state("led"), "live");
    EXPECT_EQ(read_attr(core(), "module/led/generation").data, "2\n");
    EXPECT_EQ(core().stubs().find("led").get(), addr) << "reload must reuse the stub record";
    EXPECT_EQ(stub->generation(), 2u);
    EXPECT_EQ(stub->state(), driverfs::StubState::live);

    ASSERT_NE(core().tree().resolve(kLed0Class + "brightness"), nullptr) << "led0 was not bound again";
    EXPECT_NE(core().tree().resolve("bus/platform/drivers/led/led0"), nullptr);
    EXPECT_EQ(read_attr(core(), kLed0Class + "brightness").data, "0\n") << "a new probe starts from 0";

    // Handles of the old load never reach the new one.
    EXPECT_EQ(dfs_test::read_handle(*rd.value()).err, ENODEV);
    EXPECT_EQ(dfs_test::write_handle(*wr.value(), "7").err, ENODEV);
    EXPECT_EQ(read_attr(core(), kLed0Class + "brightness").data, "0\n");
    rd.value().reset();
    wr.value().reset();

    EXPECT_EQ(core().unload_plugin("nope").error().code, ENOENT);
    ASSERT_TRUE(core().unload_plugin("led"));
    EXPECT_EQ(core().unload_plugin("led").error().code, ENOENT) << "unloading twice";
}

// The reader is held inside show at a gate, so the unload's drain times out
// whatever the machine's speed: an unload that waited for the call instead
// would not return before the gate opens, which the watchdog reports.
TEST_F(CoreTest, DrainTimeoutIsEbusyAndLeavesThePluginLoaded) {
    auto r = core().load_plugin("fx_sleepy");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r.value(), "fx_sleepy");
    ASSERT_TRUE(core().add_device("platform", "sleepy0", {}));
    const std::string nap = "devices/platform/sleepy0/nap";
    const std::string gate_attr = "devices/platform/sleepy0/gate";
    ASSERT_NE(core().tree().resolve(nap), nullptr);
    EXPECT_EQ(read_attr(core(), nap).data, "0\n");
    ASSERT_EQ(write_attr(core(), nap, "7\n").err, 0);
    dfs_test::Gate gate;
    ASSERT_EQ(write_attr(core(), gate_attr, gate.path()).err, 0);

    auto stub = core().stubs().find("sleepy");
    ASSERT_NE(stub, nullptr);

    std::atomic<pid_t> reader_tid{0};
    dfs_test::Io reader_io;
    std::thread reader([&] {
        reader_tid = gettid();
        reader_io = read_attr(core(), nap);
    });
    // Wait (bounded, generously) until the reader is inside show.
    const auto t0 = std::chrono::steady_clock::now();
    while (driverfs::running_calls(*stub).empty() && std::chrono::steady_clock::now() - t0 < 30s)
        std::this_thread::sleep_for(1ms);
    auto calls = driverfs::running_calls(*stub);
    if (calls.size() != 1u) {
        gate.release();
        reader.join();
        FAIL() << "expected the reader inside show, saw " << calls.size() << " running calls";
    }
    EXPECT_EQ(calls[0].tid, reader_tid.load());
    EXPECT_EQ(read_attr(core(), "module/fx_sleepy/refcnt").data, "1\n");

    const auto u0 = std::chrono::steady_clock::now();
    auto unloading = std::async(std::launch::async, [&] { return core().unload_plugin("fx_sleepy", 300ms); });
    if (unloading.wait_for(60s) != std::future_status::ready) {
        gate.release();
        reader.join();
        unloading.wait();
        FAIL() << "unload did not honour its 300 ms timeout: still waiting after 60 s on a held call";
    }
    const auto waited = std::chrono::steady_clock::now() - u0;
    auto un = unloading.get();
    EXPECT_FALSE(un);
    if (!un) {
        EXPECT_EQ(un.error().code, EBUSY);
        EXPECT_NE(un.error().message.find("show nap"), std::string::npos) << un.error().message;
        EXPECT_NE(un.error().message.find(std::to_string(reader_tid.load())), std::string::npos)
            << un.error().message;
    }
    EXPECT_GE(waited, 300ms);
    EXPECT_FALSE(driverfs::running_calls(*stub).empty()) << "the held call ended while its gate was closed";

    // Still loaded and working.
    EXPECT_EQ(module_state("fx_sleepy"), "live");
    EXPECT_EQ(stub->state(), driverfs::StubState::live);
    EXPECT_NE(core().tree().resolve(nap), nullptr);
    EXPECT_EQ(write_attr(core(), nap, "0").err, 0) << "store after the failed unload";
    gate.release();
    reader.join();
    EXPECT_EQ(reader_io.err, 0);
    EXPECT_EQ(reader_io.data, "7\n");
    ASSERT_EQ(write_attr(core(), gate_attr, "\n").err, 0) << "clearing the gate";
    EXPECT_EQ(read_attr(core(), nap).data, "0\n");
    EXPECT_EQ(stub->in_flight(), 0);

    auto ok = core().unload_plugin("fx_sleepy", 2000ms);
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(module_state("fx_sleepy"), "gone");
    EXPECT_EQ(core().tree().resolve(nap), nullptr);
}

TEST_F(CoreTest, ThrowingCallbackIsEioAndTheDaemonGoesOn) {
    dfs_test::LogCapture logs;
    auto r = core().load_plugin("fx_throws");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(core().add_device("platform", "thrower0", {}));
    const std::string value = "devices/platform/thrower0/value";
    ASSERT_NE(core().tree().resolve(value), nullptr);

    for (int i = 0; i < 3; ++i) EXPECT_EQ(read_attr(core(), value).err, EIO);
    EXPECT_TRUE(logs.contains("threw")) << "no log line for the exception";
    EXPECT_EQ(write_attr(core(), value, "1").err, EINVAL) << "a negative errno reaches the caller unchanged";
    auto stub = core().stubs().find("thrower");
    ASSERT_NE(stub, nullptr);
    EXPECT_EQ(stub->in_flight(), 0) << "the exception leaked a pin";

    // The core goes on: another plugin loads and works, and this one unloads.
    ASSERT_TRUE(core().load_plugin("led"));
    ASSERT_TRUE(core().add_device("platform", "led0", {}));
    EXPECT_EQ(read_attr(core(), kLed0Class + "max_brightness").data, "255\n");
    auto un = core().unload_plugin("fx_throws", 1000ms);
    EXPECT_TRUE(un) << un.error().message;
}

TEST_F(CoreTest, ShutdownUnloadsEverything) {
    ASSERT_TRUE(core().load_plugin("led"));
    ASSERT_TRUE(core().load_plugin("fx_sleepy"));
    ASSERT_TRUE(core().add_device("platform", "led0", {}));
    ASSERT_TRUE(core().add_device("platform", "sleepy0", {}));
    core().shutdown();
    EXPECT_EQ(module_state("led"), "gone");
    EXPECT_EQ(module_state("fx_sleepy"), "gone");
    EXPECT_EQ(core().stubs().live_count(), 0u);
    EXPECT_EQ(core().tree().resolve(kLed0Class + "brightness"), nullptr);
}

// A call still running at shutdown: the plugin is left mapped (never
// dlclosed under the running call) and a second shutdown, as the destructor
// does, neither crashes nor unloads it again.
TEST(CoreShutdownTest, StuckCallAtShutdownIsLeftMappedAndShutdownRepeats) {
    dfs_test::PrivateDir plugins;
    plugins.install(dfs_test::fixture_so("fx_sleepy"), "fx_sleepy.so");
    std::optional<Core> core;
    core.emplace(CoreOptions{plugins.path(), std::chrono::milliseconds(200)});
    ASSERT_TRUE(core->load_plugin("fx_sleepy"));
    ASSERT_TRUE(core->add_device("platform", "sleepy0", {}));
    const std::string nap = "devices/platform/sleepy0/nap";
    // Held at a gate, not asleep: the call is still running when shutdown's
    // drain ends, however slow the machine.
    dfs_test::Gate gate;
    ASSERT_EQ(write_attr(*core, "devices/platform/sleepy0/gate", gate.path()).err, 0);
    auto stub = core->stubs().find("sleepy");
    std::thread reader([&] { read_attr(*core, nap); });
    const auto t0 = std::chrono::steady_clock::now();
    while (driverfs::running_calls(*stub).empty() && std::chrono::steady_clock::now() - t0 < 30s)
        std::this_thread::sleep_for(1ms);
    if (driverfs::running_calls(*stub).empty()) {
        gate.release();
        reader.join();
        FAIL() << "the reader never got inside show";
    }
    core->shutdown();  // times out: the reader is inside show
    EXPECT_EQ(stub->state(), driverfs::StubState::live);
    EXPECT_FALSE(driverfs::running_calls(*stub).empty()) << "the held call ended while its gate was closed";
    gate.release();
    reader.join();     // the leaked mapping is still there for it to return into
    core->shutdown();  // must not touch the leaked object again
    core.reset();      // nor the destructor's shutdown
    SUCCEED();
}
