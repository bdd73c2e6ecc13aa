// NodeTree: creation, lookup, listing, removal, inode lifetime, relative links,
// the per-kind data of nodes and the hash set of a directory's children;
// the FUSE layer's kernel references (KernelRefs).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <random>
#include <map>
#include <set>
#include <thread>

#include "core/node.hpp"
#include "fuse/kernel_refs.hpp"

using driverfs::AttrOps;
using driverfs::NodeKind;
using driverfs::NodePtr;
using driverfs::NodeTree;
using driverfs::relative_link;
using driverfs::fuse::KernelRefs;
using driverfs::Result;

namespace {

class ConstAttr : public AttrOps {
public:
    Result<size_t> show(char* page) override {
        page[0] = '1';
        page[1] = '\n';
        return size_t{2};
    }
    Result<size_t> store(std::string_view data) override { return data.size(); }
};

std::vector<std::string> names(NodeTree& t, uint64_t ino) {
    auto l = t.list(ino);
    std::vector<std::string> out;
    if (!l) return out;
    for (const auto& e : l.value()) out.push_back(e.name);
    return out;
}

}  // namespace

TEST(NodeTree, AddLookupListResolve) {
    NodeTree t;
    NodePtr root = t.root();
    EXPECT_EQ(root->ino, NodeTree::kRootIno);
    EXPECT_EQ(t.get(NodeTree::kRootIno), root);

    NodePtr bus = t.add_dir(root, "bus").value();
    NodePtr plat = t.add_dir(bus, "platform").value();
    NodePtr attr = t.add_attr(plat, "drivers_autoprobe", 0644, std::make_unique<ConstAttr>()).value();
    NodePtr link = t.add_symlink(plat, "link", "../x").value();

    EXPECT_EQ(attr->kind, NodeKind::attr);
    EXPECT_EQ(attr->mode(), 0644u);
    EXPECT_NE(attr->ops(), nullptr);
    EXPECT_EQ(link->kind, NodeKind::symlink);
    EXPECT_EQ(link->target(), "../x");
    EXPECT_EQ(attr->parent(), plat);

    auto found = t.lookup(plat->ino, "drivers_autoprobe", false);
    ASSERT_TRUE(found);
    EXPECT_EQ(found.value(), attr);
    EXPECT_EQ(t.lookup(plat->ino, "nope", false).error().code, ENOENT);
    EXPECT_EQ(t.lookup(attr->ino, "x", false).error().code, ENOTDIR);
    EXPECT_EQ(t.lookup(999999, "x", false).error().code, ENOENT);

    EXPECT_EQ(names(t, plat->ino), (std::vector<std::string>{"drivers_autoprobe", "link"}));
    auto l = t.list(plat->ino).value();
    ASSERT_EQ(l.size(), 2u);
    EXPECT_EQ(l[0].ino, attr->ino);
    EXPECT_EQ(l[0].kind, NodeKind::attr);
    EXPECT_EQ(t.list(attr->ino).error().code, ENOTDIR);

    EXPECT_EQ(t.resolve("bus/platform/drivers_autoprobe"), attr);
    EXPECT_EQ(t.resolve("/bus//platform/"), plat);
    EXPECT_EQ(t.resolve(""), root);
    EXPECT_EQ(t.resolve("bus/nope"), nullptr);
    EXPECT_EQ(t.path_of(*attr), "bus/platform/drivers_autoprobe");

    EXPECT_EQ(t.add_dir(bus, "platform").error().code, EEXIST);
    EXPECT_EQ(t.add_dir(attr, "x").error().code, ENOTDIR);

    auto e1 = t.ensure_dir(bus, "platform");
    ASSERT_TRUE(e1);
    EXPECT_EQ(e1.value(), plat);
    auto e2 = t.ensure_dir(bus, "pci");
    ASSERT_TRUE(e2);
    EXPECT_EQ(t.resolve("bus/pci"), e2.value());
    EXPECT_EQ(t.ensure_dir(plat, "link").error().code, ENOTDIR);
}

