// The node tree: creation, lookup, listing and removal of nodes.
#include "core/node.hpp"

#include <algorithm>
#include <mutex>
#include <thread>
#include <sys/stat.h>

#include "core/child_set.hpp"

namespace driverfs {
namespace {

// The data of one kind of node (see Node). No virtual destructor: every
// node is made by make_shared of its subclass, whose control block destroys
// it as that subclass.
struct DirNode final : Node {
    DirNode(uint64_t ino, std::string name, uint32_t mode) : Node(ino, NodeKind::dir, std::move(name), mode) {}
    ChildSet children;
};

struct AttrNode final : Node {
    AttrNode(uint64_t ino, std::string name, uint32_t mode, std::unique_ptr<AttrOps> o)
        : Node(ino, NodeKind::attr, std::move(name), mode), ops(std::move(o)) {}
    std::unique_ptr<AttrOps> ops;
    ActiveRef active;
};

struct SymlinkNode final : Node {
    SymlinkNode(uint64_t ino, std::string name, std::string t)
        : Node(ino, NodeKind::symlink, std::move(name), 0777), target(std::move(t)) {
        // A target built by appending (relative_link) has up to twice the
        // room it needs; it is kept for the node's life.
        target.shrink_to_fit();
    }
    std::string target;  // never changed after construction
};

// What a node of each kind costs with its make_shared control block (16
// bytes): glibc hands out chunks of 16n+8 usable bytes, so 104 bytes fit a
// 112-byte chunk and 120 a 128-byte one. Growing a node past these moves
// every node of its kind into the next chunk size.
static_assert(sizeof(void*) != 8 || sizeof(Node) <= 72, "Node grew: see the member order in node.hpp");
static_assert(sizeof(void*) != 8 || sizeof(DirNode) <= 88);
static_assert(sizeof(void*) != 8 || sizeof(AttrNode) <= 88);
static_assert(sizeof(void*) != 8 || sizeof(SymlinkNode) <= 104);

// A directory's children; null for another kind (which has none).
ChildSet* children_of(Node& node) {
    return node.kind == NodeKind::dir ? &static_cast<DirNode&>(node).children : nullptr;
}
const ChildSet* children_of(const Node& node) {
    return node.kind == NodeKind::dir ? &static_cast<const DirNode&>(node).children : nullptr;
}

// The child `name` of `dir`, or null (also when `dir` is no directory).
const NodePtr* find_child(const Node& dir, std::string_view name) {
    const ChildSet* children = children_of(dir);
    return children ? children->find(name) : nullptr;
}

uint32_t now_seconds() {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(now).count());
}

}  // namespace

Node::Node(uint64_t ino_, NodeKind kind_, std::string name_, uint32_t mode)
    : ino(ino_), kind(kind_), mode_(mode & 07777), name(std::move(name_)), ctime_(now_seconds()) {}

AttrOps* Node::ops() const {
    return kind == NodeKind::attr ? static_cast<const AttrNode*>(this)->ops.get() : nullptr;
}

ActiveRef& Node::active() {
    if (kind == NodeKind::attr) return static_cast<AttrNode*>(this)->active;
    static ActiveRef none;  // see the declaration: never deactivated
    return none;
}

const std::string& Node::target() const {
    if (kind == NodeKind::symlink) return static_cast<const SymlinkNode*>(this)->target;
    static const std::string none;
    return none;
}

NodeTree::NodeTree() {
    root_ = std::make_shared<DirNode>(kRootIno, "", 0755);
    by_ino_.insert(kRootIno, root_);
}

NodePtr NodeTree::get(uint64_t ino) const {
    std::shared_lock lock(mu_);
    const NodePtr* node = by_ino_.find(ino);
    return node ? *node : nullptr;
}

Result<NodePtr> NodeTree::lookup(uint64_t parent_ino, std::string_view name, bool live_only) const {
    std::shared_lock lock(mu_);
    const NodePtr* found = by_ino_.find(parent_ino);
    if (!found) return Error::of(ENOENT, "no such directory");
    const NodePtr& parent = *found;
    if (parent->kind != NodeKind::dir) return Error::of(ENOTDIR, "not a directory");
    // As sysfs, nothing is found below a removed directory. For the kernel
    // this also matters to remove(): a child it looked up after remove()
    // announced that child gone, through a directory dentry still cached,
    // would be a dentry no notification covers, and the kernel refuses to
    // delete a directory that still has one (ENOTEMPTY).
    if (live_only && parent->removed()) return Error::of(ENOENT, "directory was removed");
    const NodePtr* child = find_child(*parent, name);
    if (!child) return Error::of(ENOENT, "no such entry");
    return *child;
}

