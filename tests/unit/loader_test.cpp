// Plugin loading through Core: every refusal gives the right errno and
// leaves nothing behind (no module, no stub, no tree node).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <optional>

#include "core/core.hpp"
#include "driverfs/plugin.h"
#include "test_util.hpp"

using driverfs::Core;
using driverfs::CoreOptions;
using dfs_test::PrivateDir;

namespace {

class LoaderTest : public ::testing::Test {
protected:
    void SetUp() override {
        led_ = plugins_.install(dfs_test::plugin_so("led"), "led.so");
        core_.emplace(CoreOptions{plugins_.path(), std::chrono::milliseconds(2000)});
    }

    Core& core() { return *core_; }

    std::string link_target(const std::string& path) {
        driverfs::NodePtr n = core().tree().resolve(path);
        return n && n->kind == driverfs::NodeKind::symlink ? n->target() : "<not a symlink>";
    }
    // Where the symlink at `path` leads, as a path from the root.
    std::string follow(const std::string& path) {
        std::filesystem::path p = std::filesystem::path(path).parent_path() / link_target(path);
        return p.lexically_normal().string();
    }

    // Install fixture `fx` privately (0644 in a 0700 dir) and return its path.
    std::string fixture(const std::string& fx) { return fixtures_.install(dfs_test::fixture_so(fx), fx + ".so"); }

    struct Snapshot {
        size_t live_stubs, inactive_stubs, nodes, modules;
    };
    Snapshot snapshot() {
        return {core().stubs().live_count(), core().stubs().inactive_count(), core().tree().node_count(),
                core().modules().size()};
    }

    // Load must fail with `code`; afterwards nothing of `module` / `drivers`
    // may be registered, and the tree and stub table are unchanged.
    driverfs::Error expect_refused(const std::string& path, int code, const std::string& module,
                                   const std::vector<std::string>& drivers) {
        Snapshot before = snapshot();
        auto r = core().load_plugin(path);
        EXPECT_FALSE(r) << path << " loaded as " << (r ? r.value() : "");
        if (r) return {};
        EXPECT_EQ(r.error().code, code) << r.error().message;
        EXPECT_FALSE(r.error().message.empty());
        Snapshot after = snapshot();
        EXPECT_EQ(after.live_stubs, before.live_stubs);
        EXPECT_EQ(after.inactive_stubs, before.inactive_stubs);
        EXPECT_EQ(after.nodes, before.nodes) << "a refused load changed the tree";
        EXPECT_EQ(after.modules, before.modules);
        EXPECT_EQ(dfs_test::live_modules(core(), module), 0);
        EXPECT_EQ(core().tree().resolve("module/" + module), nullptr);
        for (const std::string& d : drivers) {
            EXPECT_EQ(core().tree().resolve("bus/platform/drivers/" + d), nullptr) << d;
            auto stub = core().stubs().find(d);
            EXPECT_TRUE(!stub || stub->state() == driverfs::StubState::gone) << d;
        }
        return r.error();
    }

    PrivateDir plugins_, fixtures_;
    std::string led_;
    std::optional<Core> core_;
};

}  // namespace

TEST_F(LoaderTest, LoadsLedByNameAndByPath) {
    auto r = core().load_plugin("led");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r.value(), "led");
    EXPECT_EQ(dfs_test::live_modules(core(), "led"), 1);
    EXPECT_NE(core().tree().resolve("bus/platform/drivers/led"), nullptr);
    EXPECT_NE(core().tree().resolve("module/led/generation"), nullptr);
    auto again = core().load_plugin(led_);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, EEXIST) << "loading a loaded plugin again";
    EXPECT_EQ(dfs_test::live_modules(core(), "led"), 1);
}

TEST_F(LoaderTest, WrongAbiIsEproto) {
    auto e = expect_refused(fixture("fx_wrong_abi"), EPROTO, "fx_wrong_abi", {});
    EXPECT_NE(e.message.find("ABI " + std::to_string(DRIVERFS_ABI_VERSION + 1)), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("ABI " + std::to_string(DRIVERFS_ABI_VERSION)), std::string::npos) << e.message;
}

TEST_F(LoaderTest, NoEntrySymbolIsEnoexec) {
    auto e = expect_refused(fixture("fx_no_entry"), ENOEXEC, "fx_no_entry", {});
    EXPECT_NE(e.message.find(DRIVERFS_ENTRY_SYMBOL), std::string::npos) << e.message;
}

TEST_F(LoaderTest, InitFailureErrnoIsPassedThrough) {
    expect_refused(fixture("fx_init_fails"), ENXIO, "fx_init_fails", {"fx_initfail_drv"});
    EXPECT_EQ(core().stubs().find("fx_initfail_drv"), nullptr) << "a driver staged by a failed init left a stub";
}

