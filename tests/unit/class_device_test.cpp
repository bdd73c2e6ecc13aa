// Class devices (ABI 4, Linux's device_create) through the core API, with
// fx_classdev: the tree a class device makes and undoes, its attribute
// calls, %d naming, device numbers, its end at unbind, at a refused probe,
// by the plugin and at unload, its events, and a plugin with 20 Drivers.
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>

#include "core/core.hpp"
#include "test_util.hpp"

using driverfs::Core;
using driverfs::CoreOptions;
using driverfs::NodePtr;
using driverfs::Uevent;
using dfs_test::read_attr;
using dfs_test::write_attr;

namespace {

class ClassDeviceTest : public ::testing::Test {
protected:
    void SetUp() override {
        plugins_.install(dfs_test::fixture_so("fx_classdev"), "fx_classdev.so");
        core_.emplace(CoreOptions{plugins_.path(), std::chrono::milliseconds(5000)});
        sub_ = core_->events().subscribe([this](const Uevent& ev) { events_.push_back(ev); });
        auto r = core().load_plugin("fx_classdev");
        ASSERT_TRUE(r) << r.error().message;
    }
    void TearDown() override { core_->events().unsubscribe(sub_); }
    Core& core() { return *core_; }

    // A device for driver classdev, with `props`.
    driverfs::Status add_cd(const std::string& name, std::map<std::string, std::string> props) {
        props.emplace("compatible", "classdev");
        return core().add_device("platform", name, std::move(props));
    }
    NodePtr node(const std::string& path) { return core().tree().resolve(path); }
    std::string listing(const std::string& path) { return dfs_test::listing(core(), path); }
    std::string link_target(const std::string& path) {
        NodePtr n = node(path);
        return n && n->kind == driverfs::NodeKind::symlink ? n->target() : "<not a symlink>";
    }
    // Where the symlink at `path` leads, as a path from the root.
    std::string follow(const std::string& path) {
        std::filesystem::path p = std::filesystem::path(path).parent_path() / link_target(path);
        return p.lexically_normal().string();
    }
    std::string bound_driver(const std::string& dev) {
        for (const driverfs::DeviceInfo& d : core().devices())
            if (d.name == dev) return d.driver;
        return "<no such device>";
    }
    // "action devpath subsystem" of the events since `from` (an index).
    std::vector<std::string> event_lines(size_t from = 0) const {
        std::vector<std::string> out;
        for (size_t i = from; i < events_.size(); ++i)
            out.push_back(events_[i].action + " " + events_[i].devpath + " " + events_[i].subsystem);
        return out;
    }
    // Nothing of class `cls` is left below devices/platform/`dev` or in class/`cls`.
    void expect_no_class_device(const std::string& dev, const std::string& cls = "fxcls") {
        EXPECT_EQ(node("devices/platform/" + dev + "/" + cls), nullptr) << dev;
        EXPECT_EQ(listing("class/" + cls), "") << dev;
    }