Result<std::vector<DirEntry>> NodeTree::list(uint64_t dir_ino) const {
    NodePtr dir = get(dir_ino);
    if (!dir) return Error::of(ENOENT, "no such directory");
    return list(*dir);
}

Result<std::vector<DirEntry>> NodeTree::list(const Node& dir) const {
    std::vector<DirEntry> out;
    {
        std::shared_lock lock(mu_);
        if (dir.kind != NodeKind::dir) return Error::of(ENOTDIR, "not a directory");
        const ChildSet& children = *children_of(dir);
        out.reserve(children.size());
        children.for_each([&](const NodePtr& child) { out.push_back({child->name, child->ino, child->kind}); });
    }
    // Sorted, outside the lock: listings are stable from one opendir to the next.
    std::sort(out.begin(), out.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
    return out;
}

NodePtr NodeTree::resolve(std::string_view path) const {
    std::shared_lock lock(mu_);
    NodePtr cur = root_;
    while (!path.empty()) {
        size_t slash = path.find('/');
        std::string_view part = path.substr(0, slash);
        path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
        if (part.empty()) continue;
        const NodePtr* child = find_child(*cur, part);
        if (!child) return nullptr;
        cur = *child;
    }
    return cur;
}

std::string NodeTree::path_of(const Node& node) const {
    std::shared_lock lock(mu_);
    std::string path = node.name;
    for (NodePtr p = node.parent_.lock(); p && p->ino != kRootIno; p = p->parent_.lock())
        path = p->name + "/" + path;
    return path;
}

Result<NodePtr> NodeTree::link_child(const NodePtr& parent, NodePtr child) {
    {
        std::unique_lock lock(mu_);
        if (parent->kind != NodeKind::dir) return Error::of(ENOTDIR, parent->name + " is not a directory");
        if (parent->removed()) return Error::of(ENOENT, parent->name + " was removed");
        if (!children_of(*parent)->insert(child))
            return Error::of(EEXIST, "an entry named " + child->name + " already exists");
        child->parent_ = parent;
        by_ino_.insert(child->ino, child);
    }
    // The kernel may hold a negative dentry for the name.
    if (ObserverCall call(*this); call.observer) call.observer->entry_added(parent->ino, child->name);
    return child;
}

Result<NodePtr> NodeTree::add_dir(const NodePtr& parent, std::string name, uint32_t mode) {
    return link_child(parent, std::make_shared<DirNode>(next_ino_++, std::move(name), mode));
}

Result<NodePtr> NodeTree::add_attr(const NodePtr& parent, std::string name, uint32_t mode,
                                   std::unique_ptr<AttrOps> ops) {
    return link_child(parent, std::make_shared<AttrNode>(next_ino_++, std::move(name), mode, std::move(ops)));
}

Result<NodePtr> NodeTree::add_symlink(const NodePtr& parent, std::string name, std::string target) {
    return link_child(parent, std::make_shared<SymlinkNode>(next_ino_++, std::move(name), std::move(target)));
}

Result<NodePtr> NodeTree::ensure_dir(const NodePtr& parent, const std::string& name) {
    {
        std::shared_lock lock(mu_);
        if (const NodePtr* child = find_child(*parent, name)) {
            if ((*child)->kind != NodeKind::dir) return Error::of(ENOTDIR, name + " is not a directory");
            return *child;
        }
    }
    auto made = add_dir(parent, name);
    if (!made && made.error().code == EEXIST) return ensure_dir(parent, name);  // lost a race
    return made;
}

void NodeTree::collect(const NodePtr& node, std::vector<NodePtr>& out) const {
    out.push_back(node);
    if (const ChildSet* children = children_of(*node))
        children->for_each([&](const NodePtr& child) { collect(child, out); });
}

bool NodeTree::deactivate(const NodePtr& node, std::chrono::steady_clock::time_point deadline) {
    std::vector<NodePtr> nodes;
    {
        std::shared_lock lock(mu_);
        collect(node, nodes);
    }
    std::vector<Node*> done;
    for (const NodePtr& n : nodes) {
        if (n->kind != NodeKind::attr) continue;
        if (n->active().deactivate()) done.push_back(n.get());
    }
    // Drain outside mu_: a callback in flight may itself look up nodes.
    bool drained = true;
    for (Node* n : done) {
        if (!n->active().drain_until(deadline)) { drained = false; break; }
    }
    if (!drained) {
        for (Node* n : done) n->active().reactivate();
    }
    return drained;
}

void NodeTree::remove(const NodePtr& node) {
    if (node->ino == kRootIno) return;
    std::vector<NodePtr> nodes;
    NodePtr parent;
    // The entries to announce, each with its directory's inode. The kernel
    // deletes a cached directory only once it has no cached children
    // (ENOTEMPTY otherwise), so children come before their directory:
    // collect() lists a directory before its subtree, this is that reversed.
    // Which of them the kernel holds is the front end's business; once this
    // section is over none can get there any more: every node is out of the
    // table and a live_only lookup() finds nothing below a removed directory.
    struct Gone { uint64_t parent_ino; const Node* node; };
    std::vector<Gone> gone;
    {
        std::unique_lock lock(mu_);
        if (node->removed()) {
            // Removed with its directory earlier (a device deleted while its
            // driver was going, whose unloader detaches the binding after):
            // unlink it from that dead directory now. An attribute node owns
            // its device, which owns the directory, so leaving the link would
            // keep all three alive for good.
            if (NodePtr dir = node->parent_.lock()) children_of(*dir)->erase(*node);
            return;
        }
        collect(node, nodes);
        parent = node->parent_.lock();
        if (parent) children_of(*parent)->erase(*node);
        gone.reserve(nodes.size());
        for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
            const NodePtr& n = *it;
            NodePtr dir = n == node ? parent : n->parent_.lock();
            if (dir) gone.push_back({dir->ino, n.get()});
        }
        for (const NodePtr& n : nodes) {
            n->removed_.store(true, std::memory_order_release);
            if (n->kind == NodeKind::attr) n->active().deactivate();
            by_ino_.erase(n->ino);
        }
        // Children stay linked to their removed parent so that open handles
        // still see a consistent (dead) tree.
    }
    // Pollers of a removed attribute wake with POLLERR.
    for (const NodePtr& n : nodes)
        if (n->kind == NodeKind::attr) notify_changed(*n);
    // `nodes` keeps every Node in `gone` alive.
    if (ObserverCall call(*this); call.observer)
        for (const Gone& g : gone) call.observer->entry_removed(g.parent_ino, g.node->ino, g.node->name, g.node == node.get());
}

