// The node tree: creation, lookup, listing and removal of nodes.
#include "core/node.hpp"

#include <algorithm>
#include <mutex>
#include <thread>
#include <sys/stat.h>

namespace driverfs {

Node::Node(uint64_t ino_, NodeKind kind_, std::string name_, uint32_t mode)
    : ino(ino_), kind(kind_), name(std::move(name_)), mode_(mode & 07777),
      ctime_(std::chrono::system_clock::now()) {}

NodeTree::NodeTree() {
    root_ = std::make_shared<Node>(kRootIno, NodeKind::dir, "", 0755);
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
    auto it = parent->children_.find(name);
    if (it == parent->children_.end()) return Error::of(ENOENT, "no such entry");
    return it->second;
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
        out.reserve(dir.children_.size());
        for (const auto& [name, child] : dir.children_) out.push_back({name, child->ino, child->kind});
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
        auto it = cur->children_.find(part);
        if (it == cur->children_.end()) return nullptr;
        cur = it->second;
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
        auto [it, inserted] = parent->children_.try_emplace(child->name, child);
        if (!inserted) return Error::of(EEXIST, "an entry named " + child->name + " already exists");
        child->parent_ = parent;
        by_ino_.insert(child->ino, child);
    }
    // The kernel may hold a negative dentry for the name.
    if (ObserverCall call(*this); call.observer) call.observer->entry_added(parent->ino, child->name);
    return child;
}

Result<NodePtr> NodeTree::add_dir(const NodePtr& parent, std::string name, uint32_t mode) {
    return link_child(parent, std::make_shared<Node>(next_ino_++, NodeKind::dir, std::move(name), mode));
}

Result<NodePtr> NodeTree::add_attr(const NodePtr& parent, std::string name, uint32_t mode,
                                   std::unique_ptr<AttrOps> ops) {
    auto node = std::make_shared<Node>(next_ino_++, NodeKind::attr, std::move(name), mode);
    node->ops_ = std::move(ops);
    return link_child(parent, std::move(node));
}

Result<NodePtr> NodeTree::add_symlink(const NodePtr& parent, std::string name, std::string target) {
    auto node = std::make_shared<Node>(next_ino_++, NodeKind::symlink, std::move(name), 0777);
    node->target_ = std::move(target);
    return link_child(parent, std::move(node));
}

Result<NodePtr> NodeTree::ensure_dir(const NodePtr& parent, const std::string& name) {
    {
        std::shared_lock lock(mu_);
        if (auto it = parent->children_.find(name); it != parent->children_.end()) {
            if (it->second->kind != NodeKind::dir) return Error::of(ENOTDIR, name + " is not a directory");
            return it->second;
        }
    }
    auto made = add_dir(parent, name);
    if (!made && made.error().code == EEXIST) return ensure_dir(parent, name);  // lost a race
    return made;
}

void NodeTree::collect(const NodePtr& node, std::vector<NodePtr>& out) const {
    out.push_back(node);
    for (const auto& [name, child] : node->children_) collect(child, out);
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
        if (n->active_.deactivate()) done.push_back(n.get());
    }
    // Drain outside mu_: a callback in flight may itself look up nodes.
    bool drained = true;
    for (Node* n : done) {
        if (!n->active_.drain_until(deadline)) { drained = false; break; }
    }
    if (!drained) {
        for (Node* n : done) n->active_.reactivate();
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
            if (NodePtr dir = node->parent_.lock()) {
                auto it = dir->children_.find(node->name);
                if (it != dir->children_.end() && it->second == node) dir->children_.erase(it);
            }
            return;
        }
        collect(node, nodes);
        parent = node->parent_.lock();
        if (parent) parent->children_.erase(node->name);
        gone.reserve(nodes.size());
        for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
            const NodePtr& n = *it;
            NodePtr dir = n == node ? parent : n->parent_.lock();
            if (dir) gone.push_back({dir->ino, n.get()});
        }
        for (const NodePtr& n : nodes) {
            n->removed_.store(true, std::memory_order_release);
            if (n->kind == NodeKind::attr) n->active_.deactivate();
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
