// The shared attribute file operations: open, read, write, flush, poll, release.
// Every attribute of every driver goes through these few functions.
#include <poll.h>
#include <vector>

#include "fs.hpp"
#include "ops.hpp"

namespace driverfs::fuse {
namespace {

OpenFile& file_of(fuse_file_info* fi) { return *reinterpret_cast<OpenFile*>(fi->fh); }

}  // namespace

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    Fs& fs = fs_of(req);
    NodePtr node = fs.node(ino);
    if (!node) return (void)fuse_reply_err(req, ENOENT);
    const bool cached = node->ops()->cacheable() && (fi->flags & O_ACCMODE) == O_RDONLY;
    Result<std::unique_ptr<OpenFile>> file = OpenFile::open(std::move(node), fi->flags);
    if (!file) return (void)fuse_reply_err(req, file.error().code);
    // A plain attribute's st_size is a nominal 4096, so the page cache must
    // not serve its reads: direct_io sends every read to show(). A cacheable
    // one, opened read-only, is read through the page cache, kept across
    // opens, and invalidated on every store and notify (Fs::stored,
    // Fs::attr_changed). Opened for writing it stays direct: a write through
    // the page cache would hold the page lock the invalidation needs.
    // Seeking stays allowed (lseek(0), pread) as in sysfs.
    fi->direct_io = !cached;
    fi->keep_cache = cached;
    fi->nonseekable = 0;
    // Nothing is buffered per open file, so close need not send FLUSH: one
    // FUSE round trip less per open+read+close (bench/README.md).
    fi->noflush = 1;
    fi->fh = reinterpret_cast<uint64_t>(file.value().release());
    if (fuse_reply_open(req, fi) == -ENOENT) delete &file_of(fi);  // interrupted: no release follows
}

namespace {

void reply_read(fuse_req_t req, const Result<size_t>& n, const char* data) {
    if (!n) fuse_reply_err(req, n.error().code);
    else fuse_reply_buf(req, data, n.value());
}

}  // namespace

void op_read(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
    OpenFile& file = file_of(fi);
    // No allocation per READ: a text attribute is one page at most, read
    // into the stack; a binary one takes what the kernel asks for (bounded
    // by max_read) into this worker's own buffer, which only grows.
    if (!file.node()->ops()->binary()) {
        char page[AttrOps::kPageSize];
        return reply_read(req, file.read(page, std::min(size, sizeof page), off), page);
    }
    thread_local std::vector<char> binary_buf;
    if (binary_buf.size() < size) binary_buf.resize(size);
    reply_read(req, file.read(binary_buf.data(), size, off), binary_buf.data());
}

void op_write(fuse_req_t req, fuse_ino_t, const char* data, size_t size, off_t off, fuse_file_info* fi) {
    OpenFile& file = file_of(fi);
    Result<size_t> n = file.write(std::string_view(data, size), off);
    // Before the reply, so that a read after write() returns sees the new
    // value, even from the page cache. The store has returned: no pin and no
    // lock is held that the kernel's invalidation could wait on.
    fs_of(req).stored(*file.node());
    if (!n) fuse_reply_err(req, n.error().code);
    else fuse_reply_write(req, n.value());
}

void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

// The shared release: daemon code only, so closing a file of an unloaded
// plugin runs nothing of that plugin.
void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    OpenFile* file = &file_of(fi);
    fs_of(req).drop_pollers(file);
    delete file;
    fuse_reply_err(req, 0);
}

// sysfs semantics: always readable and writable; POLLPRI|POLLERR once the
// value changed since this file last read it (or the attribute went away).
void op_poll(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi, fuse_pollhandle* ph) {
    OpenFile& file = file_of(fi);
    unsigned revents = POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;
    if (ph) fs_of(req).add_poller(ino, &file, ph);
    if (file.changed_since_read() || file.node()->removed()) revents |= POLLPRI | POLLERR;
    fuse_reply_poll(req, revents);
}

}  // namespace driverfs::fuse