TEST(NodeTree, RemoveUnlinksSubtreeAndInodesAreNeverReused) {
    NodeTree t;
    NodePtr d = t.add_dir(t.root(), "d").value();
    NodePtr sub = t.add_dir(d, "sub").value();
    NodePtr a = t.add_attr(sub, "a", 0444, std::make_unique<ConstAttr>()).value();
    const size_t before = t.node_count();
    std::set<uint64_t> seen{t.root()->ino, d->ino, sub->ino, a->ino};
    EXPECT_EQ(seen.size(), 4u);

    t.remove(d);
    EXPECT_TRUE(d->removed());
    EXPECT_TRUE(sub->removed());
    EXPECT_TRUE(a->removed());
    EXPECT_EQ(t.resolve("d"), nullptr);
    EXPECT_TRUE(names(t, t.root()->ino).empty());
    EXPECT_EQ(t.get(d->ino), nullptr) << "no kernel lookups: gone from the inode table at once";
    EXPECT_EQ(t.get(a->ino), nullptr);
    EXPECT_EQ(t.node_count(), before - 3);
    EXPECT_FALSE(a->active().pin()) << "a removed attribute refuses new calls";
    EXPECT_EQ(t.add_dir(sub, "x").error().code, ENOENT) << "no creation under a removed directory";
    t.remove(d);  // idempotent

    uint64_t max_seen = *seen.rbegin();
    for (int i = 0; i < 20; ++i) {
        NodePtr n = t.add_dir(t.root(), "d").value();  // the same name again
        EXPECT_TRUE(seen.insert(n->ino).second) << "inode " << n->ino << " was reused";
        EXPECT_GT(n->ino, max_seen);
        max_seen = n->ino;
        t.remove(n);
    }
}

// The kernel's lookup counts live in the FUSE layer (KernelRefs); the tree
// itself forgets a removed node at once.
TEST(KernelRefs, RemovedNodeLivesWhileLookedUpAndGoesAfterForget) {
    NodeTree t;
    KernelRefs refs(t);
    NodePtr dir = t.add_dir(t.root(), "dir").value();
    NodePtr a = t.add_attr(dir, "a", 0644, std::make_unique<ConstAttr>()).value();
    NodePtr b = t.add_attr(dir, "b", 0644, std::make_unique<ConstAttr>()).value();
    const uint64_t ino = a->ino;
    const std::weak_ptr<driverfs::Node> weak_b = b;

    ASSERT_TRUE(refs.lookup(dir->ino, "a"));
    ASSERT_TRUE(refs.lookup(dir->ino, "a"));  // nlookup 2
    ASSERT_TRUE(t.lookup(dir->ino, "b", false)); // not counted
    EXPECT_TRUE(refs.held(ino));
    EXPECT_FALSE(refs.held(b->ino));

    t.remove(a);
    t.remove(b);
    b.reset();
    EXPECT_EQ(t.lookup(dir->ino, "a", false).error().code, ENOENT) << "removed from its directory";
    EXPECT_EQ(refs.lookup(dir->ino, "a").error().code, ENOENT);
    EXPECT_EQ(names(t, dir->ino), std::vector<std::string>{});
    EXPECT_EQ(t.get(ino), nullptr) << "the tree holds live nodes only";
    EXPECT_EQ(refs.get(ino), a) << "the kernel still holds lookups: the inode stays resolvable";
    EXPECT_TRUE(weak_b.expired()) << "uncounted lookups keep nothing alive";

    refs.forget(ino, 1);
    EXPECT_EQ(refs.get(ino), a) << "one lookup left";
    refs.forget(ino, 1);
    EXPECT_EQ(refs.get(ino), nullptr) << "last forget drops the removed inode";
    EXPECT_FALSE(refs.held(ino));
    refs.forget(ino, 1);  // forgetting an unknown inode is harmless

    // A live node is not dropped by forget.
    ASSERT_TRUE(refs.lookup(t.root()->ino, "dir"));
    refs.forget(dir->ino, 5);
    EXPECT_EQ(refs.get(dir->ino), dir);
    refs.forget(NodeTree::kRootIno, 100);
    EXPECT_EQ(refs.get(NodeTree::kRootIno), t.root());
    EXPECT_EQ(refs.size(), 0u);

    // Nothing is found, or counted, below a removed directory.
    NodePtr gone = t.add_dir(t.root(), "gone").value();
    ASSERT_TRUE(t.add_attr(gone, "x", 0444, std::make_unique<ConstAttr>()));
    ASSERT_TRUE(refs.lookup(t.root()->ino, "gone"));
    t.remove(gone);
    EXPECT_EQ(refs.lookup(gone->ino, "x").error().code, ENOENT);
    EXPECT_TRUE(t.lookup(gone->ino, "x", false).error().code == ENOENT) << "out of the inode table";
    EXPECT_EQ(names(t, gone->ino), std::vector<std::string>{});
    auto dead = t.list(*refs.get(gone->ino));
    ASSERT_TRUE(dead);
    EXPECT_EQ(dead.value().size(), 1u) << "a removed directory lists what it held";
}

