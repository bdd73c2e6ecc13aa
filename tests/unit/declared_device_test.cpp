// Declarative devices in the core, without FUSE: the tree a description
// makes, recorded values through the shared file operations, all-or-nothing
// adds, removal by path, events, and a plugin driver binding over them.
#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <thread>

#include "core/core.hpp"
#include "core/declared.hpp"
#include "core/device_description.hpp"
#include "test_util.hpp"

using driverfs::Core;
using driverfs::CoreOptions;
using driverfs::DeclaredAttr;
using driverfs::DeclaredDevice;
using driverfs::DeclaredDevnum;
using dfs_test::listing;
using dfs_test::read_attr;
using dfs_test::write_attr;

namespace {

class DeclaredTest : public ::testing::Test {
protected:
    void SetUp() override {
        plugins_.install(dfs_test::fixture_so("fx_pm"), "fx_pm.so");
        core_.emplace(CoreOptions{plugins_.path(), std::chrono::milliseconds(5000)});
    }
    Core& core() { return *core_; }
    std::string target(const std::string& path) {
        auto n = core().tree().resolve(path);
        return n ? n->target() : "<missing>";
    }
    // The last event for `devpath` with `action`, or nullopt.
    std::optional<driverfs::Uevent> event(const std::string& action, const std::string& devpath) {
        std::optional<driverfs::Uevent> out;
        for (const auto& ev : core().events().since(0))
            if (ev.action == action && ev.devpath == devpath) out = ev;
        return out;
    }

    dfs_test::PrivateDir plugins_;
    std::optional<Core> core_;
};

DeclaredDevice pci_host() {
    DeclaredDevice d;
    d.path = "devices/pci0000:00";
    d.properties = {{"X", "1"}};
    return d;
}

DeclaredDevice pci_dev() {
    DeclaredDevice d;
    d.path = "devices/pci0000:00/0000:00:1f.3";
    d.bus = "pci";
    d.driver = "snd_hda_intel";
    d.properties = {{"PCI_ID", "8086:A348"}, {"MODALIAS", "pci:v00008086d0000A348"}};
    d.attributes = {{"vendor", "0x8086\n", 0444, false},
                    {"power/control", "auto\n", 0644, false},
                    {"config", std::string("\x86\x80\x48\xa3", 4), 0644, true},
                    {"label", "x\n", 0644, false}};
    return d;
}

DeclaredDevice sound_card() {
    DeclaredDevice d;
    d.path = "devices/pci0000:00/0000:00:1f.3/sound/card0/controlC0";
    d.cls = "sound";
    d.devnum = DeclaredDevnum{false, 116, 2};
    d.devnode = "snd/controlC0";
    d.udev = {{"ID_PATH", "pci-0000:00:1f.3"}};
    d.devlinks = {"/dev/snd/by-path/pci-0000:00:1f.3"};
    d.links = {{"device", "../../../0000:00:1f.3"}};
    return d;
}

}  // namespace

// One function writes every declarative device's uevent: one without a
// subsystem (never bound) has the core's lines first too, as dev_uevent.
TEST_F(DeclaredTest, UeventWithoutSubsystemHasTheCoresLinesFirst) {
    DeclaredDevice d;
    d.path = "devices/node0";
    d.properties = {{"X", "1"}, {"DEVTYPE", "t"}};
    d.devnum = DeclaredDevnum{false, 10, 3};
    d.devnode = "misc/node0";
    auto r = core().add_declared_device(d);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(read_attr(core(), "devices/node0/uevent").data, "MAJOR=10\nMINOR=3\nDEVNAME=misc/node0\nDEVTYPE=t\nX=1\n");
    EXPECT_EQ(read_attr(core(), "devices/node0/dev").data, "10:3\n") << "the dev file and the uevent agree";
}

