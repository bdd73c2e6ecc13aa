// Directory operations: a listing is taken at opendir and paged from there,
// so a directory changing under a reader never repeats or skips entries.
#include <sys/stat.h>
#include <vector>

#include "fs.hpp"
#include "ops.hpp"

namespace driverfs::fuse {
namespace {

mode_t dtype_mode(NodeKind kind) {
    switch (kind) {
    case NodeKind::dir: return S_IFDIR;
    case NodeKind::attr: return S_IFREG;
    case NodeKind::symlink: return S_IFLNK;
    }
    return 0;
}

}  // namespace

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    Fs& fs = fs_of(req);
    NodePtr dir = fs.node(ino);
    if (!dir) return (void)fuse_reply_err(req, ENOENT);
    Result<std::vector<DirEntry>> entries = fs.tree().list(*dir);
    if (!entries) return (void)fuse_reply_err(req, entries.error().code);
    NodePtr parent = dir->parent();
    auto* listing = new std::vector<DirEntry>();
    listing->push_back({".", ino, NodeKind::dir});
    listing->push_back({"..", parent ? parent->ino : ino, NodeKind::dir});
    for (DirEntry& e : entries.value()) listing->push_back(std::move(e));
    fi->fh = reinterpret_cast<uint64_t>(listing);
    if (fuse_reply_open(req, fi) == -ENOENT) delete listing;  // interrupted: no releasedir follows
}

namespace {

// One page of the opendir listing from `off`. READDIRPLUS (`ls -l` of a big
// directory) gives each entry with its attributes in the same buffer instead
// of a LOOKUP per entry. Such an entry is looked up by name now, not taken
// from the opendir snapshot, because the kernel will hold a reference to what
// it gets: one removed since opendir is listed (as READDIR would) with no
// inode, which the kernel takes as "no attributes", and a new one is not
// listed, as with READDIR. The reference is counted only once the entry is
// known to fit, so a full buffer leaks none.
void reply_page(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi, bool plus) {
    Fs& fs = fs_of(req);
    const auto* listing = reinterpret_cast<const std::vector<DirEntry>*>(fi->fh);
    std::vector<char> buf(size);
    std::vector<NodePtr> handed;  // READDIRPLUS: the inodes this page gives
    size_t used = 0;
    for (size_t i = static_cast<size_t>(off); i < listing->size(); ++i) {
        const DirEntry& e = (*listing)[i];
        const off_t next = static_cast<off_t>(i + 1);
        const char* name = e.name.c_str();
        fuse_entry_param entry{};
        entry.attr.st_ino = e.ino;
        entry.attr.st_mode = dtype_mode(e.kind);
        if (plus) {
            if (fuse_add_direntry_plus(req, nullptr, 0, name, nullptr, next) > size - used) break;
            // A failed lookup leaves `entry` as it is: ino 0, listed, not looked up.
            NodePtr node;
            if (e.name != "." && e.name != ".." && lookup_entry(fs, ino, name, &entry, &node) == 0)
                handed.push_back(std::move(node));
            used += fuse_add_direntry_plus(req, buf.data() + used, size - used, name, &entry, next);
        } else {
            const size_t need = fuse_add_direntry(req, buf.data() + used, size - used, name, &entry.attr, next);
            if (need > size - used) break;
            used += need;
        }
    }
    fuse_reply_buf(req, buf.data(), used);
    // Not the listing's names: once the reply is sent, a RELEASEDIR may free it.
    for (const NodePtr& node : handed) reannounce_if_removed(fs, ino, *node);
}

}  // namespace

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
    reply_page(req, ino, size, off, fi, false);
}

void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
    reply_page(req, ino, size, off, fi, true);
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    delete reinterpret_cast<std::vector<DirEntry>*>(fi->fh);
    fuse_reply_err(req, 0);
}

}  // namespace driverfs::fuse
