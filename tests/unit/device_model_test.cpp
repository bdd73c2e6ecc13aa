// The device model through the core API: parents, uevents, power walks,
// classes, deferred probe and buses registered by plugins.
#include <gtest/gtest.h>

#include <fcntl.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <optional>
#include <thread>

#include "core/call_tracker.hpp"
#include "core/core.hpp"
#include "core/open_file.hpp"
#include "test_util.hpp"

using driverfs::Core;
using driverfs::CoreOptions;
using driverfs::Uevent;
using dfs_test::read_attr;
using dfs_test::write_attr;

namespace {

class DeviceModelTest : public ::testing::Test {
protected:
    void SetUp() override {
        plugins_.install(dfs_test::plugin_so("led"), "led.so");
        for (const char* fx : {"fx_pm", "fx_defer", "fx_bus", "fx_slowprobe"})
            plugins_.install(dfs_test::fixture_so(fx), std::string(fx) + ".so");
        core_.emplace(CoreOptions{plugins_.path(), std::chrono::milliseconds(5000)});
        sub_ = core_->events().subscribe([this](const Uevent& ev) { events_.push_back(ev); });
    }
    void TearDown() override { core_->events().unsubscribe(sub_); }
    Core& core() { return *core_; }

    // "action devpath" of every event so far, in order.
    std::vector<std::string> event_lines() const {
        std::vector<std::string> out;
        for (const Uevent& ev : events_) out.push_back(ev.action + " " + ev.devpath);
        return out;
    }
    std::string bound_driver(const std::string& dev) {
        for (const driverfs::DeviceInfo& d : core().devices())
            if (d.name == dev) return d.driver;
        return "<no such device>";
    }
    std::string link_target(const std::string& path) {
        driverfs::NodePtr n = core().tree().resolve(path);
        return n ? n->target() : "<missing>";
    }

    dfs_test::PrivateDir plugins_;
    std::optional<Core> core_;
    std::vector<Uevent> events_;  // delivered under the queue's lock, read after
    uint64_t sub_ = 0;
};

TEST_F(DeviceModelTest, ChildrenLiveBelowTheirParentAndGoFirst) {
    ASSERT_TRUE(core().add_device("platform", "hub0", {}));
    ASSERT_TRUE(core().add_device("platform", "port1", {}, "hub0"));
    EXPECT_NE(core().tree().resolve("devices/platform/hub0/port1"), nullptr);
    EXPECT_EQ(link_target("bus/platform/devices/port1"), "../../../devices/platform/hub0/port1");
    EXPECT_EQ(link_target("devices/platform/hub0/port1/subsystem"), "../../../../bus/platform");
    auto dup = core().add_device("platform", "port1", {});
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().code, EEXIST);
    auto orphan = core().add_device("platform", "x", {}, "nohub");
    ASSERT_FALSE(orphan);
    EXPECT_EQ(orphan.error().code, ENODEV);

    ASSERT_TRUE(core().remove_device("hub0"));
    EXPECT_EQ(core().tree().resolve("devices/platform/hub0"), nullptr);
    EXPECT_TRUE(core().devices().empty());
    EXPECT_EQ(event_lines(), (std::vector<std::string>{
                                 "add devices/platform/hub0", "add devices/platform/hub0/port1",
                                 "remove devices/platform/hub0/port1", "remove devices/platform/hub0"}));
    // Sequence numbers are 1, 2, 3, ... in order.
    for (size_t i = 0; i < events_.size(); ++i) EXPECT_EQ(events_[i].seqnum, i + 1);
}