TEST_F(DeclaredTest, MakesTheTreeLinuxHas) {
    ASSERT_TRUE(core().add_declared_device(pci_host()));
    auto r = core().add_declared_device(pci_dev());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r.value());
    r = core().add_declared_device(sound_card());
    ASSERT_TRUE(r) << r.error().message;

    // No subsystem: no subsystem link; its uevent has only its own lines.
    EXPECT_EQ(target("devices/pci0000:00/subsystem"), "<missing>");
    EXPECT_EQ(read_attr(core(), "devices/pci0000:00/uevent").data, "X=1\n");
    // A bus the description made, laid out as every bus.
    EXPECT_EQ(listing(core(), "bus/pci"), "delete_device devices drivers drivers_autoprobe drivers_probe new_device");
    EXPECT_EQ(target("bus/pci/devices/0000:00:1f.3"), "../../../devices/pci0000:00/0000:00:1f.3");
    EXPECT_EQ(listing(core(), "devices/pci"), "<none>") << "a description's bus has no devices/<bus>";
    const std::string dev = "devices/pci0000:00/0000:00:1f.3/";
    EXPECT_EQ(target(dev + "subsystem"), "../../../bus/pci");
    EXPECT_EQ(target(dev + "driver"), "../../../bus/pci/drivers/snd_hda_intel");
    EXPECT_EQ(target("bus/pci/drivers/snd_hda_intel/0000:00:1f.3"), "../../../../devices/pci0000:00/0000:00:1f.3");
    bool listed = false;
    for (const auto& info : core().devices())
        if (info.name == "0000:00:1f.3") listed = info.driver == "snd_hda_intel" && info.bus == "pci" &&
                                                  info.path == "devices/pci0000:00/0000:00:1f.3";
    EXPECT_TRUE(listed) << "driverfsctl devices lists it with its code-less driver";
    EXPECT_EQ(read_attr(core(), dev + "uevent").data,
              "DRIVER=snd_hda_intel\nPCI_ID=8086:A348\nMODALIAS=pci:v00008086d0000A348\n") << "properties in the given order";
    EXPECT_EQ(read_attr(core(), dev + "vendor").data, "0x8086\n");
    EXPECT_EQ(read_attr(core(), dev + "power/control").data, "auto\n");
    EXPECT_EQ(listing(core(), dev + "power"), "control") << "power/ as Linux has it: what was recorded, no power/state";
    EXPECT_EQ(core().tree().resolve(dev + "vendor")->mode(), 0444u);
    EXPECT_EQ(core().tree().resolve(dev + "power/control")->mode(), 0644u);
    // The class device: glue directory, devnum, class link.
    const std::string cdev = dev + "sound/card0/controlC0/";
    EXPECT_EQ(core().tree().resolve(dev + "sound/uevent"), nullptr) << "undescribed ancestors are plain directories";
    EXPECT_EQ(target(cdev + "subsystem"), "../../../../../../class/sound");
    EXPECT_EQ(target("class/sound/controlC0"), "../../devices/pci0000:00/0000:00:1f.3/sound/card0/controlC0");
    EXPECT_EQ(target("dev/char/116:2"), "../../devices/pci0000:00/0000:00:1f.3/sound/card0/controlC0");
    EXPECT_EQ(target(cdev + "device"), "../../../0000:00:1f.3");
    EXPECT_EQ(read_attr(core(), cdev + "dev").data, "116:2\n");
    EXPECT_EQ(read_attr(core(), cdev + "uevent").data, "MAJOR=116\nMINOR=2\nDEVNAME=snd/controlC0\n");

    // Events: udev's keys go with the event, never into the uevent file.
    auto add = event("add", "devices/pci0000:00/0000:00:1f.3/sound/card0/controlC0");
    ASSERT_TRUE(add.has_value());
    EXPECT_EQ(add->subsystem, "sound");
    EXPECT_EQ(add->env["DEVNAME"], "snd/controlC0");
    EXPECT_EQ(add->env["ID_PATH"], "pci-0000:00:1f.3");
    EXPECT_EQ(add->env["DEVLINKS"], "/dev/snd/by-path/pci-0000:00:1f.3");
    auto pci_add = event("add", "devices/pci0000:00/0000:00:1f.3");
    ASSERT_TRUE(pci_add.has_value());
    EXPECT_EQ(pci_add->env["DRIVER"], "snd_hda_intel");
    EXPECT_FALSE(event("add", "devices/pci0000:00").has_value()) << "Linux sends no event without a subsystem";
}