    dfs_test::PrivateDir plugins_;
    std::optional<Core> core_;
    std::vector<Uevent> events_;  // delivered under the queue's lock, read after
    uint64_t sub_ = 0;
};

const std::string kCd0 = "devices/platform/cd0/fxcls/fxc0";

TEST_F(ClassDeviceTest, ProbeMakesOneBelowItsParentWithItsOwnFiles) {
    ASSERT_TRUE(add_cd("cd0", {}));
    ASSERT_EQ(bound_driver("cd0"), "classdev");
    NodePtr dir = node(kCd0);
    ASSERT_NE(dir, nullptr);
    EXPECT_EQ(dir->kind, driverfs::NodeKind::dir);
    // No driver, no driver_override, no dev (no number); opt/ is not visible.
    EXPECT_EQ(listing(kCd0), "device power subsystem toggle uevent value whoami");
    EXPECT_EQ(listing("devices/platform/cd0/fxcls"), "fxc0");
    EXPECT_EQ(link_target(kCd0 + "/subsystem"), "../../../../../class/fxcls");
    EXPECT_EQ(follow(kCd0 + "/subsystem"), "class/fxcls");
    EXPECT_EQ(link_target(kCd0 + "/device"), "../../../cd0");
    EXPECT_EQ(follow(kCd0 + "/device"), "devices/platform/cd0");
    EXPECT_EQ(link_target("class/fxcls/fxc0"), "../../devices/platform/cd0/fxcls/fxc0");
    EXPECT_EQ(follow("class/fxcls/fxc0"), kCd0);
    EXPECT_EQ(read_attr(core(), kCd0 + "/power/state").data, "active\n");
    EXPECT_EQ(read_attr(core(), kCd0 + "/uevent").data, "FXPROP=yes\n");
    // The class device's files are not the parent's.
    EXPECT_EQ(node("devices/platform/cd0/whoami"), nullptr);
    EXPECT_NE(node("devices/platform/cd0/drop"), nullptr);

    // A callback gets the class device's handle, its parent, the driver that
    // made it, and the drvdata it was made with (the State).
    EXPECT_EQ(read_attr(core(), kCd0 + "/whoami").data, "fxc0 parent=cd0 driver=classdev state=ok\n");
    EXPECT_EQ(read_attr(core(), kCd0 + "/value").data, "0\n");
    ASSERT_EQ(write_attr(core(), kCd0 + "/value", "42\n").err, 0);
    EXPECT_EQ(read_attr(core(), kCd0 + "/value").data, "42\n");
    EXPECT_EQ(write_attr(core(), kCd0 + "/value", "many").err, EINVAL) << "the plugin's errno";
    EXPECT_EQ(node(kCd0 + "/value")->mode(), 0644u);
    EXPECT_EQ(node(kCd0 + "/whoami")->mode(), 0444u);
}

TEST_F(ClassDeviceTest, UpdateGroupAddsAndRemovesAClassDevicesFiles) {
    ASSERT_TRUE(add_cd("cd0", {}));
    ASSERT_TRUE(add_cd("cd1", {{"opt", "1"}}));
    const std::string cd1 = "devices/platform/cd1/fxcls/fxc1";
    // is_visible at creation, asked with the class device's handle.
    EXPECT_EQ(node(kCd0 + "/opt"), nullptr);
    EXPECT_EQ(read_attr(core(), cd1 + "/opt/knob").data, "knob\n");

    ASSERT_EQ(write_attr(core(), kCd0 + "/toggle", "1").err, 0);
    EXPECT_EQ(listing(kCd0 + "/opt"), "knob");
    EXPECT_EQ(read_attr(core(), kCd0 + "/opt/knob").data, "knob\n");
    EXPECT_EQ(listing(cd1 + "/opt"), "knob") << "cd1's class device is not touched";
    ASSERT_EQ(write_attr(core(), cd1 + "/toggle", "1").err, 0);
    EXPECT_EQ(node(cd1 + "/opt"), nullptr) << "an emptied named group keeps no directory";
    EXPECT_NE(node(kCd0 + "/opt/knob"), nullptr);
    ASSERT_EQ(write_attr(core(), kCd0 + "/toggle", "1").err, 0);
    EXPECT_EQ(node(kCd0 + "/opt"), nullptr);
}

TEST_F(ClassDeviceTest, PercentDTakesTheLowestFreeNumberInTheClass) {
    ASSERT_TRUE(add_cd("cd0", {{"cname", "x%d"}}));
    ASSERT_TRUE(add_cd("cd1", {{"cname", "x%d"}}));
    EXPECT_EQ(follow("class/fxcls/x0"), "devices/platform/cd0/fxcls/x0");
    EXPECT_EQ(follow("class/fxcls/x1"), "devices/platform/cd1/fxcls/x1");
    EXPECT_EQ(read_attr(core(), "devices/platform/cd1/fxcls/x1/whoami").data,
              "x1 parent=cd1 driver=classdev state=ok\n");
    ASSERT_TRUE(core().remove_device("cd0"));
    EXPECT_EQ(listing("class/fxcls"), "x1");
    ASSERT_TRUE(add_cd("cd2", {{"cname", "x%d"}}));
    EXPECT_EQ(listing("class/fxcls"), "x0 x1");
    EXPECT_EQ(follow("class/fxcls/x0"), "devices/platform/cd2/fxcls/x0");
    ASSERT_TRUE(add_cd("cd3", {{"cname", "x%d"}}));
    EXPECT_EQ(follow("class/fxcls/x2"), "devices/platform/cd3/fxcls/x2");
    // The number is per class.
    ASSERT_TRUE(add_cd("cd4", {{"cls", "other"}, {"cname", "x%d"}}));
    EXPECT_EQ(follow("class/other/x0"), "devices/platform/cd4/other/x0");
}

TEST_F(ClassDeviceTest, ATakenOrBadNameRefusesTheProbeAndLeavesNothing) {
    ASSERT_TRUE(add_cd("cd0", {{"cname", "same"}}));
    ASSERT_TRUE(add_cd("cd1", {{"cname", "same"}}));
    EXPECT_EQ(bound_driver("cd0"), "classdev");
    EXPECT_EQ(bound_driver("cd1"), "") << "EEXIST from class_device_create refuses the probe";
    EXPECT_EQ(follow("class/fxcls/same"), "devices/platform/cd0/fxcls/same");
    EXPECT_EQ(node("devices/platform/cd1/fxcls"), nullptr);
    int n = 0;
    for (const char* bad : {"a/b", "", "two%d%d", "pct%s", ".."}) {
        const std::string dev = "bad" + std::to_string(n++);
        ASSERT_TRUE(add_cd(dev, {{"cname", bad}}));
        EXPECT_EQ(bound_driver(dev), "") << "'" << bad << "'";
        EXPECT_EQ(node("devices/platform/" + dev + "/fxcls"), nullptr) << "'" << bad << "'";
    }
    EXPECT_EQ(listing("class/fxcls"), "same");
    // A class named like an entry the device already has is refused, and
    // that entry is left as it was.
    ASSERT_TRUE(add_cd("cd2", {{"cls", "power"}}));
    EXPECT_EQ(bound_driver("cd2"), "") << "a class named power would have reused the device's power/";
    EXPECT_EQ(listing("devices/platform/cd2/power"), "state");
    EXPECT_EQ(node("class/power"), nullptr);
}

TEST_F(ClassDeviceTest, ADeviceNumberGivesDevAndADevLink) {
    ASSERT_TRUE(add_cd("cd0", {{"major", "240"}, {"minor", "3"}}));
    EXPECT_EQ(read_attr(core(), kCd0 + "/dev").data, "240:3\n");
    EXPECT_EQ(node(kCd0 + "/dev")->mode(), 0444u);
    EXPECT_EQ(link_target("dev/char/240:3"), "../../devices/platform/cd0/fxcls/fxc0");
    EXPECT_EQ(follow("dev/char/240:3"), kCd0);
    EXPECT_EQ(node("dev/block/240:3"), nullptr);
    // As Linux: a class device's uevent has its number and name, no driver.
    EXPECT_EQ(read_attr(core(), kCd0 + "/uevent").data, "MAJOR=240\nMINOR=3\nDEVNAME=fxc0\nFXPROP=yes\n");

    ASSERT_TRUE(add_cd("cd1", {{"major", "8"}, {"minor", "16"}, {"block", "1"}}));
    const std::string cd1 = "devices/platform/cd1/fxcls/fxc1";
    EXPECT_EQ(read_attr(core(), cd1 + "/dev").data, "8:16\n");
    EXPECT_EQ(follow("dev/block/8:16"), cd1);
    EXPECT_EQ(node("dev/char/8:16"), nullptr);

    // A number already taken refuses the class device, and so the probe.
    ASSERT_TRUE(add_cd("cd2", {{"major", "240"}, {"minor", "3"}}));
    EXPECT_EQ(bound_driver("cd2"), "");
    EXPECT_EQ(follow("dev/char/240:3"), kCd0);
    EXPECT_EQ(listing("class/fxcls"), "fxc0 fxc1");
    EXPECT_EQ(node("devices/platform/cd2/fxcls"), nullptr) << listing("devices/platform/cd2/fxcls");
}

TEST_F(ClassDeviceTest, UnbindRemovesTheClassDeviceAndEverythingPointingAtIt) {
    ASSERT_TRUE(add_cd("cd0", {{"major", "240"}, {"minor", "3"}}));
    ASSERT_NE(node(kCd0), nullptr);
    NodePtr value = node(kCd0 + "/value");
    ASSERT_NE(value, nullptr);
    ASSERT_TRUE(core().unbind("platform", "classdev", "cd0"));
    EXPECT_EQ(bound_driver("cd0"), "");
    expect_no_class_device("cd0");
    EXPECT_EQ(node("dev/char/240:3"), nullptr);
    EXPECT_TRUE(value->removed());
    EXPECT_NE(node("class/fxcls"), nullptr) << "a class stays, as in Linux";
    // Bound again, it is made again.
    ASSERT_TRUE(core().bind("platform", "classdev", "cd0"));
    EXPECT_EQ(read_attr(core(), kCd0 + "/whoami").data, "fxc0 parent=cd0 driver=classdev state=ok\n");
    EXPECT_EQ(follow("dev/char/240:3"), kCd0);
    // remove_device unbinds first.
    ASSERT_TRUE(core().remove_device("cd0"));
    expect_no_class_device("cd0");
    EXPECT_EQ(node("dev/char/240:3"), nullptr);
}

TEST_F(ClassDeviceTest, AFailingProbeLeavesNothing) {
    // The SDK destroys the State's class device from inside probe.
    ASSERT_TRUE(add_cd("cd0", {{"fail", "5"}, {"major", "240"}}));
    EXPECT_EQ(bound_driver("cd0"), "");
    expect_no_class_device("cd0");
    EXPECT_EQ(listing("dev/char"), "");
    // This one also leaks one the host must destroy.
    ASSERT_TRUE(add_cd("cd1", {{"fail", "19"}, {"leak", "1"}}));
    EXPECT_EQ(bound_driver("cd1"), "");
    expect_no_class_device("cd1");
    // Each was there, for a while: an add and a remove event each, no bind.
    size_t adds = 0, removes = 0, binds = 0;
    for (const Uevent& ev : events_) {
        adds += ev.action == "add" && ev.subsystem == "fxcls";
        removes += ev.action == "remove" && ev.subsystem == "fxcls";
        binds += ev.action == "bind";
    }
    EXPECT_EQ(adds, 3u);
    EXPECT_EQ(removes, 3u);
    EXPECT_EQ(binds, 0u);
    // The names are free again.
    ASSERT_TRUE(add_cd("cd2", {}));
    EXPECT_EQ(listing("class/fxcls"), "fxc0");
}

TEST_F(ClassDeviceTest, ThePluginDestroysOneFromACallbackOrItsOwnThread) {
    ASSERT_TRUE(add_cd("cd0", {{"major", "240"}, {"minor", "3"}}));
    ASSERT_TRUE(add_cd("cd1", {}));
    NodePtr value = node(kCd0 + "/value");
    ASSERT_NE(value, nullptr);
    // From a store of the parent: the call in flight is not the class device's.
    ASSERT_EQ(write_attr(core(), "devices/platform/cd0/drop", "1").err, 0);
    EXPECT_EQ(node("devices/platform/cd0/fxcls"), nullptr);
    EXPECT_EQ(node("class/fxcls/fxc0"), nullptr);
    EXPECT_EQ(node("dev/char/240:3"), nullptr);
    EXPECT_TRUE(value->removed());
    EXPECT_EQ(bound_driver("cd0"), "classdev") << "the parent stays bound";
    // From a plugin thread.
    ASSERT_EQ(write_attr(core(), "devices/platform/cd1/drop_async", "1").err, 0);
    expect_no_class_device("cd1");
    EXPECT_EQ(bound_driver("cd1"), "classdev");
    // Unbinding afterwards destroys nothing twice.
    ASSERT_TRUE(core().unbind("platform", "classdev", "cd0"));
    ASSERT_TRUE(core().remove_device("cd1"));
    size_t removes = 0;
    for (const Uevent& ev : events_) removes += ev.action == "remove" && ev.subsystem == "fxcls";
    EXPECT_EQ(removes, 2u);
}

TEST_F(ClassDeviceTest, APluginThreadMakesMoreWhileTheParentIsBound) {
    ASSERT_TRUE(add_cd("cd0", {{"nocdev", "1"}}));
    ASSERT_EQ(bound_driver("cd0"), "classdev");
    EXPECT_EQ(node("devices/platform/cd0/fxcls"), nullptr);
    ASSERT_EQ(write_attr(core(), "devices/platform/cd0/spawn", "extra%d").err, 0);
    ASSERT_EQ(write_attr(core(), "devices/platform/cd0/spawn", "extra%d").err, 0);
    EXPECT_EQ(listing("devices/platform/cd0/fxcls"), "extra0 extra1");
    EXPECT_EQ(read_attr(core(), "devices/platform/cd0/fxcls/extra1/whoami").data,
              "extra1 parent=cd0 driver=classdev state=ok\n");
    EXPECT_EQ(write_attr(core(), "devices/platform/cd0/spawn", "extra0").err, EEXIST);
    EXPECT_EQ(write_attr(core(), "devices/platform/cd0/spawn", "a/b").err, EINVAL);
    EXPECT_EQ(listing("class/fxcls"), "extra0 extra1");
    ASSERT_TRUE(core().unbind("platform", "classdev", "cd0"));
    expect_no_class_device("cd0");
}

TEST_F(ClassDeviceTest, UnloadLeavesOnlyTheEmptyClassDirectory) {
    ASSERT_TRUE(add_cd("cd0", {{"major", "240"}, {"minor", "3"}}));
    ASSERT_TRUE(add_cd("cd1", {{"major", "8"}, {"minor", "1"}, {"block", "1"}}));
    ASSERT_TRUE(add_cd("cd2", {{"cls", "second"}}));
    ASSERT_EQ(write_attr(core(), "devices/platform/cd2/spawn", "y%d").err, 0);
    NodePtr value = node(kCd0 + "/value");
    ASSERT_NE(value, nullptr);
    ASSERT_TRUE(core().unload_plugin("fx_classdev"));
    for (const char* dev : {"cd0", "cd1"}) expect_no_class_device(dev);
    expect_no_class_device("cd2", "second");
    EXPECT_EQ(listing("class/fxcls"), "");
    EXPECT_EQ(listing("class/second"), "");
    EXPECT_EQ(listing("dev/char"), "");
    EXPECT_EQ(listing("dev/block"), "");
    EXPECT_TRUE(value->removed());
    EXPECT_EQ(listing("devices/platform/cd0"), "driver_override power subsystem uevent") << "the device stays";
    // Once no file is held, nothing holds the drivers: their stub records can go.
    value.reset();
    EXPECT_EQ(core().purge(), 21u);
    EXPECT_EQ(core().stubs().inactive_count(), 0u);
}

TEST_F(ClassDeviceTest, ItsAddComesBeforeTheBindAndItsRemoveBeforeTheUnbind) {
    const size_t from = events_.size();
    ASSERT_TRUE(add_cd("cd0", {{"major", "240"}, {"minor", "3"}}));
    ASSERT_TRUE(core().unbind("platform", "classdev", "cd0"));
    EXPECT_EQ(event_lines(from), (std::vector<std::string>{
                                     "add devices/platform/cd0 platform",
                                     "add devices/platform/cd0/fxcls/fxc0 fxcls",
                                     "bind devices/platform/cd0 platform",
                                     "remove devices/platform/cd0/fxcls/fxc0 fxcls",
                                     "unbind devices/platform/cd0 platform",
                                 }));
    ASSERT_EQ(events_.size(), from + 5);
    for (size_t i : {from + 1, from + 3}) {
        const Uevent& ev = events_[i];
        EXPECT_EQ(ev.env.count("DRIVER"), 0u) << ev.action << ": a class device is never bound";
        EXPECT_EQ(ev.env.at("MAJOR"), "240") << ev.action;
        EXPECT_EQ(ev.env.at("MINOR"), "3") << ev.action;
        EXPECT_EQ(ev.env.at("DEVNAME"), "fxc0") << ev.action;
    }
    EXPECT_EQ(events_[from + 2].env.at("DRIVER"), "classdev");
    EXPECT_EQ(events_[from].env.count("MAJOR"), 0u) << "the parent has no number";
}

TEST_F(ClassDeviceTest, TwentyDriversInOnePluginEachProbeTheirOwn) {
    auto mods = core().modules();
    const driverfs::ModuleInfo* mod = dfs_test::find_module(mods, "fx_classdev");
    ASSERT_NE(mod, nullptr);
    EXPECT_EQ(mod->drivers.size(), 21u);
    // Last registered first: a probe reaching the wrong driver cannot line up by chance.
    for (int i = 19; i >= 0; --i) {
        const std::string dev = "mdev" + std::to_string(i), drv = "many" + std::to_string(i);
        ASSERT_TRUE(core().add_device("platform", dev, {{"compatible", drv}}));
        EXPECT_EQ(bound_driver(dev), drv);
        EXPECT_EQ(read_attr(core(), "devices/platform/" + dev + "/probed_by").data, drv + "\n");
    }
    ASSERT_TRUE(core().unload_plugin("fx_classdev"));
    for (const driverfs::DeviceInfo& d : core().devices()) EXPECT_EQ(d.driver, "") << d.name;
}

}  // namespace

