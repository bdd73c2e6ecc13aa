// The FUSE front end: the Fs object, the request table and the mount loop.
#include "fs.hpp"
#include "ops.hpp"

#include <algorithm>
#include <climits>
#include <utility>
#include <unistd.h>

#include "core/log.hpp"

namespace driverfs::fuse {

namespace {

void op_init(void*, fuse_conn_info* conn) {
    // Attribute writes are single-page stores; no writeback cache, no
    // splice games. Keep what the kernel offers otherwise.
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    // An attribute's size never changes for a truncate (sysfs keeps it).
    // With atomic O_TRUNC the kernel itself sets the cached size to 0 at
    // such an open and only then drops it, so another fd's fstat can read
    // 0 in between (glibc's posix_fallocate then writes a NUL byte). Without
    // it the truncate is a SETATTR, whose reply carries the real size.
    conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
    // A symlink node's target never changes (a link made again is a new
    // inode), so the kernel may keep targets in its page cache: `ls -l` of a
    // bus's devices/ then sends no READLINK per entry after the first.
    if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
}

}  // namespace

// The one request table. What is left out is ENOSYS, which the kernel
// remembers for the mount, so nothing sysfs answers may be missing here.
const fuse_lowlevel_ops& lowlevel_ops() {
    static const fuse_lowlevel_ops ops = [] {
        fuse_lowlevel_ops o{};
        o.init = op_init;
        o.lookup = op_lookup;
        o.forget = op_forget;
        o.getattr = op_getattr;
        o.setattr = op_setattr;
        o.readlink = op_readlink;
        o.mknod = op_mknod;
        o.mkdir = op_mkdir;
        o.unlink = op_unlink;
        o.rmdir = op_rmdir;
        o.symlink = op_symlink;
        o.rename = op_rename;
        o.link = op_link;
        o.open = op_open;
        o.read = op_read;
        o.write = op_write;
        o.flush = op_flush;
        o.release = op_release;
        o.opendir = op_opendir;
        o.readdir = op_readdir;
        o.releasedir = op_releasedir;
        o.setxattr = op_setxattr;
        o.getxattr = op_getxattr;
        o.listxattr = op_listxattr;
        o.removexattr = op_removexattr;
        o.create = op_create;
        o.poll = op_poll;
        o.forget_multi = op_forget_multi;
        o.readdirplus = op_readdirplus;
        return o;
    }();
    return ops;
}

Fs::~Fs() {
    // First: no thread (a plugin's notify, a control command) may be inside
    // this object's observer calls once it goes; then the notifier they feed.
    core_.tree().set_observer(nullptr);
    notifier_.stop();
    std::lock_guard lock(poll_mu_);
    for (auto& [ino, entry] : pollers_) fuse_pollhandle_destroy(entry.second);
    pollers_.clear();
}

void Fs::entry_added(uint64_t parent_ino, const std::string& name) {
    if (notify_.load(std::memory_order_acquire)) notifier_.push(Notifier::InvalEntry{parent_ino, name});
}

// Only what the kernel holds can be in its cache (see KernelRefs::lookup for
// why none of the others can get there later); the top entry is announced
// anyway: cheap, and its name is the one a lookup would find.
void Fs::entry_removed(uint64_t parent_ino, uint64_t ino, const std::string& name, bool top) {
    if (notify_.load(std::memory_order_acquire) && (top || refs_.held(ino)))
        notifier_.push(Notifier::Delete{parent_ino, ino, name});
}

void Fs::attr_changed(uint64_t ino) {
    // Cached pages go before pollers wake, so that a poller's read after
    // POLLPRI reaches show(). The notifier sends in queue order.
    if (notify_.load(std::memory_order_acquire)) {
        NodePtr node = this->node(ino);
        if (node && node->kind == NodeKind::attr && !node->removed() && node->ops()->cacheable())
            notifier_.push(Notifier::InvalInode{ino});
    }
    std::vector<fuse_pollhandle*> wake;
    {
        std::lock_guard lock(poll_mu_);
        auto [first, last] = pollers_.equal_range(ino);
        for (auto it = first; it != last; ++it) wake.push_back(it->second.second);
        pollers_.erase(first, last);
    }
    for (fuse_pollhandle* ph : wake) notifier_.push(Notifier::Poll{ph});
}

void Fs::sync_changes() {
    if (!notifier_.wait(notifier_.last_ticket(), kSyncWait))
        log(LogLevel::warning, "the kernel took over " + std::to_string(kSyncWait.count()) +
                                   " ms to take a cache notification; a lookup or read may still see the old"
                                   " state (does a plugin call notify while holding a lock its show() takes?)");
}

void Fs::stored(const Node& node) {
    if (node.ops()->cacheable() && notify_.load(std::memory_order_acquire))
        notifier_.push(Notifier::InvalInode{node.ino});
    // Deleting the written file itself would need the inode lock its own
    // write() holds until we reply: do not wait for that. (A removal of this
    // file by another thread racing with the check can still make the write
    // wait out kSyncWait once; it then completes, and says so in the log.)
    if (!node.removed()) sync_changes();
}

void Fs::add_poller(uint64_t ino, const OpenFile* file, fuse_pollhandle* ph) {
    std::lock_guard lock(poll_mu_);
    auto [first, last] = pollers_.equal_range(ino);
    for (auto it = first; it != last; ++it) {
        if (it->second.first == file) {  // the kernel sends a fresh handle each poll
            fuse_pollhandle_destroy(it->second.second);
            it->second.second = ph;
            return;
        }
    }
    pollers_.emplace(ino, std::make_pair(file, ph));
}

void Fs::drop_pollers(const OpenFile* file) {
    std::lock_guard lock(poll_mu_);
    auto [first, last] = pollers_.equal_range(file->node()->ino);
    for (auto it = first; it != last;) {
        if (it->second.first == file) {
            fuse_pollhandle_destroy(it->second.second);
            it = pollers_.erase(it);
        } else {
            ++it;
        }
    }
}

namespace {

// A page for text attributes (as sysfs: the length is unknown until read)
// and the exact length for binary ones. A cacheable attribute is measured:
// the kernel serves reads from the page cache only up to st_size.
size_t attr_size(Node& node) {
    if (!node.ops()->cacheable()) return node.ops()->size();
    char page[AttrOps::kPageSize];
    Result<size_t> n = current_value(node, page);
    return n ? n.value() : node.ops()->size();
}

}  // namespace

void Fs::stat_of(Node& node, struct stat* st) {
    *st = {};
    st->st_ino = node.ino;
    st->st_uid = uid_;
    st->st_gid = gid_;
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(node.ctime().time_since_epoch()).count();
    st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = secs;
    st->st_blksize = 4096;
    switch (node.kind) {
    case NodeKind::dir:
        st->st_mode = S_IFDIR | node.mode();
        st->st_nlink = 2;
        break;
    case NodeKind::attr:
        st->st_mode = S_IFREG | node.mode();
        st->st_nlink = 1;
        st->st_size = static_cast<off_t>(attr_size(node));
        break;
    case NodeKind::symlink:
        st->st_mode = S_IFLNK | 0777;
        st->st_nlink = 1;
        st->st_size = static_cast<off_t>(node.target().size());
        break;
    }
}

int Fs::serve(fuse_args* args, const std::string& mountpoint, const fuse_cmdline_opts& opts,
              const std::function<void()>& on_mounted) {
    fuse_session* se = fuse_session_new(args, &lowlevel_ops(), sizeof(fuse_lowlevel_ops), this);
    if (!se) return 1;
    if (fuse_set_signal_handlers(se) != 0) {
        fuse_session_destroy(se);
        return 1;
    }
    if (fuse_session_mount(se, mountpoint.c_str()) != 0) {
        fuse_remove_signal_handlers(se);
        fuse_session_destroy(se);
        return 1;
    }
    notifier_.start(se);
    notify_.store(true, std::memory_order_release);
    on_mounted();

    int rc;
    if (opts.singlethread) {
        rc = fuse_session_loop(se);
    } else {
        fuse_loop_config* cfg = fuse_loop_cfg_create();
        fuse_loop_cfg_set_clone_fd(cfg, opts.clone_fd);
        // UINT_MAX means "not given": keep libfuse's defaults.
        if (opts.max_idle_threads != UINT_MAX) fuse_loop_cfg_set_idle_threads(cfg, opts.max_idle_threads);
        if (opts.max_threads != UINT_MAX && opts.max_threads != 0) fuse_loop_cfg_set_max_threads(cfg, opts.max_threads);
        rc = fuse_session_loop_mt(se, cfg);
        fuse_loop_cfg_destroy(cfg);
    }
    notify_.store(false, std::memory_order_release);
    notifier_.stop();
    fuse_session_unmount(se);
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    // libfuse reports the signal that ended the loop as a positive value:
    // SIGTERM/SIGINT are a normal way to stop, not a failure.
    return rc <= 0 ? (rc == 0 ? 0 : 1) : 0;
}

}  // namespace driverfs::fuse