TEST_F(DeclaredTest, WritableValuesAreKeptAndReadOnlyOnesRefused) {
    ASSERT_TRUE(core().add_declared_device(pci_dev()));
    const std::string dev = "devices/pci0000:00/0000:00:1f.3/";
    auto before = core().tree().resolve(dev + "label")->events.load();
    EXPECT_EQ(write_attr(core(), dev + "label", "changed\n").err, 0);
    EXPECT_EQ(read_attr(core(), dev + "label").data, "changed\n");
    EXPECT_GT(core().tree().resolve(dev + "label")->events.load(), before) << "a write wakes pollers";
    EXPECT_EQ(dfs_test::open_errno(core(), dev + "vendor", O_WRONLY), EACCES);
    // Binary: bytes at an offset, size what is stored.
    auto bin = core().tree().resolve(dev + "config");
    ASSERT_NE(bin, nullptr);
    EXPECT_TRUE(bin->ops()->binary());
    EXPECT_EQ(bin->ops()->size(), 4u);
    char buf[8] = {};
    auto n = bin->ops()->read_at(buf, sizeof buf, 1);
    ASSERT_TRUE(n);
    EXPECT_EQ(std::string(buf, n.value()), std::string("\x80\x48\xa3", 3));
    ASSERT_TRUE(bin->ops()->write_at("ZZ", 6));
    EXPECT_EQ(bin->ops()->size(), 8u);
    auto big = bin->ops()->write_at("x", DeclaredAttr::kMaxBinary);
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error().code, EFBIG);
}

// driverfsctl set-attribute: any recorded value changes, read-only or not,
// named through links as a user names it; nothing else does.
TEST_F(DeclaredTest, SetRecordedAttributeFollowsLinksAndTouchesNothingElse) {
    DeclaredDevice looped = sound_card();
    looped.links.emplace_back("loop", "loop");
    ASSERT_TRUE(core().add_declared_device(pci_dev()));
    ASSERT_TRUE(core().add_declared_device(looped));
    auto& tree = core().tree();
    const std::string dev = "devices/pci0000:00/0000:00:1f.3/";
    auto before = tree.resolve(dev + "vendor")->events.load();
    ASSERT_TRUE(driverfs::set_recorded_attribute(tree, "bus/pci/devices/0000:00:1f.3/vendor", "0x1022\n"));
    EXPECT_EQ(read_attr(core(), dev + "vendor").data, "0x1022\n");
    EXPECT_GT(tree.resolve(dev + "vendor")->events.load(), before) << "pollers wake";
    EXPECT_EQ(tree.resolve(dev + "vendor")->mode(), 0444u) << "the mode stays";
    ASSERT_TRUE(driverfs::set_recorded_attribute(tree, "class/sound/controlC0/../../../label", "l"));
    EXPECT_EQ(read_attr(core(), dev + "label").data, "l");

    auto code = [&](const std::string& path, std::string_view bytes = "1") {
        auto r = driverfs::set_recorded_attribute(tree, path, bytes);
        return r ? 0 : r.error().code;
    };
    EXPECT_EQ(code(dev + "uevent"), EINVAL) << "the core's own file";
    EXPECT_EQ(code("devices/pci0000:00/0000:00:1f.3"), EINVAL) << "a directory";
    EXPECT_EQ(code(dev + "nosuch"), ENOENT);
    EXPECT_EQ(code(dev + "vendor/x"), ENOTDIR);
    EXPECT_EQ(code("class/sound/controlC0/loop/x"), ELOOP);
    EXPECT_EQ(code(dev + "config", std::string(DeclaredAttr::kMaxBinary + 1, 'x')), EFBIG);
    EXPECT_EQ(code(dev + "label", std::string(DeclaredAttr::kMaxText + 1, 'x')), EINVAL);
    EXPECT_EQ(read_attr(core(), dev + "label").data, "l") << "a refused value changes nothing";
}

TEST_F(DeclaredTest, ApplyingTwiceIsHarmlessAndAClashIsRefused) {
    ASSERT_TRUE(core().add_declared_device(pci_dev()));
    auto again = core().add_declared_device(pci_dev());
    ASSERT_TRUE(again);
    EXPECT_FALSE(again.value()) << "same path, same subsystem: kept";
    DeclaredDevice other = pci_dev();
    other.bus = "usb";
    other.driver.clear();
    auto clash = core().add_declared_device(other);
    ASSERT_FALSE(clash);
    EXPECT_EQ(clash.error().code, EEXIST);
    EXPECT_EQ(listing(core(), "bus/usb"), "<none>") << "nothing of the refused one stays";
}