TEST(NodeTree, RelativeLink) {
    EXPECT_EQ(relative_link("bus/platform/devices", "devices/platform/led0"), "../../../devices/platform/led0");
    EXPECT_EQ(relative_link("bus/platform/drivers/led", "module/led"), "../../../../module/led");
    EXPECT_EQ(relative_link("devices/platform/led0", "bus/platform"), "../../../bus/platform");
    EXPECT_EQ(relative_link("class", "devices/x"), "../devices/x");
    EXPECT_EQ(relative_link("", "devices/x"), "devices/x");
    // Through the deepest shared directory only, as sysfs links are written.
    EXPECT_EQ(relative_link("devices/platform/led0/leds/led0", "devices/platform/led0"), "../../../led0");
    EXPECT_EQ(relative_link("devices/platform/led0", "devices/platform/led0/leds"), "leds");
    EXPECT_EQ(relative_link("devices/platform/a", "devices/platform/b"), "../b");
    EXPECT_EQ(relative_link("devices/platform", "devices/platformx"), "../platformx");
}

// The inode table behind NodeTree::get: direct slots, chunks that come and
// go, erase of a number never stored or already erased is harmless.
TEST(InodeTable, StoresFindsAndErasesAcrossChunks) {
    driverfs::InodeTable table;
    constexpr uint64_t k = driverfs::InodeTable::kChunk;
    // Nodes are made by a tree only; this table files them under numbers of its own.
    NodeTree tree;
    NodePtr a = tree.add_dir(tree.root(), "a").value();
    NodePtr b = tree.add_dir(tree.root(), "b").value();
    tree.remove(b);  // the table's reference and `b` are then its only ones
    table.insert(3, a);
    table.insert(5 * k + 7, b);
    EXPECT_EQ(table.size(), 2u);
    ASSERT_NE(table.find(3), nullptr);
    EXPECT_EQ(*table.find(3), a);
    EXPECT_EQ(*table.find(5 * k + 7), b);
    EXPECT_EQ(table.find(4), nullptr) << "a free slot of a used chunk";
    EXPECT_EQ(table.find(2 * k), nullptr) << "a chunk never used";
    EXPECT_EQ(table.find(1000 * k), nullptr) << "past every chunk";
    std::weak_ptr<driverfs::Node> watch = b;
    b.reset();
    table.erase(5 * k + 7);
    EXPECT_TRUE(watch.expired()) << "erase drops the table's reference";
    table.erase(5 * k + 7);
    table.erase(77 * k);
    EXPECT_EQ(table.size(), 1u);
    EXPECT_EQ(*table.find(3), a);
    table.insert(5 * k + 8, a);  // the emptied chunk comes back on demand
    EXPECT_EQ(*table.find(5 * k + 8), a);
    EXPECT_EQ(table.size(), 2u);
}

// Detaching the observer returns only once calls into it have: the FUSE
// front end is destroyed right after, while plugin threads may still notify.
TEST(NodeTree, DetachingTheObserverWaitsForCallsInIt) {
    struct Blocking : driverfs::TreeObserver {
        std::promise<void> entered;
        std::promise<void> go;
        std::atomic<bool> returned{false};
        void entry_added(uint64_t, const std::string&) override {}
        void entry_removed(uint64_t, uint64_t, const std::string&, bool) override {}
        void attr_changed(uint64_t) override {
            entered.set_value();
            go.get_future().wait();
            returned = true;
        }
        void sync_changes() override {}
    } observer;
    NodeTree t;
    NodePtr attr = t.add_attr(t.root(), "a", 0444, std::make_unique<ConstAttr>()).value();
    t.set_observer(&observer);
    std::thread notifier([&] { t.notify_changed(*attr); });
    observer.entered.get_future().wait();
    std::atomic<bool> detached{false};
    std::thread detacher([&] {
        t.set_observer(nullptr);
        detached = true;
    });
    // A negative check with a margin: detaching must still be waiting.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(detached) << "set_observer(nullptr) returned while attr_changed was running";
    observer.go.set_value();
    notifier.join();
    detacher.join();
    EXPECT_TRUE(observer.returned);
    EXPECT_TRUE(detached);
    t.notify_changed(*attr);  // reaches nobody now
}

