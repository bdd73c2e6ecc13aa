// Refusing a mount point before anything is built: not a directory, or a driverfs already there.
#include "mount_point.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

namespace driverfs::daemon {
namespace {

// A field of /proc/self/mountinfo with its octal escapes (\040 for a
// space, ...) decoded, so that it compares equal to a path.
std::string unescape_mountinfo(const std::string& field) {
    std::string out;
    for (size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size() && field[i + 1] >= '0' && field[i + 1] <= '3' &&
            field[i + 2] >= '0' && field[i + 2] <= '7' && field[i + 3] >= '0' && field[i + 3] <= '7') {
            out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0'));
            i += 3;
        } else {
            out += field[i];
        }
    }
    return out;
}

bool driverfs_mounted_at(const std::string& path) {
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
        std::vector<std::string> f;
        size_t pos = 0;
        while (pos <= line.size()) {
            size_t sp = line.find(' ', pos);
            if (sp == std::string::npos) sp = line.size();
            f.push_back(line.substr(pos, sp - pos));
            pos = sp + 1;
        }
        size_t dash = 6;
        while (dash < f.size() && f[dash] != "-") ++dash;
        if (f.size() < 5 || dash + 1 >= f.size()) continue;
        if (f[dash + 1] == "fuse.driverfs" && unescape_mountinfo(f[4]) == path) return true;
    }
    return false;
}

bool socket_answers(const std::string& path) {
    sockaddr_un sa{};
    if (path.size() >= sizeof sa.sun_path) return false;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.c_str(), path.size());
    const bool up = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    close(fd);
    return up;
}

}  // namespace

driverfs::Status check_mountpoint(const std::string& mountpoint, const std::string& default_socket) {
    // /dev/fd/N: a mount already opened by fusermount3 or mount.fuse3
    // (drop_privileges); there is no directory of ours to look at.
    if (mountpoint.rfind("/dev/fd/", 0) == 0) return {};
    struct stat st;
    if (stat(mountpoint.c_str(), &st) != 0) {
        const int e = errno;
        return driverfs::Error::of(e, mountpoint + ": " + std::strerror(e) +
                                           (e == ENOTCONN ? " (a dead FUSE mount: fusermount3 -u it first)" : ""));
    }
    if (!S_ISDIR(st.st_mode))
        return driverfs::Error::of(ENOTDIR, mountpoint + ": not a directory; a driverfs mount point must be a directory");
    if (driverfs_mounted_at(mountpoint))
        return driverfs::Error::of(EBUSY, mountpoint + ": a driverfs is already mounted there; unmount it first "
                                                       "(fusermount3 -u " + mountpoint + ") or pick another mount point");
    if (socket_answers(default_socket))
        return driverfs::Error::of(EBUSY, mountpoint + ": a driverfs daemon for this mount point still answers on " +
                                              default_socket + "; stop it first (driverfsctl --mount " + mountpoint +
                                              " ping gives its pid)");
    return {};
}

}  // namespace driverfs::daemon
