// OpenFile: the shared file operations (snapshot reads, one-page writes,
// access modes, removed nodes) over a test AttrOps.
#include <gtest/gtest.h>

#include <fcntl.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "core/node.hpp"
#include "core/open_file.hpp"

using driverfs::AttrOps;
using driverfs::NodePtr;
using driverfs::NodeTree;
using driverfs::OpenFile;
using driverfs::Result;

namespace {

// Records every call; the value is changeable from the test.
class RecordingAttr : public AttrOps {
public:
    explicit RecordingAttr(std::string value) : value_(std::move(value)) {}

    Result<size_t> show(char* page) override {
        std::lock_guard lock(mu_);
        ++shows;
        size_t n = std::min(value_.size(), kPageSize);
        std::memcpy(page, value_.data(), n);
        return n;
    }
    Result<size_t> store(std::string_view data) override {
        std::lock_guard lock(mu_);
        store_lengths.push_back(data.size());
        last_store.assign(data);
        return data.size();
    }
    void set(std::string v) {
        std::lock_guard lock(mu_);
        value_ = std::move(v);
    }

    std::atomic<int> shows{0};
    std::vector<size_t> store_lengths;
    std::string last_store;

private:
    std::mutex mu_;
    std::string value_;
};

struct Fixture {
    NodeTree tree;
    RecordingAttr* ops = nullptr;
    NodePtr node;

    explicit Fixture(uint32_t mode = 0644, std::string value = "hello world\n") {
        auto o = std::make_unique<RecordingAttr>(std::move(value));
        ops = o.get();
        node = tree.add_attr(tree.root(), "attr", mode, std::move(o)).value();
    }
};

std::string read_at(OpenFile& f, off_t off, size_t size, int* err = nullptr) {
    std::string buf(size, '\0');
    auto n = f.read(buf.data(), size, off);
    if (!n) {
        if (err) *err = n.error().code;
        return {};
    }
    if (err) *err = 0;
    buf.resize(n.value());
    return buf;
}

}  // namespace

TEST(OpenFile, ReadAtZeroCallsShowLaterOffsetsUseTheSnapshot) {
    Fixture fx;
    auto f = OpenFile::open(fx.node, O_RDONLY);
    ASSERT_TRUE(f) << f.error().message;
    EXPECT_EQ(fx.ops->shows, 0) << "open must not call show";

    EXPECT_EQ(read_at(*f.value(), 0, 2), "he");
    EXPECT_EQ(fx.ops->shows, 1);

    fx.ops->set("CHANGED VALUE\n");
    EXPECT_EQ(read_at(*f.value(), 2, 4096), "llo world\n") << "offset 2 must come from the offset-0 snapshot";
    EXPECT_EQ(fx.ops->shows, 1) << "a read at a later offset must not call show";
    EXPECT_EQ(read_at(*f.value(), 12, 10), "") << "reading at the end gives EOF";
    EXPECT_EQ(read_at(*f.value(), 1000, 10), "") << "reading past the end gives EOF";
    EXPECT_EQ(fx.ops->shows, 1);

    EXPECT_EQ(read_at(*f.value(), 0, 4096), "CHANGED VALUE\n") << "a new read at 0 takes a new snapshot";
    EXPECT_EQ(fx.ops->shows, 2);
}

TEST(OpenFile, FirstReadAtNonZeroOffsetStillCallsShow) {
    Fixture fx;
    auto f = OpenFile::open(fx.node, O_RDONLY);
    ASSERT_TRUE(f);
    EXPECT_EQ(read_at(*f.value(), 6, 100), "world\n");
    EXPECT_EQ(fx.ops->shows, 1);
}

