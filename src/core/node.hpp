// The node tree: directories, attributes and symlinks, addressed by inode number.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <unordered_map>
#include <vector>

#include "core/active_ref.hpp"
#include "core/error.hpp"
#include "core/inode_table.hpp"

namespace driverfs {

enum class NodeKind : uint8_t { dir, attr, symlink };

// What an attribute does when read or written. Implementations: core
// attributes (std::function, code of the daemon) and driver attributes
// (a plugin's show/store, reached only through a stub pin).
class AttrOps {
public:
    virtual ~AttrOps() = default;
    // Fill `page` (capacity kPageSize) and return the length, or an Error.
    virtual Result<size_t> show(char* page) = 0;
    // Consume `data`; return the count the writer sees, or an Error.
    virtual Result<size_t> store(std::string_view data) = 0;
    // Can the attribute be called at all right now (open-time validation)?
    virtual Status validate() { return {}; }
    // What stat reports: a page for text attributes, as sysfs.
    virtual size_t size() const { return kPageSize; }
    // May the kernel page cache serve reads? Only for a value that changes
    // solely through store() or a change notification, both of which
    // invalidate the cache (the front end's job).
    virtual bool cacheable() const { return false; }

    // Binary attributes: raw bytes at an offset, no snapshot, no page limit.
    virtual bool binary() const { return false; }
    virtual Result<size_t> read_at(char* out, size_t count, size_t offset) {
        (void)out, (void)count, (void)offset;
        return Error::of(EINVAL, "not a binary attribute");
    }
    virtual Result<size_t> write_at(std::string_view data, size_t offset) {
        (void)data, (void)offset;
        return Error::of(EINVAL, "not a binary attribute");
    }

    static constexpr size_t kPageSize = 4096;
};

// A node of the tree. Only its kind's data is allocated: a directory's
// children, an attribute's ops and active reference, a symlink's target
// each live in a subclass private to the tree (node_tree.cpp), so an
// attribute carries no child map and a directory no target. The accessors
// of another kind's data answer as that data would if empty.
//
// Memory: one bound device costs nine nodes, so every byte here counts
// nine times (bench/README.md, "Memory per bound device"). The members are
// ordered to pack into 72 bytes on LP64 (checked in node_tree.cpp).
class Node {
public:
    const uint64_t ino;
    const NodeKind kind;

private:
    std::atomic<bool> removed_{false};
    std::atomic<uint32_t> mode_;

public:
    const std::string name;

    uint32_t mode() const { return mode_.load(std::memory_order_relaxed); }
    void set_mode(uint32_t m) { mode_.store(m & 07777, std::memory_order_relaxed); }
    // Whole seconds: all stat reports.
    std::chrono::system_clock::time_point ctime() const {
        return std::chrono::system_clock::time_point(std::chrono::seconds(ctime_));
    }

    // Attributes only; null for the other kinds.
    AttrOps* ops() const;
    // Pinned around every call of ops(); deactivated when the node is removed,
    // so that a removed attribute never calls into its owner again. For
    // another kind, a shared reference that is always active: nothing calls
    // or deactivates those; a caller that reactivates whatever it stopped may
    // pass one, which is then a no-op.
    ActiveRef& active();

    // Symlinks only; empty for the other kinds.
    const std::string& target() const;

    // Directories only; read under NodeTree's lock.
    std::shared_ptr<Node> parent() const { return parent_.lock(); }

    bool removed() const { return removed_.load(std::memory_order_acquire); }

private:
    std::weak_ptr<Node> parent_;

public:
    // Bumped on every change notification (sysfs_notify) and on removal;
    // an open file that has not read since then polls as POLLPRI|POLLERR.
    // Compared for equality only, so 32 bits that may wrap are enough.
    std::atomic<uint32_t> events{0};

private:
    const uint32_t ctime_;  // seconds since the epoch (unsigned: good until 2106)

protected:
    // Made only as one of the tree's subclasses, and destroyed as one: the
    // control block of make_shared remembers the concrete type.
    Node(uint64_t ino, NodeKind kind, std::string name, uint32_t mode);
    ~Node() = default;

private:
    friend class NodeTree;
};

using NodePtr = std::shared_ptr<Node>;

struct DirEntry {
    std::string name;
    uint64_t ino;
    NodeKind kind;
};

// Told of every change the kernel may have cached. Called with the tree lock
// released; must not block (a front end queues to a thread of its own).
class TreeObserver {
public:
    virtual ~TreeObserver() = default;
    virtual void entry_added(uint64_t parent_ino, const std::string& name) = 0;
    // Once per removed node, children before their directory (the order in
    // which the kernel accepts deletions); `top` for the node remove() was
    // called on. A front end that handed a node out by its number keeps it
    // from here on for as long as it needs (the node is out of the tree).
    virtual void entry_removed(uint64_t parent_ino, uint64_t ino, const std::string& name, bool top) = 0;
    // An attribute's value changed (pollers wake, cached pages go) or it
    // was removed.
    virtual void attr_changed(uint64_t ino) = 0;
    // Return once the kernel took every change reported so far (entries
    // gone, cached pages dropped), or after a short bound. May block: call
    // it with no lock held and never from inside a driver callback.
    virtual void sync_changes() = 0;
};

// Owns every live node. mu_ protects the parent/child links and the inode
// table; it is a leaf lock: nothing is called while it is held. Inode numbers
// are never reused, so whoever keeps a NodePtr of a removed node (an open
// file, a front end whose clients still name it by number) keeps exactly that
// node; the table itself holds live nodes only.
class NodeTree {
public:
    static constexpr uint64_t kRootIno = 1;