TEST_F(LoaderTest, InitThrowingIsEio) {
    auto e = expect_refused(fixture("fx_init_throws"), EIO, "fx_init_throws", {"fx_initthrow_drv"});
    EXPECT_NE(e.message.find("boom"), std::string::npos) << e.message;
    EXPECT_EQ(core().stubs().find("fx_initthrow_drv"), nullptr);
}

TEST_F(LoaderTest, DuplicateDriverNameIsEexist) {
    ASSERT_TRUE(core().load_plugin("led"));
    auto led_stub = core().stubs().find("led");
    ASSERT_NE(led_stub, nullptr);
    expect_refused(fixture("fx_dup_driver"), EEXIST, "fx_dup_driver", {"fx_dup_own"});
    EXPECT_EQ(core().stubs().find("fx_dup_own"), nullptr);
    // led is untouched.
    EXPECT_EQ(core().stubs().find("led"), led_stub);
    EXPECT_EQ(led_stub->state(), driverfs::StubState::live);
    EXPECT_EQ(led_stub->generation(), 1u);
    EXPECT_EQ(dfs_test::live_modules(core(), "led"), 1);
    EXPECT_NE(core().tree().resolve("bus/platform/drivers/led/module"), nullptr);
}

TEST_F(LoaderTest, DuplicateDriverTheOtherWayRound) {
    // Without led, fx_dup_driver loads and owns the name "led"; led is then refused.
    auto r = core().load_plugin(fixture("fx_dup_driver"));
    ASSERT_TRUE(r) << r.error().message;
    expect_refused(led_, EEXIST, "led", {});
    ASSERT_TRUE(core().unload_plugin("fx_dup_driver"));
    auto led = core().load_plugin("led");
    ASSERT_TRUE(led) << led.error().message;
    EXPECT_EQ(core().stubs().find("led")->generation(), 2u) << "led reuses the stub fx_dup_driver registered";
}

TEST_F(LoaderTest, SameDriverTwiceInOnePluginIsEexist) {
    expect_refused(fixture("fx_dup_self"), EEXIST, "fx_dup_self", {"fx_selfdup"});
    EXPECT_EQ(core().stubs().find("fx_selfdup"), nullptr);
}

TEST_F(LoaderTest, DirectoryIsEisdir) {
    expect_refused(fixtures_.path(), EISDIR, "no_module", {});
    PrivateDir named;
    ::mkdir((named.path() + "/x").c_str(), 0700);
    expect_refused(named.path() + "/x", EISDIR, "x", {});
}

TEST_F(LoaderTest, MissingFileIsEnoent) {
    expect_refused(fixtures_.path() + "/does_not_exist.so", ENOENT, "does_not_exist", {});
    expect_refused("no_such_plugin", ENOENT, "no_such_plugin", {});
}

TEST_F(LoaderTest, NotElfIsEnoexec) {
    std::string p = fixtures_.write_file("text.so", "this is not an ELF object\n");
    expect_refused(p, ENOEXEC, "text", {});
    std::string empty = fixtures_.write_file("empty.so", "");
    expect_refused(empty, ENOEXEC, "empty", {});
}

TEST_F(LoaderTest, WritableFileOrDirectoryIsEperm) {
    std::string p = fixtures_.install(dfs_test::fixture_so("fx_sleepy"), "writable.so", 0666);
    expect_refused(p, EPERM, "fx_sleepy", {"sleepy"});
    std::string g = fixtures_.install(dfs_test::fixture_so("fx_sleepy"), "groupw.so", 0664);
    expect_refused(g, EPERM, "fx_sleepy", {"sleepy"});

    PrivateDir open_dir;
    std::string q = open_dir.install(dfs_test::fixture_so("fx_sleepy"), "fx_sleepy.so", 0644);
    ASSERT_EQ(::chmod(open_dir.path().c_str(), 0777), 0);
    expect_refused(q, EPERM, "fx_sleepy", {"sleepy"});
    ASSERT_EQ(::chmod(open_dir.path().c_str(), 0700), 0);
    // The same file in a private directory loads.
    auto ok = core().load_plugin(q);
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok.value(), "fx_sleepy");
}

TEST_F(LoaderTest, SymlinkToWritableTargetIsEperm) {
    std::string target = fixtures_.install(dfs_test::fixture_so("fx_sleepy"), "target.so", 0666);
    std::string link = fixtures_.path() + "/link.so";
    ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
    expect_refused(link, EPERM, "fx_sleepy", {"sleepy"});
}

