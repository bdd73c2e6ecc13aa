// update_group (dfs_host, ABI 3) through the core: files of a group appear,
// disappear and change mode from a store of another attribute, a store may
// remove its own file, refusals (unbound device, foreign group, NULL,
// recursion from is_visible), and readers racing the removal.
#include <gtest/gtest.h>

#include <fcntl.h>

#include <atomic>
#include <optional>
#include <thread>

#include "core/core.hpp"
#include "core/open_file.hpp"
#include "test_util.hpp"

using driverfs::Core;
using driverfs::CoreOptions;
using driverfs::NodePtr;
using driverfs::OpenFile;
using dfs_test::read_attr;
using dfs_test::write_attr;

namespace {

class AttrGroupTest : public ::testing::Test {
protected:
    void SetUp() override {
        plugins_.install(dfs_test::fixture_so("fx_regroup"), "fx_regroup.so");
        core_.emplace(CoreOptions{plugins_.path(), std::chrono::milliseconds(5000)});
        auto r = core().load_plugin("fx_regroup");
        ASSERT_TRUE(r) << r.error().message;
    }
    Core& core() { return *core_; }
    NodePtr node(const std::string& path) { return core().tree().resolve("devices/platform/" + path); }
    // Names in a directory of the device (see dfs_test::listing).
    std::string listing(const std::string& path) { return dfs_test::listing(core(), "devices/platform/" + path); }
    std::unique_ptr<OpenFile> open(const std::string& path, int flags) {
        NodePtr n = node(path);
        if (!n) return nullptr;
        auto f = OpenFile::open(n, flags);
        return f ? std::move(f.value()) : nullptr;
    }