TEST_F(DeviceModelTest, UeventShowsAndSynthesizes) {
    ASSERT_TRUE(core().load_plugin("led"));
    ASSERT_TRUE(core().add_device("platform", "led0", {{"color", "red"}}));
    EXPECT_EQ(read_attr(core(), "devices/platform/led0/uevent").data,
              "DRIVER=led\nMODALIAS=platform:led0\nCOLOR=red\n");
    // The LED class device probe makes is announced before the bind, as on Linux.
    EXPECT_EQ(event_lines(), (std::vector<std::string>{"load module/led", "add devices/platform/led0",
                                                       "add devices/platform/led0/leds/led0",
                                                       "bind devices/platform/led0"}));
    EXPECT_EQ(events_[2].subsystem, "leds");
    ASSERT_EQ(write_attr(core(), "devices/platform/led0/uevent", "change 1234 WHY=test\n").err, 0);
    ASSERT_EQ(events_.size(), 5u);
    const Uevent& ev = events_.back();
    EXPECT_EQ(ev.action, "change");
    EXPECT_EQ(ev.subsystem, "platform");
    EXPECT_EQ(ev.env.at("SYNTH_UUID"), "1234");
    EXPECT_EQ(ev.env.at("SYNTH_ARG_WHY"), "test");
    EXPECT_EQ(ev.env.at("DRIVER"), "led");
    EXPECT_EQ(write_attr(core(), "devices/platform/led0/uevent", "explode\n").err, EINVAL);
    EXPECT_EQ(write_attr(core(), "devices/platform/led0/uevent", "change 1 =x\n").err, EINVAL);
    EXPECT_EQ(events_.size(), 5u) << "a refused write emits nothing";

    ASSERT_TRUE(core().unbind("platform", "led", "led0"));
    EXPECT_EQ(events_.back().action, "unbind");
    EXPECT_EQ(events_.back().env.count("DRIVER"), 0u) << "as Linux: unbind is sent once the driver is gone";
    // The class device goes first, then the unbind: nothing else.
    auto after = core().events().since(5);
    ASSERT_EQ(after.size(), 2u);
    EXPECT_EQ(after[0].action + " " + after[0].devpath, "remove devices/platform/led0/leds/led0");
    EXPECT_EQ(after[1].action, "unbind");
}

TEST_F(DeviceModelTest, SuspendWalksNewestFirstAndResumeOldestFirst) {
    ASSERT_TRUE(core().load_plugin("fx_pm"));
    for (const char* d : {"pm0", "pm1", "pm2"}) ASSERT_TRUE(core().add_device("platform", d, {}));
    ASSERT_TRUE(core().add_device("platform", "lonely0", {}));  // unbound: suspended without a call
    ASSERT_TRUE(core().suspend());
    EXPECT_EQ(read_attr(core(), "devices/platform/pm0/pmlog").data, "suspend pm2\nsuspend pm1\nsuspend pm0\n");
    for (const char* d : {"pm0", "pm1", "pm2", "lonely0"})
        EXPECT_EQ(read_attr(core(), std::string("devices/platform/") + d + "/power/state").data, "suspended\n") << d;
    ASSERT_TRUE(core().resume());
    EXPECT_EQ(read_attr(core(), "devices/platform/pm0/pmlog").data,
              "suspend pm2\nsuspend pm1\nsuspend pm0\nresume pm0\nresume pm1\nresume pm2\n");
    EXPECT_EQ(read_attr(core(), "devices/platform/pm2/power/state").data, "active\n");
}

TEST_F(DeviceModelTest, AFailingSuspendAbortsAndResumesWhatWasSuspended) {
    ASSERT_TRUE(core().load_plugin("fx_pm"));
    for (const char* d : {"pm0", "pm1", "pm2"}) ASSERT_TRUE(core().add_device("platform", d, {}));
    ASSERT_EQ(write_attr(core(), "devices/platform/pm0/fail_suspend", "1").err, 0);
    auto s = core().suspend();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, EBUSY);
    EXPECT_NE(s.error().message.find("pm0"), std::string::npos) << s.error().message;
    EXPECT_EQ(read_attr(core(), "devices/platform/pm0/pmlog").data,
              "suspend pm2\nsuspend pm1\nresume pm1\nresume pm2\n");
    for (const char* d : {"pm0", "pm1", "pm2"})
        EXPECT_EQ(read_attr(core(), std::string("devices/platform/") + d + "/power/state").data, "active\n") << d;
}