// A class device of no device: devices/virtual/<class>/<name>, owned by a
// driver rather than a binding, so it outlives the device whose store made it.
TEST_F(ClassDeviceTest, OneOfNoDeviceLivesInVirtualUntilDestroyedOrUnloaded) {
    ASSERT_TRUE(add_cd("cd0", {{"nocdev", "1"}}));
    ASSERT_EQ(write_attr(core(), "devices/platform/cd0/vspawn", "v0").err, 0);
    const std::string v0 = "devices/virtual/fxvirt/v0";
    EXPECT_EQ(listing(v0), "power subsystem uevent whoami");
    EXPECT_EQ(link_target("class/fxvirt/v0"), "../../devices/virtual/fxvirt/v0");
    EXPECT_EQ(follow(v0 + "/subsystem"), "class/fxvirt");
    EXPECT_EQ(read_attr(core(), v0 + "/whoami").data, "v0 parent=- driver=classdev\n");
    EXPECT_EQ(write_attr(core(), "devices/platform/cd0/vspawn", "v0").err, EEXIST);
    EXPECT_EQ(event_lines().back(), "add devices/virtual/fxvirt/v0 fxvirt");

    // Not the binding's: unbinding cd0 leaves it; its driver's code stays reachable.
    ASSERT_TRUE(core().unbind("platform", "classdev", "cd0"));
    EXPECT_EQ(read_attr(core(), v0 + "/whoami").data, "v0 parent=- driver=classdev\n");
    ASSERT_TRUE(core().bind("platform", "classdev", "cd0"));

    // Destroyed by the plugin.
    ASSERT_EQ(write_attr(core(), "devices/platform/cd0/vdrop", "1").err, 0);
    EXPECT_EQ(node(v0), nullptr);
    EXPECT_EQ(listing("class/fxvirt"), "");
    EXPECT_EQ(event_lines().back(), "remove devices/virtual/fxvirt/v0 fxvirt");

    // Destroyed by the plugin's exit, and left by it to the host: at unload
    // both go, and an fd's worth of node held across it answers ENODEV.
    ASSERT_EQ(write_attr(core(), "devices/platform/cd0/vspawn", "v1").err, 0);
    NodePtr held = node("devices/virtual/fxvirt/v1/whoami");
    ASSERT_NE(held, nullptr);
    ASSERT_TRUE(core().unload_plugin("fx_classdev"));
    EXPECT_EQ(listing("class/fxvirt"), "");
    EXPECT_TRUE(held->removed());
    ASSERT_TRUE(core().load_plugin("fx_classdev"));
    ASSERT_EQ(write_attr(core(), "devices/platform/cd0/vspawn", "v2").err, 0);
    ASSERT_EQ(write_attr(core(), "devices/platform/cd0/vkeep", "1").err, 0);
    ASSERT_TRUE(core().unload_plugin("fx_classdev"));
    EXPECT_EQ(listing("class/fxvirt"), "") << "the host destroys what exit() left";
    EXPECT_EQ(node("devices/virtual/fxvirt/v2"), nullptr);
    held.reset();
    EXPECT_EQ(core().purge(), 21u) << "nothing of a class device holds its driver after unload";
}
