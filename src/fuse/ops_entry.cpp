// Entry operations: lookup, forget, getattr, setattr, readlink.
#include <cstring>

#include "fs.hpp"
#include "ops.hpp"

namespace driverfs::fuse {

int lookup_entry(Fs& fs, fuse_ino_t parent, const char* name, fuse_entry_param* e, NodePtr* found) {
    Result<NodePtr> node = fs.refs().lookup(parent, name);
    if (!node) return node.error().code;
    if (found) *found = node.value();
    std::memset(e, 0, sizeof *e);
    e->ino = node.value()->ino;
    e->generation = 1;  // inode numbers are never reused within a mount
    e->attr_timeout = fs.timeouts().attr_for(node.value()->kind);
    e->entry_timeout = fs.timeouts().entry_for(node.value()->kind);
    fs.stat_of(*node.value(), &e->attr);
    return 0;
}

void reannounce_if_removed(Fs& fs, fuse_ino_t parent, const Node& node) {
    if (node.removed()) fs.entry_removed(parent, node.ino, node.name, true);
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    Fs& fs = fs_of(req);
    fuse_entry_param e;
    NodePtr node;
    if (int err = lookup_entry(fs, parent, name, &e, &node)) return (void)fuse_reply_err(req, err);
    fuse_reply_entry(req, &e);
    reannounce_if_removed(fs, parent, *node);
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
    fs_of(req).refs().forget(ino, nlookup);
    fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
    for (size_t i = 0; i < count; ++i) fs_of(req).refs().forget(forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    Fs& fs = fs_of(req);
    NodePtr node = fs.node(ino);
    if (!node) return (void)fuse_reply_err(req, ENOENT);
    struct stat st;
    fs.stat_of(*node, &st);
    fuse_reply_attr(req, &st, fs.timeouts().attr_for(node->kind));
}

namespace {

// As kernfs: chmod is kept, truncate (and O_TRUNC) succeeds without effect
// because an attribute has no stored content, times and owners are accepted.
int do_setattr(Fs& fs, fuse_ino_t ino, const struct stat* attr, int to_set, struct stat* out) {
    NodePtr node = fs.node(ino);
    if (!node) return ENOENT;
    if ((to_set & FUSE_SET_ATTR_MODE) && node->kind != NodeKind::symlink) node->set_mode(attr->st_mode);
    if ((to_set & FUSE_SET_ATTR_SIZE) && node->kind == NodeKind::dir) return EISDIR;
    fs.stat_of(*node, out);
    return 0;
}

}  // namespace

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
    struct stat st;
    if (int err = do_setattr(fs_of(req), ino, attr, to_set, &st)) fuse_reply_err(req, err);
    else fuse_reply_attr(req, &st, fs_of(req).timeouts().attr);
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
    NodePtr node = fs_of(req).node(ino);
    if (!node) fuse_reply_err(req, ENOENT);
    else if (node->kind != NodeKind::symlink) fuse_reply_err(req, EINVAL);
    else fuse_reply_readlink(req, node->target().c_str());
}

}  // namespace driverfs::fuse
