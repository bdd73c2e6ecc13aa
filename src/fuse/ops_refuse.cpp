// Operations sysfs refuses, answered with the errno /sys gives on Linux
// (measured side by side; table in driverfs(5)).
#include <sys/stat.h>

#include <cstring>

#include "fs.hpp"
#include "ops.hpp"

namespace driverfs::fuse {
void op_mkdir(fuse_req_t req, fuse_ino_t, const char*, mode_t) { fuse_reply_err(req, EPERM); }
// sysfs: a regular file is a create (EACCES); fifos, sockets, devices EPERM.
void op_mknod(fuse_req_t req, fuse_ino_t, const char*, mode_t mode, dev_t) {
    fuse_reply_err(req, S_ISREG(mode) ? EACCES : EPERM);
}
void op_create(fuse_req_t req, fuse_ino_t, const char*, mode_t, fuse_file_info*) { fuse_reply_err(req, EACCES); }
void op_unlink(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EPERM); }
void op_rmdir(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EPERM); }
void op_symlink(fuse_req_t req, const char*, fuse_ino_t, const char*) { fuse_reply_err(req, EPERM); }
void op_link(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) { fuse_reply_err(req, EPERM); }
void op_rename(fuse_req_t req, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned) {
    fuse_reply_err(req, EPERM);
}
void op_setxattr(fuse_req_t req, fuse_ino_t, const char*, const char*, size_t, int) {
    fuse_reply_err(req, ENOTSUP);
}
// As kernfs: no attribute has an xattr (ENODATA), and POSIX ACLs are not
// supported at all (EOPNOTSUPP), which is what `ls -l` and getfacl ask for.
void op_getxattr(fuse_req_t req, fuse_ino_t, const char* name, size_t) {
    const bool acl = std::strncmp(name, "system.posix_acl_", 17) == 0;
    fuse_reply_err(req, acl ? EOPNOTSUPP : ENODATA);
}
void op_listxattr(fuse_req_t req, fuse_ino_t, size_t size) {
    if (size == 0) fuse_reply_xattr(req, 0);
    else fuse_reply_buf(req, nullptr, 0);
}
void op_removexattr(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EOPNOTSUPP); }

}  // namespace driverfs::fuse