TEST_F(DeviceModelTest, ShutdownCallsDriversNewestFirst) {
    dfs_test::LogCapture logs;
    ASSERT_TRUE(core().load_plugin("fx_pm"));
    for (const char* d : {"pm0", "pm1"}) ASSERT_TRUE(core().add_device("platform", d, {}));
    core().shutdown();
    EXPECT_TRUE(logs.contains("pm shutdown pm1"));
    EXPECT_TRUE(logs.contains("pm shutdown pm0"));
    EXPECT_TRUE(logs.before("pm shutdown pm1", "pm shutdown pm0"));
}

TEST_F(DeviceModelTest, ClassLinksFollowTheBinding) {
    ASSERT_TRUE(core().load_plugin("led"));
    ASSERT_TRUE(core().add_device("platform", "led0", {}));
    EXPECT_EQ(link_target("class/leds/led0"), "../../devices/platform/led0/leds/led0");
    ASSERT_TRUE(core().unbind("platform", "led", "led0"));
    EXPECT_EQ(core().tree().resolve("class/leds/led0"), nullptr);
    EXPECT_EQ(core().tree().resolve("devices/platform/led0/leds"), nullptr) << "its class device went with the binding";
    ASSERT_TRUE(core().bind("platform", "led", "led0"));
    EXPECT_EQ(link_target("class/leds/led0"), "../../devices/platform/led0/leds/led0");
    ASSERT_TRUE(core().unload_plugin("led"));
    EXPECT_EQ(core().tree().resolve("class/leds/led0"), nullptr);
}

TEST_F(DeviceModelTest, DeferredProbeIsRetriedWhenAnotherDeviceBinds) {
    ASSERT_TRUE(core().load_plugin("fx_defer"));
    ASSERT_TRUE(core().add_device("platform", "needy0", {}));
    EXPECT_EQ(bound_driver("needy0"), "") << "probe deferred";
    auto direct = core().bind("platform", "needy", "needy0");
    ASSERT_FALSE(direct);
    EXPECT_EQ(direct.error().code, EAGAIN);
    ASSERT_TRUE(core().add_device("platform", "supplier0", {}));
    EXPECT_EQ(bound_driver("supplier0"), "supplier");
    EXPECT_EQ(bound_driver("needy0"), "needy") << "retried after supplier0 bound";
}

// Matching a new device walks the driver list, pinning each (through the
// plugin gate). A driver unloaded while the walk is inside another driver's probe
// is skipped, never called, and its unload does not wait for the walk.
TEST_F(DeviceModelTest, ADriverUnloadedDuringAWalkIsSkipped) {
    // slow's probe is held at a gate, so the walk is still inside it when the
    // unload returns: an unload that waited for the walk would not return
    // before the gate opens, which the watchdog reports.
    dfs_test::Gate gate;
    ::setenv("DRIVERFS_FX_SLOWPROBE_GATE", gate.path().c_str(), 1);
    ASSERT_TRUE(core().load_plugin("fx_slowprobe"));  // first in the list
    ASSERT_TRUE(core().load_plugin("led"));
    std::thread walker([&] { EXPECT_TRUE(core().add_device("platform", "led0", {})); });
    auto let_go = [&] {
        gate.release();
        walker.join();
        ::unsetenv("DRIVERFS_FX_SLOWPROBE_GATE");
    };
    // Wait (bounded, generously) until the walk is inside slow's probe.
    auto slow = core().stubs().find("slow");
    const auto t0 = std::chrono::steady_clock::now();
    while (driverfs::running_calls(*slow).empty() && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30))
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (driverfs::running_calls(*slow).empty()) {
        let_go();
        FAIL() << "the walk never got inside slow's probe";
    }
    auto unloading = std::async(std::launch::async, [&] { return core().unload_plugin("led"); });
    if (unloading.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
        let_go();
        unloading.wait();
        FAIL() << "unload waited for a walk that held no pin on led";
    }
    EXPECT_TRUE(unloading.get());
    EXPECT_FALSE(driverfs::running_calls(*slow).empty()) << "the held probe ended while its gate was closed";
    let_go();
    EXPECT_EQ(bound_driver("led0"), "") << "led was unloaded mid-walk and must not have been probed";
    EXPECT_EQ(core().tree().resolve("devices/platform/led0/leds/led0/brightness"), nullptr);
}