TEST_F(DeclaredTest, AFailureHalfWayLeavesNothing) {
    ASSERT_TRUE(core().add_declared_device(sound_card()));
    const auto nodes = core().stats().nodes;
    DeclaredDevice d;
    d.path = "devices/virtual/misc/other";
    d.cls = "misc";
    d.attributes = {{"a", "1\n", 0444, false}};
    d.devnum = DeclaredDevnum{false, 116, 2};  // taken by controlC0
    auto r = core().add_declared_device(d);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EEXIST);
    EXPECT_EQ(r.error().message, "devnum: device number 116:2 is taken");
    EXPECT_EQ(core().tree().resolve("devices/virtual/misc/other"), nullptr);
    EXPECT_EQ(core().tree().resolve("class/misc/other"), nullptr);
    EXPECT_EQ(core().stats().nodes, nodes + 1) << "only the class directory, made on first use as Linux's class";
}

TEST_F(DeclaredTest, RemovalByPathTakesTheSubtreeDeepestFirst) {
    ASSERT_TRUE(core().add_declared_device(pci_host()));
    ASSERT_TRUE(core().add_declared_device(pci_dev()));
    ASSERT_TRUE(core().add_declared_device(sound_card()));
    auto r = core().remove_declared_device("devices/pci0000:00/0000:00:1f.3");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(core().tree().resolve("devices/pci0000:00/0000:00:1f.3"), nullptr);
    EXPECT_EQ(core().tree().resolve("class/sound/controlC0"), nullptr);
    EXPECT_EQ(core().tree().resolve("dev/char/116:2"), nullptr);
    EXPECT_EQ(core().tree().resolve("bus/pci/devices/0000:00:1f.3"), nullptr);
    EXPECT_EQ(core().tree().resolve("bus/pci/drivers/snd_hda_intel/0000:00:1f.3"), nullptr);
    EXPECT_NE(core().tree().resolve("devices/pci0000:00/uevent"), nullptr);
    // Children's remove events before their parent's.
    uint64_t child = 0, parent = 0;
    for (const auto& ev : core().events().since(0)) {
        if (ev.action != "remove") continue;
        if (ev.devpath == "devices/pci0000:00/0000:00:1f.3/sound/card0/controlC0") child = ev.seqnum;
        if (ev.devpath == "devices/pci0000:00/0000:00:1f.3") parent = ev.seqnum;
    }
    EXPECT_NE(child, 0u);
    EXPECT_GT(parent, child);
    ASSERT_TRUE(core().remove_declared_device("devices/pci0000:00"));
    EXPECT_EQ(listing(core(), "devices"), "platform") << "the plain directories made for them go too";
    ASSERT_TRUE(core().add_declared_device(sound_card()));
    EXPECT_EQ(core().tree().resolve("devices/pci0000:00/0000:00:1f.3/uevent"), nullptr);
    ASSERT_TRUE(core().remove_declared_device("devices/pci0000:00/0000:00:1f.3/sound/card0/controlC0"));
    EXPECT_EQ(listing(core(), "devices"), "platform");
    ASSERT_TRUE(core().add_declared_device(pci_host()));
    EXPECT_EQ(core().remove_declared_device("devices/pci0000:00/0000:00:1f.3").error().code, ENODEV);
    // Removable by name too, as any bus device (remove-device NAME).
    ASSERT_TRUE(core().add_declared_device(pci_dev()));
    ASSERT_TRUE(core().remove_device("0000:00:1f.3"));
    EXPECT_EQ(core().tree().resolve("devices/pci0000:00/0000:00:1f.3"), nullptr);
    ASSERT_TRUE(core().add_declared_device(pci_dev())) << "and added again";
}