// Whoever can write the directory holding a link can re-point it: the link's
// directory is vetted too, not only the target's.
TEST_F(LoaderTest, SymlinkInWritableDirectoryIsEperm) {
    std::string target = fixtures_.install(dfs_test::fixture_so("fx_sleepy"), "good.so", 0644);
    PrivateDir open_dir;
    std::string link = open_dir.path() + "/link.so";
    ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
    ASSERT_EQ(::chmod(open_dir.path().c_str(), 01777), 0);
    expect_refused(link, EPERM, "fx_sleepy", {"sleepy"});
    ASSERT_EQ(::chmod(open_dir.path().c_str(), 0700), 0);
    auto ok = core().load_plugin(link);
    ASSERT_TRUE(ok) << ok.error().message;
}

TEST_F(LoaderTest, RefusalsLeaveTheCoreUsable) {
    expect_refused(fixture("fx_init_throws"), EIO, "fx_init_throws", {"fx_initthrow_drv"});
    expect_refused(fixture("fx_wrong_abi"), EPROTO, "fx_wrong_abi", {});
    auto r = core().load_plugin("led");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(core().add_device("platform", "led0", {}));
    EXPECT_EQ(dfs_test::read_attr(core(), "devices/platform/led0/leds/led0/max_brightness").data, "255\n");
}

// A plugin built against ABI version N-1 (the frozen version-1 header, in C)
// still loads and works: the host reads only the fields its structs have.
TEST_F(LoaderTest, AnOlderAbiPluginStillLoads) {
    // fx_abi_v3 is N-1, fx_abi_v1 the oldest this host still loads.
    static_assert(DRIVERFS_ABI_VERSION == 4u && DRIVERFS_ABI_MIN == 1u, "update the older-ABI fixtures with the ABI");
    auto r = core().load_plugin(fixture("fx_abi_v1"));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r.value(), "fx_abi_v1");
    ASSERT_TRUE(core().add_device("platform", "oldie0", {}));
    EXPECT_EQ(dfs_test::read_attr(core(), "devices/platform/oldie0/value").data, "7\n");
    EXPECT_EQ(dfs_test::write_attr(core(), "devices/platform/oldie0/value", "42").err, 0);
    EXPECT_EQ(dfs_test::read_attr(core(), "devices/platform/oldie0/value").data, "42\n");
    // Walks that use version-2 callbacks skip what a version-1 driver lacks.
    EXPECT_TRUE(core().suspend());
    EXPECT_TRUE(core().resume());
    EXPECT_EQ(core().tree().resolve("class/oldie0"), nullptr);
    EXPECT_TRUE(core().unload_plugin("fx_abi_v1"));
}

TEST_F(LoaderTest, AnAbiNMinusTwoPluginStillLoadsWithWhatItsVersionAdded) {
    auto r = core().load_plugin(fixture("fx_abi_v2"));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r.value(), "fx_abi_v2");
    ASSERT_TRUE(core().add_device("platform", "veteran0", {}));
    ASSERT_TRUE(core().add_device("platform", "veteran1", {{"secret", "1"}}));
    // Its group's is_visible, asked at bind.
    EXPECT_EQ(dfs_test::read_attr(core(), "devices/platform/veteran0/extra/shown").data, "shown\n");
    EXPECT_EQ(core().tree().resolve("devices/platform/veteran0/extra/secret"), nullptr);
    driverfs::NodePtr secret = core().tree().resolve("devices/platform/veteran1/extra/secret");
    ASSERT_NE(secret, nullptr);
    EXPECT_EQ(secret->mode(), 0400u);
    // Its class_name is a class device now, carrying the driver's dev_attrs.
    EXPECT_EQ(link_target("class/veterans/veteran0"), "../../devices/platform/veteran0/veterans/veteran0");
    ASSERT_EQ(follow("class/veterans/veteran0"), "devices/platform/veteran0/veterans/veteran0");
    driverfs::NodePtr cdev = core().tree().resolve("devices/platform/veteran0/veterans/veteran0");
    ASSERT_NE(cdev, nullptr);
    EXPECT_EQ(cdev->kind, driverfs::NodeKind::dir);
    EXPECT_EQ(link_target("devices/platform/veteran0/veterans/veteran0/device"), "../../../veteran0");
    EXPECT_EQ(link_target("devices/platform/veteran0/veterans/veteran0/subsystem"), "../../../../../class/veterans");
    // The host it sees: this host's version, a table larger than it knows.
    EXPECT_EQ(dfs_test::read_attr(core(), "devices/platform/veteran0/host").data,
              std::to_string(DRIVERFS_ABI_VERSION) + " " + std::to_string(sizeof(dfs_host)) + "\n");
    // suspend/resume reach it, once per bound device.
    ASSERT_TRUE(core().suspend());
    ASSERT_TRUE(core().resume());
    EXPECT_EQ(dfs_test::read_attr(core(), "devices/platform/veteran0/pm").data, "2 2\n");
    // The class device's copy calls the driver with the bound device: the same value.
    EXPECT_EQ(dfs_test::read_attr(core(), "devices/platform/veteran0/veterans/veteran0/pm").data, "2 2\n");
    EXPECT_EQ(dfs_test::read_attr(core(), "devices/platform/veteran0/veterans/veteran0/host").data,
              dfs_test::read_attr(core(), "devices/platform/veteran0/host").data);
    EXPECT_TRUE(core().unload_plugin("fx_abi_v2"));
    EXPECT_EQ(core().tree().resolve("devices/platform/veteran0/extra"), nullptr);
    EXPECT_EQ(core().tree().resolve("devices/platform/veteran0/veterans"), nullptr);
    EXPECT_EQ(core().tree().resolve("class/veterans/veteran0"), nullptr);
}