    dfs_test::PrivateDir plugins_;
    std::optional<Core> core_;
};

const std::string kAllFiles = "c driver driver_override foreign knobs mode power report subsystem uevent";

TEST_F(AttrGroupTest, AStoreOfAnotherAttributeAddsRemovesAndRemodesFiles) {
    ASSERT_TRUE(core().add_device("platform", "regroup0", {}));
    EXPECT_EQ(listing("regroup0"), kAllFiles);
    EXPECT_EQ(listing("regroup0/knobs"), "a b off");
    auto held = open("regroup0/knobs/a", O_RDONLY);
    ASSERT_NE(held, nullptr);
    EXPECT_EQ(dfs_test::read_handle(*held).data, "a\n");

    ASSERT_EQ(write_attr(core(), "devices/platform/regroup0/mode", "0\n").err, 0);
    EXPECT_EQ(listing("regroup0"), "driver driver_override foreign mode power report subsystem uevent");
    EXPECT_EQ(listing("regroup0/knobs"), "<none>") << "an emptied named group keeps no directory";
    EXPECT_EQ(dfs_test::read_handle(*held, 0).err, ENODEV) << "an fd open on a removed file";
    EXPECT_EQ(dfs_test::read_handle(*held, 1).err, ENODEV) << "at every offset";
    EXPECT_TRUE(held->node()->removed()) << "poll reports a removed file (POLLERR)";

    ASSERT_EQ(write_attr(core(), "devices/platform/regroup0/mode", "644").err, 0);
    EXPECT_EQ(listing("regroup0"), kAllFiles);
    EXPECT_EQ(listing("regroup0/knobs"), "a b off");
    EXPECT_EQ(read_attr(core(), "devices/platform/regroup0/knobs/b").data, "b\n");
    EXPECT_EQ(node("regroup0/knobs/a")->mode(), 0644u);
    EXPECT_EQ(node("regroup0/knobs/off")->mode(), 0200u);

    // A mode change makes the file anew: the old node is gone for its fds.
    auto before = open("regroup0/c", O_RDONLY);
    ASSERT_NE(before, nullptr);
    ASSERT_EQ(write_attr(core(), "devices/platform/regroup0/mode", "440").err, 0);
    NodePtr after = node("regroup0/c");
    ASSERT_NE(after, nullptr);
    EXPECT_EQ(after->mode(), 0440u);
    EXPECT_NE(after->ino, before->node()->ino);
    EXPECT_EQ(dfs_test::read_handle(*before).err, ENODEV);
    EXPECT_EQ(read_attr(core(), "devices/platform/regroup0/c").data, "c\n");
    // Same mode again: nothing is remade.
    ASSERT_EQ(write_attr(core(), "devices/platform/regroup0/mode", "440").err, 0);
    EXPECT_EQ(node("regroup0/c")->ino, after->ino);

    // Unbinding removes what update_group made, and nothing is left over.
    ASSERT_TRUE(core().unbind("platform", "regroup", "regroup0"));
    EXPECT_EQ(listing("regroup0"), "driver_override power subsystem uevent");
    ASSERT_TRUE(core().bind("platform", "regroup", "regroup0"));
    EXPECT_EQ(listing("regroup0/knobs"), "a b off") << "a new binding asks is_visible afresh (mode 644 again)";
}

TEST_F(AttrGroupTest, AStoreMayRemoveItsOwnFileAndItsGroupDirectory) {
    ASSERT_TRUE(core().add_device("platform", "regroup0", {}));
    auto off = open("regroup0/knobs/off", O_WRONLY);
    ASSERT_NE(off, nullptr);
    auto w = dfs_test::write_handle(*off, "1\n");
    EXPECT_EQ(w.err, 0) << "the store that removed its own file completes";
    EXPECT_EQ(w.count, 2u);
    EXPECT_EQ(listing("regroup0/knobs"), "<none>");
    EXPECT_EQ(read_attr(core(), "devices/platform/regroup0/mode").data, "0\n");
    EXPECT_EQ(dfs_test::write_handle(*off, "1\n").err, ENODEV) << "the next write through the same fd";
    EXPECT_TRUE(off->node()->removed());
    EXPECT_TRUE(core().unload_plugin("fx_regroup"));
}

TEST_F(AttrGroupTest, RefusedOutsideABindingForForeignGroupsNullAndFromIsVisible) {
    ASSERT_TRUE(core().add_device("platform", "regroup0", {}));
    ASSERT_TRUE(core().add_device("platform", "regroup1", {}));
    EXPECT_EQ(write_attr(core(), "devices/platform/regroup0/foreign", "other").err, ENODEV);
    EXPECT_EQ(write_attr(core(), "devices/platform/regroup0/foreign", "null").err, EINVAL);
    // probe: not bound yet (the files come after probe, from is_visible);
    // is_visible: it would recurse.
    EXPECT_EQ(read_attr(core(), "devices/platform/regroup1/report").data,
              "probe=-" + std::to_string(ENODEV) + " remove=1 visible=-" + std::to_string(EDEADLK) + "\n");
    ASSERT_TRUE(core().unbind("platform", "regroup", "regroup0"));
    EXPECT_EQ(read_attr(core(), "devices/platform/regroup1/report").data,
              "probe=-" + std::to_string(ENODEV) + " remove=-" + std::to_string(ENODEV) + " visible=-" +
                  std::to_string(EDEADLK) + "\n")
        << "remove() runs while the device is being unbound";
    EXPECT_EQ(listing("regroup0"), "driver_override power subsystem uevent");
    // A device property read in probe decides the first files.
    ASSERT_TRUE(core().add_device("platform", "regroup2", {{"mode", "0"}}));
    EXPECT_EQ(listing("regroup2"), "driver driver_override foreign mode power report subsystem uevent");
}

TEST_F(AttrGroupTest, RacingUpdatesEndAsTheLastOneSaid) {
    ASSERT_TRUE(core().add_device("platform", "regroup0", {}));
    std::atomic<int> failures{0};
    auto writer = [&](const char* a, const char* b) {
        for (int i = 0; i < 200; ++i)
            if (write_attr(core(), "devices/platform/regroup0/mode", i % 2 ? a : b).err != 0) ++failures;
    };
    std::thread t1(writer, "0", "644");
    std::thread t2(writer, "444", "0");
    t1.join();
    t2.join();
    EXPECT_EQ(failures.load(), 0);
    ASSERT_EQ(write_attr(core(), "devices/platform/regroup0/mode", "444").err, 0);
    EXPECT_EQ(listing("regroup0/knobs"), "a b off");
    EXPECT_EQ(node("regroup0/knobs/a")->mode(), 0444u);
    EXPECT_EQ(node("regroup0/c")->mode(), 0444u);
    ASSERT_EQ(write_attr(core(), "devices/platform/regroup0/mode", "0").err, 0);
    EXPECT_EQ(listing("regroup0"), "driver driver_override foreign mode power report subsystem uevent");
}

TEST_F(AttrGroupTest, ReadersOfAFileBeingRemovedGetEnodevNotACrash) {
    ASSERT_TRUE(core().add_device("platform", "regroup0", {}));
    auto held = open("regroup0/knobs/a", O_RDONLY);
    ASSERT_NE(held, nullptr);
    std::atomic<bool> stop{false};
    std::atomic<int> ok{0}, enodev{0}, other{0};
    auto reader = [&] {
        while (!stop) {
            NodePtr n = node("regroup0/knobs/a");
            if (!n) continue;  // between a removal and the next add
            auto f = OpenFile::open(n, O_RDONLY);
            if (!f) {
                (f.error().code == ENODEV ? enodev : other)++;
                continue;
            }
            // Read through this fd until the file is removed under it.
            while (!stop) {
                auto io = dfs_test::read_handle(*f.value());
                if (io.err == 0 && io.data == "a\n") {
                    ++ok;
                    continue;
                }
                (io.err == ENODEV ? enodev : other)++;
                break;
            }
        }
    };
    std::thread r1(reader), r2(reader);
    // At least 300 removals, and on until the readers both read the file and
    // had it removed under them (threads may start late on a loaded
    // machine); at most 60 s.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (int i = 0; i < 300 || ((ok < 100 || enodev < 10) && std::chrono::steady_clock::now() < give_up); ++i)
        ASSERT_EQ(write_attr(core(), "devices/platform/regroup0/mode", i % 2 ? "644" : "0").err, 0);
    stop = true;
    r1.join();
    r2.join();
    EXPECT_EQ(other.load(), 0) << "a reader saw something else than the value or ENODEV";
    EXPECT_GT(ok.load(), 0);
    EXPECT_GT(enodev.load(), 0) << "no reader held the file while it was removed";
    EXPECT_EQ(dfs_test::read_handle(*held).err, ENODEV);
    std::printf("readers: %d reads, %d ENODEV\n", ok.load(), enodev.load());
    EXPECT_TRUE(core().unload_plugin("fx_regroup"));
}

}  // namespace