    NodeTree();

    // A front end sets it once it serves, while control-socket threads
    // may already be changing the tree: hence an atomic. Setting null waits
    // for every call into the old observer to return, so the front end may
    // be destroyed right after, while plugin threads still notify.
    //
    // Why that wait is enough: a caller counts itself in observer_users_
    // before it loads observer_, the setter stores observer_ before it reads
    // the count, all seq_cst, so in their single total order either the
    // caller's count comes first (the setter sees it and waits for it) or
    // the setter's store does (the caller loads the new value).
    void set_observer(TreeObserver* observer);

    NodePtr root() const { return root_; }
    // A live node, O(1) by inode number; null once removed.
    NodePtr get(uint64_t ino) const;
    // A child by name. `live_only`, as a lookup through the file system:
    // nothing is found below a removed directory (see remove()).
    Result<NodePtr> lookup(uint64_t parent_ino, std::string_view name, bool live_only) const;
    // Sorted by name. A removed directory still lists what it held when it
    // went (open handles see a consistent, dead tree).
    Result<std::vector<DirEntry>> list(uint64_t dir_ino) const;
    Result<std::vector<DirEntry>> list(const Node& dir) const;
    // Walk a slash-separated path from the root.
    NodePtr resolve(std::string_view path) const;
    // Path from the root, without a leading slash.
    std::string path_of(const Node& node) const;

    // Creation fails with EEXIST for a taken name, ENOENT for a removed parent.
    Result<NodePtr> add_dir(const NodePtr& parent, std::string name, uint32_t mode = 0755);
    Result<NodePtr> add_attr(const NodePtr& parent, std::string name, uint32_t mode,
                             std::unique_ptr<AttrOps> ops);
    Result<NodePtr> add_symlink(const NodePtr& parent, std::string name, std::string target);
    // A directory, creating it if missing.
    Result<NodePtr> ensure_dir(const NodePtr& parent, const std::string& name);

    // Make every attribute below `node` (inclusive) refuse new calls and wait
    // for the calls in flight. On timeout everything is reactivated and the
    // result is false.
    bool deactivate(const NodePtr& node, std::chrono::steady_clock::time_point deadline);
    // Unlink `node` and its subtree; attributes stop answering (ENODEV).
    void remove(const NodePtr& node);

    // Wake pollers of an attribute (sysfs_notify).
    void notify_changed(Node& node) {
        node.events.fetch_add(1, std::memory_order_release);
        ObserverCall call(*this);
        if (call.observer) call.observer->attr_changed(node.ino);
    }
    // See TreeObserver::sync_changes.
    void sync_changes() {
        ObserverCall call(*this);
        if (call.observer) call.observer->sync_changes();
    }

    size_t node_count() const;

private:
    Result<NodePtr> link_child(const NodePtr& parent, NodePtr child);
    void collect(const NodePtr& node, std::vector<NodePtr>& out) const;

    mutable std::shared_mutex mu_;
    InodeTable by_ino_;
    NodePtr root_;
    std::atomic<uint64_t> next_ino_{kRootIno + 1};
    std::atomic<TreeObserver*> observer_{nullptr};
    std::atomic<uint64_t> observer_users_{0};  // calls that may use observer_ (see set_observer)
    // One use of the observer: counted for its whole length.
    struct ObserverCall {
        explicit ObserverCall(NodeTree& t) : tree(t) {
            tree.observer_users_.fetch_add(1);
            observer = tree.observer_.load();
        }
        ~ObserverCall() { tree.observer_users_.fetch_sub(1); }
        ObserverCall(const ObserverCall&) = delete;
        ObserverCall& operator=(const ObserverCall&) = delete;
        NodeTree& tree;
        TreeObserver* observer;
    };
};

// Symlink target from `from` (a node's parent dir) to `to`, like "../../x".
std::string relative_link(const std::string& from_dir, const std::string& to);

}  // namespace driverfs