TEST_F(DeclaredTest, APluginDriverHidesARecordedFileWhileBound) {
    DeclaredDevice d;
    d.path = "devices/platform/pm0";
    d.bus = "platform";
    d.attributes = {{"pmlog", "recorded\n", 0444, false}, {"other", "o\n", 0444, false}};
    ASSERT_TRUE(core().add_declared_device(d));
    EXPECT_EQ(read_attr(core(), "devices/platform/pm0/pmlog").data, "recorded\n");
    auto r = core().load_plugin("fx_pm");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(target("devices/platform/pm0/driver"), "../../../bus/platform/drivers/pm");
    EXPECT_NE(read_attr(core(), "devices/platform/pm0/pmlog").data, "recorded\n") << "the driver's file is served";
    EXPECT_EQ(read_attr(core(), "devices/platform/pm0/other").data, "o\n");
    ASSERT_TRUE(core().unbind("platform", "pm", "pm0"));
    EXPECT_EQ(read_attr(core(), "devices/platform/pm0/pmlog").data, "recorded\n") << "back after unbind";
    ASSERT_TRUE(core().bind("platform", "pm", "pm0"));
    ASSERT_TRUE(core().unload_plugin("fx_pm"));
    EXPECT_EQ(read_attr(core(), "devices/platform/pm0/pmlog").data, "recorded\n") << "back after unload";
}

TEST_F(DeclaredTest, ACodeLessDriverIsBoundUntilUnbound) {
    DeclaredDevice d;
    d.path = "devices/platform/pm0";
    d.bus = "platform";
    d.driver = "recorded_pm";
    ASSERT_TRUE(core().add_declared_device(d));
    ASSERT_TRUE(core().load_plugin("fx_pm"));
    EXPECT_EQ(target("devices/platform/pm0/driver"), "../../../bus/platform/drivers/recorded_pm")
        << "a device bound to a code-less driver is not matched";
    EXPECT_EQ(write_attr(core(), "bus/platform/drivers/recorded_pm/unbind", "pm0\n").err, 0);
    EXPECT_EQ(target("devices/platform/pm0/driver"), "<missing>")
        << "free, but matched by its recorded driver's name, which pm is not";
    EXPECT_EQ(listing(core(), "bus/platform/drivers/recorded_pm"), "bind unbind");
    EXPECT_EQ(write_attr(core(), "bus/platform/drivers/recorded_pm/bind", "pm0\n").err, 0);
    EXPECT_EQ(target("devices/platform/pm0/driver"), "../../../bus/platform/drivers/recorded_pm");
    EXPECT_EQ(write_attr(core(), "bus/platform/drivers/recorded_pm/bind", "pm0\n").err, EBUSY);
    EXPECT_EQ(write_attr(core(), "bus/platform/drivers/recorded_pm/unbind", "nosuch\n").err, ENODEV);
}

TEST_F(DeclaredTest, APluginDriverNamedLikeTheRecordedOneTakesItsPlace) {
    DeclaredDevice d;
    d.path = "devices/pci0000:00/0000:00:02.0";
    d.bus = "platform";  // fx_pm's bus
    d.driver = "pm";
    ASSERT_TRUE(core().add_declared_device(d));
    EXPECT_EQ(target("devices/pci0000:00/0000:00:02.0/driver"), "../../../bus/platform/drivers/pm");
    EXPECT_EQ(listing(core(), "bus/platform/drivers/pm"), "0000:00:02.0 bind unbind") << "code-less: no module link";
    auto r = core().load_plugin("fx_pm");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_NE(core().tree().resolve("bus/platform/drivers/pm/module"), nullptr) << "the plugin's driver now";
    EXPECT_EQ(target("devices/pci0000:00/0000:00:02.0/driver"), "../../../bus/platform/drivers/pm");
    EXPECT_NE(core().tree().resolve("devices/pci0000:00/0000:00:02.0/pmlog"), nullptr) << "bound to the plugin";
    // A device recorded with that driver while the plugin is loaded goes to it.
    d.path = "devices/pci0000:00/0000:00:03.0";
    ASSERT_TRUE(core().add_declared_device(d));
    EXPECT_NE(core().tree().resolve("devices/pci0000:00/0000:00:03.0/pmlog"), nullptr);
    ASSERT_TRUE(core().unload_plugin("fx_pm"));
    EXPECT_EQ(core().tree().resolve("devices/pci0000:00/0000:00:03.0/driver"), nullptr);
}