TEST_F(DeviceModelTest, PluginBusMatchesWithItsOwnRuleAndGoesAtUnload) {
    ASSERT_TRUE(core().load_plugin("fx_bus"));
    EXPECT_NE(core().tree().resolve("bus/fxbus/drivers/fxdrv"), nullptr);
    EXPECT_EQ(bound_driver("fx0"), "fxdrv");
    EXPECT_EQ(bound_driver("fx1"), "") << "its `for` names no loaded driver";
    EXPECT_EQ(read_attr(core(), "devices/fxbus/fx0/id").data, "fx0\n");
    EXPECT_EQ(link_target("bus/fxbus/devices/fx0"), "../../../devices/fxbus/fx0");
    auto bus_stub = core().stubs().find("bus:fxbus");
    ASSERT_NE(bus_stub, nullptr);
    EXPECT_EQ(bus_stub->state(), driverfs::StubState::live);

    // Platform devices never match fxbus drivers, whatever their name.
    ASSERT_TRUE(core().add_device("platform", "fxdrv0", {}));
    EXPECT_EQ(bound_driver("fxdrv0"), "");

    ASSERT_TRUE(core().unload_plugin("fx_bus"));
    EXPECT_EQ(core().tree().resolve("bus/fxbus"), nullptr);
    EXPECT_EQ(core().tree().resolve("devices/fxbus"), nullptr);
    EXPECT_EQ(bound_driver("fx0"), "<no such device>");
    EXPECT_EQ(bus_stub->state(), driverfs::StubState::gone);

    ASSERT_TRUE(core().load_plugin("fx_bus"));
    EXPECT_EQ(bound_driver("fx0"), "fxdrv");
    EXPECT_EQ(core().stubs().find("bus:fxbus").get(), bus_stub.get()) << "the bus's stub is reused";
    EXPECT_EQ(bus_stub->generation(), 2u);
}

// An unloaded plugin's bus is freed with the last thing that holds it: a
// daemon that loads and unloads bus plugins all day must not grow (the
// 15-minute soak lost 4.3 KB per vbus unload to buses kept for good).
TEST_F(DeviceModelTest, AnUnloadedBusIsFreedOnceNothingHoldsIt) {
    ASSERT_TRUE(core().load_plugin("fx_bus"));
    ASSERT_TRUE(core().unload_plugin("fx_bus"));
    const size_t buses = driverfs::Bus::live();
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(core().load_plugin("fx_bus"));
        ASSERT_EQ(bound_driver("fx0"), "fxdrv");
        ASSERT_TRUE(core().unload_plugin("fx_bus"));
    }
    EXPECT_EQ(driverfs::Bus::live(), buses) << "each load/unload left a Bus behind";

    // A file held open on a device of the bus keeps the bus until it closes.
    ASSERT_TRUE(core().load_plugin("fx_bus"));
    auto held = driverfs::OpenFile::open(core().tree().resolve("devices/fxbus/fx0/id"), O_RDONLY);
    ASSERT_TRUE(held);
    ASSERT_TRUE(core().unload_plugin("fx_bus"));
    EXPECT_EQ(driverfs::Bus::live(), buses + 1);
    EXPECT_EQ(dfs_test::read_handle(*held.value()).err, ENODEV);
    held.value().reset();
    EXPECT_EQ(driverfs::Bus::live(), buses);
}

}  // namespace

namespace {

class BinaryAndGroupsTest : public ::testing::Test {
protected:
    void SetUp() override {
        plugins_.install(dfs_test::fixture_so("fx_eeprom"), "fx_eeprom.so");
        core_.emplace(CoreOptions{plugins_.path(), std::chrono::milliseconds(5000)});
        ASSERT_TRUE(core_->load_plugin("fx_eeprom"));
        ASSERT_TRUE(core_->add_device("platform", "eeprom0", {}));
    }
    std::unique_ptr<driverfs::OpenFile> open(const std::string& path, int flags) {
        auto f = driverfs::OpenFile::open(core_->tree().resolve(path), flags);
        EXPECT_TRUE(f) << path;
        return f ? std::move(f.value()) : nullptr;
    }
    std::string last_io() { return read_attr(*core_, "devices/platform/eeprom0/last_io").data; }

