// baseline_fs: the FUSE floor for fuse_compare.sh.
//
// The smallest libfuse3 low-level daemon serving one constant 4-byte file,
// /value = "255\n", with the FUSE options driverfsd uses: default_permissions,
// direct_io on open (seekable, no keep_cache), entry/attr timeouts of 1 s, no
// writeback cache, and the multithreaded loop with libfuse's default loop
// config (-o clone_fd and -o max_idle_threads=N are honoured the same way
// driverfsd honours them). Whatever driverfs costs above this is its own work.
//
//   baseline_fs [--flush] [-o opt,...] MOUNTPOINT
//
// Always in the foreground; SIGTERM/SIGINT or an unmount end it.
// --flush answers FLUSH with 0, as driverfsd does. Without it the kernel gets
// ENOSYS once and stops sending FLUSH on close (the minimal daemon's cost).
#define FUSE_USE_VERSION 314  // as src/fuse/fs.hpp
#include <fuse_lowlevel.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace {

constexpr fuse_ino_t kValueIno = 2;
constexpr char kName[] = "value";
constexpr char kData[] = "255\n";
constexpr size_t kSize = sizeof kData - 1;
constexpr double kTimeout = 1.0;  // entry and attr, as driverfsd

void fill_stat(fuse_ino_t ino, struct stat* st) {
    std::memset(st, 0, sizeof *st);
    st->st_ino = ino;
    st->st_uid = getuid();
    st->st_gid = getgid();
    st->st_blksize = 4096;
    if (ino == FUSE_ROOT_ID) {
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
    } else {
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        st->st_size = kSize;
    }
}

void op_init(void*, fuse_conn_info* conn) { conn->want &= ~FUSE_CAP_WRITEBACK_CACHE; }

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    if (parent != FUSE_ROOT_ID || std::strcmp(name, kName) != 0) return (void)fuse_reply_err(req, ENOENT);
    fuse_entry_param e{};
    e.ino = kValueIno;
    e.generation = 1;
    e.attr_timeout = kTimeout;
    e.entry_timeout = kTimeout;
    fill_stat(kValueIno, &e.attr);
    fuse_reply_entry(req, &e);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    if (ino != FUSE_ROOT_ID && ino != kValueIno) return (void)fuse_reply_err(req, ENOENT);
    struct stat st;
    fill_stat(ino, &st);
    fuse_reply_attr(req, &st, kTimeout);
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    if (ino != kValueIno) return (void)fuse_reply_err(req, EISDIR);
    if ((fi->flags & O_ACCMODE) != O_RDONLY) return (void)fuse_reply_err(req, EACCES);
    fi->direct_io = 1;
    fi->keep_cache = 0;
    fi->nonseekable = 0;
    fuse_reply_open(req, fi);
}

void op_read(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info*) {
    if (off < 0 || static_cast<size_t>(off) >= kSize) return (void)fuse_reply_buf(req, nullptr, 0);
    fuse_reply_buf(req, kData + off, std::min(size, kSize - static_cast<size_t>(off)));
}

void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
    if (ino != FUSE_ROOT_ID) return (void)fuse_reply_err(req, ENOTDIR);
    const char* names[] = {".", "..", kName};
    const fuse_ino_t inos[] = {FUSE_ROOT_ID, FUSE_ROOT_ID, kValueIno};
    std::vector<char> buf(size);
    size_t used = 0;
    for (off_t i = off; i < 3; ++i) {
        struct stat st;
        fill_stat(inos[i], &st);
        size_t n = fuse_add_direntry(req, buf.data() + used, size - used, names[i], &st, i + 1);
        if (n > size - used) break;
        used += n;
    }
    fuse_reply_buf(req, buf.data(), used);
}

}  // namespace

int main(int argc, char** argv) {
    bool flush = false;
    std::vector<char*> av;
    for (int i = 0; i < argc; ++i) {
        if (i > 0 && std::strcmp(argv[i], "--flush") == 0) flush = true;
        else av.push_back(argv[i]);
    }
    static char defaults[] = "-odefault_permissions,fsname=baseline,subtype=baseline_fs";
    av.push_back(defaults);
    fuse_args args = FUSE_ARGS_INIT(static_cast<int>(av.size()), av.data());
    fuse_cmdline_opts opts{};
    if (fuse_parse_cmdline(&args, &opts) != 0) return 2;
    if (opts.show_help || opts.show_version || !opts.mountpoint) {
        std::fprintf(opts.mountpoint ? stdout : stderr, "usage: %s [--flush] [-o opt,...] MOUNTPOINT\n", argv[0]);
        if (opts.show_help) fuse_lowlevel_help();
        free(opts.mountpoint);
        fuse_opt_free_args(&args);
        return opts.show_help || opts.show_version ? 0 : 2;
    }

    fuse_lowlevel_ops ops{};
    ops.init = op_init;
    ops.lookup = op_lookup;
    ops.getattr = op_getattr;
    ops.open = op_open;
    ops.read = op_read;
    ops.readdir = op_readdir;
    if (flush) ops.flush = op_flush;

    int rc = 1;
    fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, nullptr);
    if (se) {
        if (fuse_set_signal_handlers(se) == 0) {
            if (fuse_session_mount(se, opts.mountpoint) == 0) {
                fuse_loop_config* cfg = fuse_loop_cfg_create();
                fuse_loop_cfg_set_clone_fd(cfg, opts.clone_fd);
                if (opts.max_idle_threads != UINT_MAX) fuse_loop_cfg_set_idle_threads(cfg, opts.max_idle_threads);
                if (opts.max_threads != UINT_MAX && opts.max_threads != 0) fuse_loop_cfg_set_max_threads(cfg, opts.max_threads);
                int r = fuse_session_loop_mt(se, cfg);
                fuse_loop_cfg_destroy(cfg);
                rc = r < 0 ? 1 : 0;  // a positive value is the signal that ended the loop
                fuse_session_unmount(se);
            }
            fuse_remove_signal_handlers(se);
        }
        fuse_session_destroy(se);
    }
    free(opts.mountpoint);
    fuse_opt_free_args(&args);
    return rc;
}