TEST(OpenFile, SnapshotsArePerHandle) {
    Fixture fx;
    auto a = OpenFile::open(fx.node, O_RDONLY);
    auto b = OpenFile::open(fx.node, O_RDONLY);
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    EXPECT_EQ(read_at(*a.value(), 0, 3), "hel");
    fx.ops->set("another\n");
    EXPECT_EQ(read_at(*b.value(), 0, 3), "ano");
    EXPECT_EQ(read_at(*a.value(), 3, 100), "lo world\n");
    EXPECT_EQ(read_at(*b.value(), 3, 100), "ther\n");
}

TEST(OpenFile, NegativeOffsetIsInvalid) {
    Fixture fx;
    auto f = OpenFile::open(fx.node, O_RDONLY);
    ASSERT_TRUE(f);
    int err = 0;
    read_at(*f.value(), -1, 10, &err);
    EXPECT_EQ(err, EINVAL);
}

TEST(OpenFile, WriteIsCutToOnePage) {
    Fixture fx;
    auto f = OpenFile::open(fx.node, O_WRONLY);
    ASSERT_TRUE(f);
    std::string big(5000, 'x');
    auto n = f.value()->write(big, 0);
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(n.value(), 4096u) << "the writer sees a short write of one page";
    ASSERT_EQ(fx.ops->store_lengths.size(), 1u) << "store is called exactly once";
    EXPECT_EQ(fx.ops->store_lengths[0], 4096u);

    auto m = f.value()->write("12\n", 0);
    ASSERT_TRUE(m);
    EXPECT_EQ(m.value(), 3u);
    ASSERT_EQ(fx.ops->store_lengths.size(), 2u);
    EXPECT_EQ(fx.ops->last_store, "12\n") << "store receives the whole buffer";

    auto exact = f.value()->write(std::string(4096, 'y'), 123);  // offset ignored, as in sysfs
    ASSERT_TRUE(exact);
    EXPECT_EQ(exact.value(), 4096u);
    EXPECT_EQ(fx.ops->store_lengths.back(), 4096u);
}

TEST(OpenFile, AccessModeMustMatchTheAttribute) {
    Fixture ro(0444);
    EXPECT_EQ(OpenFile::open(ro.node, O_WRONLY).error().code, EACCES);
    EXPECT_EQ(OpenFile::open(ro.node, O_RDWR).error().code, EACCES);
    EXPECT_TRUE(OpenFile::open(ro.node, O_RDONLY));

    Fixture wo(0200);
    EXPECT_EQ(OpenFile::open(wo.node, O_RDONLY).error().code, EACCES);
    EXPECT_EQ(OpenFile::open(wo.node, O_RDWR).error().code, EACCES);
    EXPECT_TRUE(OpenFile::open(wo.node, O_WRONLY));

    Fixture rw(0644);
    EXPECT_TRUE(OpenFile::open(rw.node, O_RDWR));
}

TEST(OpenFile, DirectoriesAndSymlinksAreNotOpened) {
    NodeTree tree;
    auto dir = tree.add_dir(tree.root(), "d").value();
    auto link = tree.add_symlink(tree.root(), "l", "d").value();
    EXPECT_EQ(OpenFile::open(dir, O_RDONLY).error().code, EISDIR);
    EXPECT_EQ(OpenFile::open(link, O_RDONLY).error().code, ELOOP);
}

TEST(OpenFile, RemovedNodeGivesEnodevAndNeverCallsIn) {
    Fixture fx;
    auto f = OpenFile::open(fx.node, O_RDWR);
    ASSERT_TRUE(f);
    EXPECT_EQ(read_at(*f.value(), 0, 100), "hello world\n");
    fx.tree.remove(fx.node);
    int err = 0;
    read_at(*f.value(), 0, 100, &err);
    EXPECT_EQ(err, ENODEV);
    auto w = f.value()->write("x", 0);
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error().code, ENODEV);
    EXPECT_EQ(fx.ops->shows, 1);
    EXPECT_TRUE(fx.ops->store_lengths.empty());
    EXPECT_EQ(OpenFile::open(fx.node, O_RDONLY).error().code, ENODEV);
    f.value().reset();  // release of a removed attribute succeeds
}