// Each kind carries only its own data; asking a node for another kind's
// answers as empty data would.
TEST(NodeTree, KindsAnswerForDataTheyDoNotCarry) {
    NodeTree t;
    const auto before = std::chrono::system_clock::now() - std::chrono::seconds(1);
    NodePtr dir = t.add_dir(t.root(), "d").value();
    NodePtr attr = t.add_attr(dir, "a", 0644, std::make_unique<ConstAttr>()).value();
    NodePtr link = t.add_symlink(dir, "l", "../d").value();
    EXPECT_EQ(dir->ops(), nullptr);
    EXPECT_EQ(link->ops(), nullptr);
    EXPECT_NE(attr->ops(), nullptr);
    EXPECT_EQ(dir->target(), "");
    EXPECT_EQ(attr->target(), "");
    EXPECT_EQ(link->target(), "../d");
    EXPECT_EQ(link->mode(), 0777u);
    EXPECT_GE(attr->ctime(), before);
    EXPECT_LE(attr->ctime(), std::chrono::system_clock::now());
    // What bind.cpp and class_device.cpp do with every node they stopped,
    // symlinks included: a no-op for a non-attribute.
    link->active().reactivate();
    dir->active().reactivate();
    EXPECT_TRUE(t.deactivate(dir, std::chrono::steady_clock::now() + std::chrono::seconds(1)));
    EXPECT_FALSE(attr->active().pin()) << "the attribute below was deactivated";
    EXPECT_TRUE(link->active().active()) << "a symlink has nothing to deactivate";
    attr->active().reactivate();
    EXPECT_TRUE(attr->active().pin());
    attr->active().unpin();
}

// A directory's children are a hash set keyed by the nodes' own names
// (child_set.hpp). Random adds and removals against a std::set model:
// growing and shrinking tables, clusters closed up by removal, and small
// tables that fill completely.
TEST(NodeTree, ChildrenStayFindableThroughAddsAndRemovals) {
    NodeTree t;
    std::mt19937 rng(14);
    for (int n : {1, 2, 7, 8, 9, 100, 3000}) {
        SCOPED_TRACE(n);
        NodePtr dir = t.add_dir(t.root(), "dir" + std::to_string(n)).value();
        std::map<std::string, NodePtr> model;
        auto check = [&] {
            for (const auto& [name, node] : model) {
                auto found = t.lookup(dir->ino, name, true);
                ASSERT_TRUE(found) << name;
                ASSERT_EQ(found.value(), node) << name;
            }
            for (int i = 0; i < 50; ++i)  // absent names end their probe in a full table too
                EXPECT_EQ(t.lookup(dir->ino, "absent" + std::to_string(i), true).error().code, ENOENT);
            std::vector<std::string> want;
            for (const auto& [name, node] : model) want.push_back(name);
            EXPECT_EQ(names(t, dir->ino), want);
        };
        for (int i = 0; i < n; ++i) {
            std::string name = "dev" + std::to_string(rng() % 1000) + "." + std::to_string(i);
            NodePtr node = i % 2 ? t.add_symlink(dir, name, "../x").value() : t.add_dir(dir, name).value();
            model.emplace(name, node);
        }
        EXPECT_EQ(t.add_dir(dir, model.begin()->first).error().code, EEXIST);
        check();
        // Remove two thirds in random order, then add some back.
        std::vector<std::string> order;
        for (const auto& [name, node] : model) order.push_back(name);
        std::shuffle(order.begin(), order.end(), rng);
        for (size_t i = 0; i < order.size() * 2 / 3; ++i) {
            t.remove(model.at(order[i]));
            model.erase(order[i]);
        }
        check();
        for (int i = 0; i < n / 2; ++i) {
            std::string name = "again" + std::to_string(i);
            model.emplace(name, t.add_dir(dir, name).value());
        }
        check();
        // Emptied: the table goes, and the directory still takes children.
        for (const auto& [name, node] : model) t.remove(node);
        model.clear();
        check();
        model.emplace("last", t.add_attr(dir, "last", 0444, std::make_unique<ConstAttr>()).value());
        check();
        EXPECT_EQ(t.resolve("dir" + std::to_string(n) + "/last"), model.at("last"));
    }
    // A node removed with its directory leaves that dead directory when it
    // is removed itself (remove() of an already removed node).
    NodePtr dead = t.add_dir(t.root(), "dead").value();
    NodePtr kid = t.add_dir(dead, "kid").value();
    ASSERT_TRUE(t.add_dir(dead, "other"));
    t.remove(dead);
    EXPECT_EQ(t.list(*dead).value().size(), 2u);
    const std::weak_ptr<driverfs::Node> watch = kid;
    t.remove(kid);
    kid.reset();
    EXPECT_TRUE(watch.expired()) << "the dead directory let go of it";
    ASSERT_EQ(t.list(*dead).value().size(), 1u);
    EXPECT_EQ(t.list(*dead).value()[0].name, "other");
}