    dfs_test::PrivateDir plugins_;
    std::optional<Core> core_;
};

TEST_F(BinaryAndGroupsTest, BinaryAttributesGetExactOffsetsAndHonourTheirLength) {
    const std::string path = "devices/platform/eeprom0/eeprom";
    EXPECT_EQ(core_->tree().resolve(path)->ops()->size(), 10000u) << "stat size is the attribute's length";
    auto f = open(path, O_RDWR);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(dfs_test::read_handle(*f, 0, 10).data, "abcdefghij");
    EXPECT_EQ(last_io(), "read 0 10\n");
    EXPECT_EQ(dfs_test::read_handle(*f, 26 * 200 + 3, 3).data, "def");
    EXPECT_EQ(last_io(), "read 5203 3\n");
    EXPECT_EQ(dfs_test::read_handle(*f, 0, 6000).data.size(), 6000u) << "more than a page in one read";
    EXPECT_EQ(dfs_test::read_handle(*f, 9995, 100).data.size(), 5u) << "cut at the end";
    EXPECT_EQ(last_io(), "read 9995 5\n");
    EXPECT_EQ(dfs_test::read_handle(*f, 10000, 100).data, "") << "at the end: 0 bytes";
    EXPECT_EQ(last_io(), "read 9995 5\n") << "and the driver was not called";

    driverfs::NodePtr grouped = core_->tree().resolve("devices/platform/eeprom0/settings/mode");
    const uint64_t events_before = grouped->events.load();
    auto w = f->write("XY", 5000);
    ASSERT_TRUE(w);
    EXPECT_EQ(grouped->events.load(), events_before + 1) << "notify reaches an attribute by group/name";
    EXPECT_EQ(w.value(), 2u);
    EXPECT_EQ(last_io(), "write 5000 2\n");
    EXPECT_EQ(dfs_test::read_handle(*f, 4999, 4).data, std::string(1, static_cast<char>('a' + 4999 % 26)) + "XY" +
                                                           std::string(1, static_cast<char>('a' + 5002 % 26)));
    EXPECT_EQ(dfs_test::read_handle(*f, 5000, 2).data, "XY");
    auto past = f->write("Z", 10000);
    ASSERT_FALSE(past);
    EXPECT_EQ(past.error().code, EFBIG);
    auto cut = f->write("0123456789", 9995);
    ASSERT_TRUE(cut);
    EXPECT_EQ(cut.value(), 5u);
    EXPECT_EQ(last_io(), "write 9995 5\n");
}

TEST_F(BinaryAndGroupsTest, GroupsMakeSubdirectoriesAndHonourVisibility) {
    ASSERT_TRUE(core_->add_device("platform", "eeprom1", {{"secret", "1"}}));
    auto& tree = core_->tree();
    ASSERT_NE(tree.resolve("devices/platform/eeprom0/settings"), nullptr);
    EXPECT_EQ(tree.resolve("devices/platform/eeprom0/settings")->kind, driverfs::NodeKind::dir);
    EXPECT_EQ(tree.resolve("devices/platform/eeprom0/settings/mode")->mode(), 0400u) << "is_visible sets the mode";
    EXPECT_EQ(tree.resolve("devices/platform/eeprom0/settings/secret"), nullptr) << "hidden without secret=1";
    ASSERT_NE(tree.resolve("devices/platform/eeprom1/settings/secret"), nullptr);
    EXPECT_EQ(tree.resolve("devices/platform/eeprom1/settings/secret")->mode(), 0440u);
    EXPECT_EQ(read_attr(*core_, "devices/platform/eeprom1/settings/secret").data, "eeprom1:secret\n");
    EXPECT_EQ(read_attr(*core_, "devices/platform/eeprom0/serial").data, "eeprom0:serial\n") << "unnamed group";
    ASSERT_TRUE(core_->unbind("platform", "eeprom", "eeprom0"));
    EXPECT_EQ(tree.resolve("devices/platform/eeprom0/settings"), nullptr);
    EXPECT_EQ(tree.resolve("devices/platform/eeprom0/serial"), nullptr);
    EXPECT_EQ(tree.resolve("devices/platform/eeprom0/eeprom"), nullptr);
}

}  // namespace

