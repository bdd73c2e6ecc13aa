// The private namespaces and the per-run tmpfs that driverfs-run sets up and removes.
#include "sandbox.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace driverfs::run {

Error sys_error(const std::string& what) { return Error::of(errno, what + ": " + std::strerror(errno)); }

namespace {

Status write_file(const std::string& path, const std::string& text) {
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return sys_error("open " + path);
    ssize_t n = write(fd, text.data(), text.size());
    int e = errno;
    close(fd);
    if (n != static_cast<ssize_t>(text.size())) {
        errno = n < 0 ? e : EIO;
        return sys_error("write " + path);
    }
    return {};
}

}  // namespace

// Namespace A. Without root, a user namespace maps us to its root, which is
// what mounting FUSE and tmpfs and sending netlink multicast need.
Status enter_namespaces() {
    const uid_t uid = geteuid();
    const gid_t gid = getegid();
    int flags = CLONE_NEWNS | CLONE_NEWNET;
    if (uid != 0) flags |= CLONE_NEWUSER;
    if (unshare(flags) != 0) {
        Error e = sys_error(uid != 0 ? "unshare(user, mount, network namespaces)" : "unshare(mount, network namespaces)");
        if (uid != 0)
            e.message += "; this kernel may forbid unprivileged user namespaces "
                         "(sysctl kernel.unprivileged_userns_clone / user.max_user_namespaces): run as root";
        return e;
    }
    if (uid != 0) {
        if (Status s = write_file("/proc/self/setgroups", "deny"); !s) return s;
        if (Status s = write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1"); !s) return s;
        if (Status s = write_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1"); !s) return s;
    }
    // Nothing we mount may leak back to the host through shared propagation.
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return sys_error("make / private");
    return {};
}

Status loopback_up() {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return sys_error("socket for lo");
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    Status st;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) st = sys_error("get lo flags");
    else {
        ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) st = sys_error("bring lo up");
    }
    close(fd);
    return st;
}

Status make_state(State& st) {
    const char* tmp = getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp == '/' ? tmp : "/tmp") + "/driverfs-run.XXXXXX";
    if (!mkdtemp(templ.data())) return sys_error("mkdtemp " + templ);
    st.dir = templ;
    if (mount("driverfs-run", st.dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") != 0)
        return sys_error("mount a tmpfs on " + st.dir);
    st.mounted = true;
    for (const std::string& d : {st.sys(), st.udev()})
        if (mkdir(d.c_str(), 0755) != 0) return sys_error("mkdir " + d);
    // COMMAND's /run/udev is bound over this directory; the host may have
    // none (no udevd running). It is left in place afterwards, empty: another
    // run may be using it as its mount point, and then it cannot be removed.
    if (mkdir("/run/udev", 0755) != 0 && errno != EEXIST)
        return sys_error("mkdir /run/udev (needed as the place of COMMAND's udev database)");
    return {};
}

void remove_state(State& st) {
    if (st.mounted) {
        umount2(st.sys().c_str(), MNT_DETACH);  // normally gone with the daemon already
        if (umount2(st.dir.c_str(), MNT_DETACH) != 0)
            std::fprintf(stderr, "driverfs-run: unmount %s: %s\n", st.dir.c_str(), std::strerror(errno));
    }
    if (!st.dir.empty() && rmdir(st.dir.c_str()) != 0)
        std::fprintf(stderr, "driverfs-run: remove %s: %s\n", st.dir.c_str(), std::strerror(errno));
}

}  // namespace driverfs::run