TEST_F(DeclaredTest, ARollbackDropsTheBusesItMade) {
    DeclaredDevice d = pci_dev();
    ASSERT_TRUE(core().add_declared_device(d));
    EXPECT_NE(listing(core(), "bus/pci"), "<none>");
    core().drop_unused_declared_buses();
    EXPECT_NE(listing(core(), "bus/pci"), "<none>") << "a device is on it: kept";
    ASSERT_TRUE(core().remove_declared_device(d.path));
    core().drop_unused_declared_buses();
    EXPECT_EQ(listing(core(), "bus/pci"), "<none>");
    EXPECT_NE(listing(core(), "bus/platform"), "<none>") << "not made by a description: kept";
    ASSERT_TRUE(core().add_declared_device(d)) << "and made again";
    EXPECT_EQ(target("devices/pci0000:00/0000:00:1f.3/driver"), "../../../bus/pci/drivers/snd_hda_intel");
}

TEST_F(DeclaredTest, NotBelowADeviceThatIsNotDeclarative) {
    ASSERT_TRUE(core().add_device("platform", "hub0", {}));
    DeclaredDevice d;
    d.path = "devices/platform/hub0/child";
    auto r = core().add_declared_device(d);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EINVAL);
    EXPECT_EQ(r.error().message, "path: devices/platform/hub0 is a device that is not declarative; declarative devices "
                                 "go below declarative ones or plain directories");
    EXPECT_EQ(core().tree().resolve("devices/platform/hub0/child"), nullptr);
}

// Adds, removals and reads at once: every add either lands whole or is
// refused, removal by path never leaves an entry whose directory is gone,
// and readers only ever see a recorded value or ENODEV/ENOENT.
TEST_F(DeclaredTest, AddRemoveAndReadAtOnce) {
    std::atomic<bool> stop{false};
    std::atomic<int> bad_reads{0};
    std::thread reader([&] {
        while (!stop.load()) {
            auto io = read_attr(core(), "devices/pci0000:00/0000:00:1f.3/vendor");
            if (io.err == 0 ? io.data != "0x8086\n" : (io.err != ENOENT && io.err != ENODEV)) ++bad_reads;
        }
    });
    std::thread child_adder([&] {
        for (int i = 0; i < 300; ++i) (void)core().add_declared_device(sound_card());
    });
    for (int i = 0; i < 300; ++i) {
        (void)core().add_declared_device(pci_dev());
        (void)core().remove_declared_device("devices/pci0000:00/0000:00:1f.3");
    }
    child_adder.join();
    stop = true;
    reader.join();
    EXPECT_EQ(bad_reads.load(), 0);
    // Whatever is left is whole: removable, and then nothing of it stays.
    (void)core().remove_declared_device("devices/pci0000:00/0000:00:1f.3");
    (void)core().remove_declared_device("devices/pci0000:00/0000:00:1f.3/sound/card0/controlC0");
    EXPECT_EQ(core().tree().resolve("class/sound/controlC0"), nullptr);
    EXPECT_EQ(core().tree().resolve("dev/char/116:2"), nullptr);
    ASSERT_TRUE(core().add_declared_device(pci_dev()));
    ASSERT_TRUE(core().add_declared_device(sound_card())) << "the paths are free again";
}

TEST_F(DeclaredTest, ANameIsUniquePerBusNotGlobally) {
    DeclaredDevice a;
    a.path = "devices/pnp0/00:01";
    a.bus = "pnp";
    a.attributes = {{"id", "PNP0501\n", 0444, false}};
    DeclaredDevice b;
    b.path = "devices/LNXSYSTM:00/00:01";
    b.bus = "acpi";
    b.driver = "button";
    ASSERT_TRUE(core().add_declared_device(a));
    auto r = core().add_declared_device(b);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(target("bus/acpi/devices/00:01"), "../../../devices/LNXSYSTM:00/00:01");
    EXPECT_EQ(target("bus/acpi/drivers/button/00:01"), "../../../../devices/LNXSYSTM:00/00:01");
    DeclaredDevice c = a;
    c.path = "devices/pnp1/00:01";  // the same bus, the same name
    auto clash = core().add_declared_device(c);
    ASSERT_FALSE(clash);
    EXPECT_EQ(clash.error().code, EEXIST);
    EXPECT_EQ(clash.error().message, "path: bus pnp already has a device named 00:01");
    EXPECT_EQ(core().tree().resolve("devices/pnp1"), nullptr);
    // The code-less driver finds its device through its bus.
    EXPECT_EQ(write_attr(core(), "bus/acpi/drivers/button/unbind", "00:01\n").err, 0);
    EXPECT_EQ(core().tree().resolve("devices/LNXSYSTM:00/00:01/driver"), nullptr);
    // Removing one leaves the other findable by name.
    ASSERT_TRUE(core().remove_declared_device("devices/LNXSYSTM:00/00:01"));
    ASSERT_TRUE(core().remove_device("00:01"));
    EXPECT_EQ(core().tree().resolve("devices/pnp0/00:01"), nullptr);
}