namespace {

// Load, unload and device changes from several threads at once, as the
// randomized stress of issue 16 ran them: the daemon aborted when a bus
// plugin's start-up devices were added after its unload had removed the
// bus, and devices of one load landed on the next load's bus. Afterwards
// the model and the tree must agree: every registered device has its
// directory, no device is left on a bus that is gone.
class ConcurrentModelTest : public ::testing::Test {
protected:
    void SetUp() override {
        plugins_.install(dfs_test::plugin_so("vbus"), "vbus.so");
        setenv("DRIVERFS_VBUS_DEVICES", "20", 1);
        core_.emplace(CoreOptions{plugins_.path(), std::chrono::milliseconds(5000)});
    }
    void TearDown() override { unsetenv("DRIVERFS_VBUS_DEVICES"); }

    void expect_model_matches_tree() {
        for (const driverfs::DeviceInfo& d : core_->devices()) {
            driverfs::NodePtr dir = core_->tree().resolve(d.path);
            EXPECT_NE(dir, nullptr) << d.name << " is registered but " << d.path << " is gone";
            EXPECT_NE(core_->tree().resolve("bus/" + d.bus + "/devices/" + d.name), nullptr) << d.name;
            if (!d.parent.empty()) {
                EXPECT_NE(core_->tree().resolve(d.path.substr(0, d.path.rfind('/'))), nullptr) << d.name;
            }
        }
    }

    dfs_test::PrivateDir plugins_;
    std::optional<Core> core_;
};

TEST_F(ConcurrentModelTest, LoadUnloadAndDeviceChangesRaceWithoutLosingTheModel) {
    constexpr int kRounds = 40;
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    threads.emplace_back([&] {
        for (int i = 0; i < kRounds; ++i) (void)core_->load_plugin("vbus");
        stop = true;
    });
    threads.emplace_back([&] {
        while (!stop) (void)core_->unload_plugin("vbus");
    });
    // Devices added to the bus while it comes and goes, under its own names
    // and under names the plugin enumerates.
    threads.emplace_back([&] {
        for (int i = 0; !stop; i = (i + 1) % 60) {
            const std::string name = i % 2 ? "vbus" + std::to_string(i) : "extra" + std::to_string(i);
            (void)core_->add_device("vbus", name, {{"id", "8086:1234"}});
            (void)core_->remove_device("vbus", name);
        }
    });
    // A parent removed while children are added below it.
    threads.emplace_back([&] {
        while (!stop) {
            (void)core_->add_device("platform", "parent0", {});
            (void)core_->remove_device("parent0");
        }
    });
    threads.emplace_back([&] {
        for (int i = 0; !stop; i = (i + 1) % 20)
            (void)core_->add_device("platform", "child" + std::to_string(i), {}, "parent0");
    });
    for (std::thread& t : threads) t.join();

    expect_model_matches_tree();
    if (core_->tree().resolve("module/vbus/state") && read_attr(*core_, "module/vbus/state").data == "live\n") {
        ASSERT_TRUE(core_->unload_plugin("vbus"));
    }
    for (const driverfs::DeviceInfo& d : core_->devices()) EXPECT_NE(d.bus, "vbus") << d.name << " outlived its bus";
    EXPECT_EQ(core_->tree().resolve("devices/vbus"), nullptr);
    EXPECT_EQ(core_->tree().resolve("bus/vbus"), nullptr);
    // The bus comes back whole: all 20 enumerated devices, none refused as
    // "already exists" by a leftover of an earlier load.
    ASSERT_TRUE(core_->load_plugin("vbus"));
    size_t on_vbus = 0;
    for (const driverfs::DeviceInfo& d : core_->devices()) on_vbus += d.bus == "vbus";
    EXPECT_EQ(on_vbus, 20u);
    expect_model_matches_tree();
}

}  // namespace