void NodeTree::set_observer(TreeObserver* observer) {
    observer_.store(observer);
    if (observer) return;
    // Calls are short (they queue for the notifier) or bounded (sync_changes).
    while (observer_users_.load() != 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
}

size_t NodeTree::node_count() const {
    std::shared_lock lock(mu_);
    return by_ino_.size();
}

std::string relative_link(const std::string& from_dir, const std::string& to) {
    // Both paths are relative to the root of the mount. Up to the deepest
    // directory they share, then down, as sysfs writes its links
    // (devices/platform/led0/leds/led0/device -> ../../../led0).
    auto components = [](const std::string& p) {
        std::vector<std::string_view> out;
        std::string_view rest = p;
        while (!rest.empty()) {
            size_t slash = rest.find('/');
            out.push_back(rest.substr(0, slash));
            rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
        }
        return out;
    };
    const std::vector<std::string_view> from = components(from_dir), dest = components(to);
    size_t common = 0;
    // The last component of `to` is the target itself, never a shared directory.
    while (common < from.size() && common + 1 < dest.size() && from[common] == dest[common]) ++common;
    std::string out;
    for (size_t i = common; i < from.size(); ++i) out += "../";
    for (size_t i = common; i < dest.size(); ++i) {
        out += dest[i];
        if (i + 1 < dest.size()) out += '/';
    }
    return out;
}

}  // namespace driverfs
