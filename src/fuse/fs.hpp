// The FUSE front end: turns kernel requests into core calls.
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <unistd.h>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <variant>

#include "core/core.hpp"
#include "core/open_file.hpp"
#include "kernel_refs.hpp"

namespace driverfs::fuse {

// How long a write, a control command or a plugin's notify waits for the
// kernel to take the cache notifications queued so far. Normally well under
// a millisecond; the bound only matters if a plugin calls notify while
// holding a lock its own show() needs.
constexpr std::chrono::milliseconds kSyncWait{1000};

// How long the kernel may cache a name's lookup and a node's attributes
// (-o entry_timeout=S, attr_timeout=S). Every addition and removal is
// announced (inval_entry, notify_delete) and so is every change of a
// cacheable attribute's size, so these only bound how long a change nobody
// announces stays invisible: another mount user's chmod. 1 s as libfuse's
// default; bench/README.md measures what longer ones would buy.
//
// A symlink has no such change: its target, mode, owner and times are fixed
// for its life (a link made again is a new inode), and its removal is
// announced. So the kernel keeps its entry and attributes for kForever
// whatever these say, and with them its cached target: a second `ls -l` of a
// bus's devices/ sends no READLINK per link (bench/README.md).
struct CacheTimeouts {
    double entry = 1.0;
    double attr = 1.0;
    static constexpr double kForever = 86400.0;
    double entry_for(NodeKind kind) const { return kind == NodeKind::symlink ? kForever : entry; }
    double attr_for(NodeKind kind) const { return kind == NodeKind::symlink ? kForever : attr; }
};

// Kernel cache notifications must not be sent from a request handler or with
// a lock a handler may wait on (libfuse documents the deadlock): the core
// reports changes here, they are queued, and one thread sends them.
class Notifier {
public:
    struct Delete { uint64_t parent, child; std::string name; };
    struct InvalEntry { uint64_t parent; std::string name; };
    struct InvalInode { uint64_t ino; };  // drop cached pages and attributes
    struct Poll { fuse_pollhandle* ph; };
    using Event = std::variant<Delete, InvalEntry, InvalInode, Poll>;

    void start(fuse_session* se);
    // Stop the thread; events still queued are dropped (the kernel forgets
    // the whole mount anyway). Poll handles are destroyed.
    void stop();
    // Queue an event; returns its ticket for wait(), 0 if it was dropped.
    uint64_t push(Event e);
    // The ticket of the newest event queued (0: none yet).
    uint64_t last_ticket();
    // Wait until the event with `ticket` (and every earlier one) was sent,
    // or `timeout` passed; false on timeout. Events are sent in ticket order.
    bool wait(uint64_t ticket, std::chrono::milliseconds timeout);

private:
    void run();

    fuse_session* se_ = nullptr;
    std::mutex mu_;  // guards queue_, running_, pushed_ and sent_
    std::condition_variable cv_;       // the thread waits for events
    std::condition_variable sent_cv_;  // wait() waits for sent_
    std::deque<Event> queue_;
    bool running_ = false;
    uint64_t pushed_ = 0;  // tickets handed out
    uint64_t sent_ = 0;    // tickets sent (or dropped at stop)
    std::thread thread_;
};

// One mount. Handlers reach it through fuse_req_userdata().
class Fs : public TreeObserver {
public:
    explicit Fs(Core& core, CacheTimeouts timeouts = {})
        : core_(core), timeouts_(timeouts), refs_(core.tree()), uid_(geteuid()), gid_(getegid()) {
        static_assert(NodeTree::kRootIno == FUSE_ROOT_ID);
        core_.tree().set_observer(this);
    }
    ~Fs() override;

    Core& core() { return core_; }
    NodeTree& tree() { return core_.tree(); }
    // What the kernel may ask about by inode number: what it holds (also
    // once removed) and the root.
    KernelRefs& refs() { return refs_; }
    NodePtr node(uint64_t ino) const { return refs_.get(ino); }
    Notifier& notifier() { return notifier_; }
    const CacheTimeouts& timeouts() const { return timeouts_; }

    // TreeObserver: queue for the notifier thread; never blocks on the kernel.
    void entry_added(uint64_t parent_ino, const std::string& name) override;
    void entry_removed(uint64_t parent_ino, uint64_t ino, const std::string& name, bool top) override;
    void attr_changed(uint64_t ino) override;
    void sync_changes() override;

    // After a store, before the write returns: drop the attribute's cached
    // pages if it is cacheable, and tell the kernel of every change so far
    // (an unbind's removed links, a notified cacheable attribute).
    void stored(const Node& node);

    // Poll handles waiting for a change of an attribute, per open file.
    void add_poller(uint64_t ino, const OpenFile* file, fuse_pollhandle* ph);
    void drop_pollers(const OpenFile* file);

    // Not const: a cacheable attribute is measured (its real st_size) by
    // reading its current value, which runs its owner's show().
    void stat_of(Node& node, struct stat* st);

    // Mount lifecycle: create the session, mount, serve, unmount.
    int serve(fuse_args* args, const std::string& mountpoint, const fuse_cmdline_opts& opts,
              const std::function<void()>& on_mounted);

private:
    Core& core_;
    const CacheTimeouts timeouts_;
    KernelRefs refs_;
    Notifier notifier_;
    std::mutex poll_mu_;  // guards pollers_
    std::multimap<uint64_t, std::pair<const OpenFile*, fuse_pollhandle*>> pollers_;
    const uid_t uid_;
    const gid_t gid_;
    // Set while the session is mounted and the notifier runs.
    std::atomic<bool> notify_{false};
};

// The request table: every attribute file is served by the same handlers.
const fuse_lowlevel_ops& lowlevel_ops();

inline Fs& fs_of(fuse_req_t req) { return *static_cast<Fs*>(fuse_req_userdata(req)); }

// A LOOKUP's answer for `name` in `parent`, counting one kernel reference
// on success (LOOKUP and READDIRPLUS both hand the kernel an inode).
// Returns 0 or the errno; on an error `e` is left as it was. `found`, if
// given, gets the node, for reannounce_if_removed once the reply is sent.
int lookup_entry(Fs& fs, fuse_ino_t parent, const char* name, fuse_entry_param* e, NodePtr* found = nullptr);

// Call after the reply that handed the kernel `node` (by its name) in
// `parent` was sent; nothing of the request may be used by then. A removal
// that ran between the lookup and that reply announced the entry before the
// kernel had it, and the kernel would then keep it for its whole entry
// timeout (a day for a symlink). NodeTree::remove marks a
// node removed before it announces it, so a node not yet marked here will be
// announced after this reply; a marked one is announced again, now behind it.
void reannounce_if_removed(Fs& fs, fuse_ino_t parent, const Node& node);

}  // namespace driverfs::fuse