// ABI 3 is N-1: cacheable attributes and update_group work, and its
// class_name is served as a class device.
TEST_F(LoaderTest, AnAbiNMinusOnePluginStillLoadsWithWhatItsVersionAdded) {
    static_assert(DRIVERFS_ABI_VERSION == 4u, "fx_abi_v3 is the N-1 fixture only while the ABI is 4");
    auto r = core().load_plugin(fixture("fx_abi_v3"));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r.value(), "fx_abi_v3");
    ASSERT_TRUE(core().add_device("platform", "elder0", {}));
    ASSERT_TRUE(core().add_device("platform", "elder1", {}));
    // DFS_ATTR_CACHEABLE, read from a version-3 dfs_attribute.
    driverfs::NodePtr level = core().tree().resolve("devices/platform/elder0/level");
    ASSERT_NE(level, nullptr);
    ASSERT_NE(level->ops(), nullptr);
    EXPECT_TRUE(level->ops()->cacheable());
    driverfs::NodePtr host = core().tree().resolve("devices/platform/elder0/host");
    ASSERT_NE(host, nullptr);
    EXPECT_FALSE(host->ops()->cacheable());
    EXPECT_EQ(dfs_test::read_attr(core(), "devices/platform/elder0/host").data,
              std::to_string(DRIVERFS_ABI_VERSION) + " " + std::to_string(sizeof(dfs_host)) + "\n");
    // update_group from a store: extra/high follows level.
    EXPECT_EQ(dfs_test::read_attr(core(), "devices/platform/elder0/level").data, "1\n");
    EXPECT_EQ(core().tree().resolve("devices/platform/elder0/extra"), nullptr);
    ASSERT_EQ(dfs_test::write_attr(core(), "devices/platform/elder0/level", "150\n").err, 0);
    EXPECT_EQ(dfs_test::read_attr(core(), "devices/platform/elder0/extra/high").data, "high\n");
    EXPECT_EQ(core().tree().resolve("devices/platform/elder1/extra"), nullptr) << "only elder0 was updated";
    // The class device: its dev_attrs call the driver with the bound device.
    EXPECT_EQ(follow("class/elders/elder0"), "devices/platform/elder0/elders/elder0");
    EXPECT_EQ(dfs_test::read_attr(core(), "devices/platform/elder0/elders/elder0/level").data, "150\n");
    EXPECT_EQ(dfs_test::read_attr(core(), "devices/platform/elder1/elders/elder1/level").data, "1\n");
    driverfs::NodePtr mirrored = core().tree().resolve("devices/platform/elder0/elders/elder0/level");
    ASSERT_NE(mirrored, nullptr);
    EXPECT_TRUE(mirrored->ops()->cacheable());
    // A store through the class device updates the bound device's group.
    ASSERT_EQ(dfs_test::write_attr(core(), "devices/platform/elder0/elders/elder0/level", "5").err, 0);
    EXPECT_EQ(dfs_test::read_attr(core(), "devices/platform/elder0/level").data, "5\n");
    EXPECT_EQ(core().tree().resolve("devices/platform/elder0/extra"), nullptr);
    EXPECT_EQ(dfs_test::write_attr(core(), "devices/platform/elder0/level", "x").err, EINVAL);
    EXPECT_TRUE(core().unload_plugin("fx_abi_v3"));
    for (const char* gone : {"devices/platform/elder0/level", "devices/platform/elder0/elders", "class/elders/elder0",
                             "class/elders/elder1"})
        EXPECT_EQ(core().tree().resolve(gone), nullptr) << gone;
    EXPECT_NE(core().tree().resolve("devices/platform/elder0"), nullptr) << "the device itself stays";
}
