// libdriverfs-sysfs: make statfs() call a driverfs mount sysfs.
//
// libudev (sd-device) and other /sys readers check that /sys is sysfs by
// comparing statfs()'s f_type with SYSFS_MAGIC; a FUSE mount answers
// FUSE_SUPER_MAGIC and they refuse it. driverfs-run preloads this library so
// that, for paths and descriptors on the driverfs mount named by
// DRIVERFS_SYSFS_ROOT, f_type reads SYSFS_MAGIC. Nothing else changes: other
// file systems, other fields and every error pass through untouched.
//
// Limits: statically linked programs, and programs that make the system call
// directly, bypass it. statvfs() has no file-system type field, and statx()
// reports none, so neither needs (or gets) a wrapper.

// The plain and the 64-bit entry points are separate symbols of glibc; with
// _FILE_OFFSET_BITS=64 the headers would rename statfs to statfs64 and the
// two definitions below would collide.
#undef _FILE_OFFSET_BITS
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#define DRIVERFS_SYSFS_MAGIC 0x62656572
#define DRIVERFS_FUSE_MAGIC 0x65735546

#define EXPORT __attribute__((visibility("default")))

// Is `dev` the device of the driverfs mount root? The root is looked up on
// every call, not cached: the mount can appear after this library is loaded
// (a shell started before it), and stat() of a FUSE root is cheap.
static int on_driverfs_root(dev_t dev) {
    const char* root = getenv("DRIVERFS_SYSFS_ROOT");
    if (!root || !*root) return 0;
    struct stat st;
    int saved = errno;
    int ok = stat(root, &st) == 0 && st.st_dev == dev;
    errno = saved;
    return ok;
}

static int path_on_driverfs(const char* path) {
    struct stat st;
    int saved = errno;
    int ok = stat(path, &st) == 0;
    errno = saved;
    return ok && on_driverfs_root(st.st_dev);
}

static int fd_on_driverfs(int fd) {
    struct stat st;
    int saved = errno;
    int ok = fstat(fd, &st) == 0;
    errno = saved;
    return ok && on_driverfs_root(st.st_dev);
}

// The C library's own functions, found once at load time (before any thread
// of the program can call them). Null if the C library lacks one: then the
// call fails with ENOSYS rather than crashing.
static int (*real_statfs)(const char*, struct statfs*);
static int (*real_statfs64)(const char*, struct statfs64*);
static int (*real_fstatfs)(int, struct statfs*);
static int (*real_fstatfs64)(int, struct statfs64*);

__attribute__((constructor)) static void find_real_functions(void) {
    real_statfs = (int (*)(const char*, struct statfs*))dlsym(RTLD_NEXT, "statfs");
    real_statfs64 = (int (*)(const char*, struct statfs64*))dlsym(RTLD_NEXT, "statfs64");
    real_fstatfs = (int (*)(int, struct statfs*))dlsym(RTLD_NEXT, "fstatfs");
    real_fstatfs64 = (int (*)(int, struct statfs64*))dlsym(RTLD_NEXT, "fstatfs64");
}

static int missing(void) {
    errno = ENOSYS;
    return -1;
}

// Called only for a FUSE answer, so other file systems cost no stat(). f_type
// has the same type in both structures (__fsword_t).
static void fix_type(__fsword_t* type, int on_driverfs) {
    if (on_driverfs) *type = DRIVERFS_SYSFS_MAGIC;
}

EXPORT int statfs(const char* path, struct statfs* buf) {
    int rc = real_statfs ? real_statfs(path, buf) : missing();
    if (rc == 0 && buf->f_type == DRIVERFS_FUSE_MAGIC) fix_type(&buf->f_type, path_on_driverfs(path));
    return rc;
}

EXPORT int statfs64(const char* path, struct statfs64* buf) {
    int rc = real_statfs64 ? real_statfs64(path, buf) : missing();
    if (rc == 0 && buf->f_type == DRIVERFS_FUSE_MAGIC) fix_type(&buf->f_type, path_on_driverfs(path));
    return rc;
}

EXPORT int fstatfs(int fd, struct statfs* buf) {
    int rc = real_fstatfs ? real_fstatfs(fd, buf) : missing();
    if (rc == 0 && buf->f_type == DRIVERFS_FUSE_MAGIC) fix_type(&buf->f_type, fd_on_driverfs(fd));
    return rc;
}

EXPORT int fstatfs64(int fd, struct statfs64* buf) {
    int rc = real_fstatfs64 ? real_fstatfs64(fd, buf) : missing();
    if (rc == 0 && buf->f_type == DRIVERFS_FUSE_MAGIC) fix_type(&buf->f_type, fd_on_driverfs(fd));
    return rc;
}