TEST_F(DeclaredTest, ADeviceStaysFindableOnItsBusWhenItsNamesakeGoes) {
    DeclaredDevice a;
    a.path = "devices/pnp0/00:01";
    a.bus = "pnp";
    DeclaredDevice b;
    b.path = "devices/LNXSYSTM:00/00:01";
    b.bus = "acpi";
    b.driver = "button";
    ASSERT_TRUE(core().add_declared_device(a));
    ASSERT_TRUE(core().add_declared_device(b));
    // The one added first goes; bind and unbind still find the other by
    // name on its bus.
    ASSERT_TRUE(core().remove_declared_device("devices/pnp0/00:01"));
    EXPECT_EQ(write_attr(core(), "bus/acpi/drivers/button/unbind", "00:01\n").err, 0);
    EXPECT_EQ(core().tree().resolve("devices/LNXSYSTM:00/00:01/driver"), nullptr);
    EXPECT_EQ(write_attr(core(), "bus/acpi/drivers/button/bind", "00:01\n").err, 0);
    EXPECT_EQ(target("devices/LNXSYSTM:00/00:01/driver"), "../../../bus/acpi/drivers/button");
}

TEST_F(DeclaredTest, DevicesPlatformBecomesTheDeviceLinuxHasAndGoesBackToADirectory) {
    ASSERT_TRUE(core().add_device("platform", "plain0", {}));
    // Linux's /sys/devices/platform is a device without a subsystem; a
    // recording of a whole machine describes it.
    DeclaredDevice root;
    root.path = "devices/platform";
    root.properties = {{"X", "1"}};
    root.attributes = {{"power/control", "auto\n", 0644, false}};
    auto r = core().add_declared_device(root);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(read_attr(core(), "devices/platform/uevent").data, "X=1\n");
    EXPECT_EQ(read_attr(core(), "devices/platform/power/control").data, "auto\n");
    EXPECT_NE(core().tree().resolve("devices/platform/plain0/uevent"), nullptr);
    // With a subsystem it would be a bus device, whose removal takes its
    // directory: refused.
    DeclaredDevice bus_dev;
    bus_dev.path = "devices/platform";
    bus_dev.bus = "pci";
    EXPECT_FALSE(core().add_declared_device(bus_dev));
    ASSERT_TRUE(core().remove_declared_device("devices/platform"));
    EXPECT_EQ(core().tree().resolve("devices/platform/uevent"), nullptr);
    EXPECT_EQ(core().tree().resolve("devices/platform/power"), nullptr);
    EXPECT_NE(core().tree().resolve("devices/platform/plain0/uevent"), nullptr);
    // And again: adopting is repeatable.
    ASSERT_TRUE(core().add_declared_device(root));
    EXPECT_NE(core().tree().resolve("devices/platform/uevent"), nullptr);
}

TEST_F(DeclaredTest, APlainDirectoryMadeForADeviceMayBeDescribedLater) {
    DeclaredDevice child;
    child.path = "devices/pci0000:00/0000:00:02.0";
    child.bus = "pci";
    ASSERT_TRUE(core().add_declared_device(child));
    EXPECT_EQ(core().tree().resolve("devices/pci0000:00/uevent"), nullptr);  // plain so far
    DeclaredDevice host = pci_host();
    auto r = core().add_declared_device(host);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(read_attr(core(), "devices/pci0000:00/uevent").data, "X=1\n");
    ASSERT_TRUE(core().remove_declared_device("devices/pci0000:00/0000:00:02.0"));
    // The host's own files stay; removing it then leaves nothing behind.
    EXPECT_NE(core().tree().resolve("devices/pci0000:00/uevent"), nullptr);
    ASSERT_TRUE(core().remove_declared_device("devices/pci0000:00"));
    EXPECT_EQ(core().tree().resolve("devices/pci0000:00"), nullptr);
}
