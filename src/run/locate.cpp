// Where driverfs-run finds the daemon and the preload library: the build tree's or the installed ones.
#include "locate.hpp"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <vector>

#include "driverfs_run_config.h"

namespace driverfs::run {
namespace {

bool under_build_root(const std::string& dir) {
    const std::string root = DRIVERFS_RUN_BUILD_ROOT;
    return dir.compare(0, root.size(), root) == 0 && (dir.size() == root.size() || dir[root.size()] == '/');
}

Result<std::string> find_file(const char* what, const std::vector<std::string>& candidates) {
    for (const std::string& c : candidates)
        if (access(c.c_str(), R_OK) == 0) return c;
    std::string tried;
    for (const std::string& c : candidates) tried += (tried.empty() ? "" : ", ") + c;
    return Error::of(ENOENT, std::string("cannot find ") + what + " (looked at " + tried + "); is driverfs installed?");
}

}  // namespace

std::string dir_of_self() {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return "";
    exe[n] = '\0';
    std::string s(exe);
    return s.substr(0, s.rfind('/'));
}

Result<std::string> find_daemon(const std::string& self) {
    if (under_build_root(self)) return find_file("driverfsd", {DRIVERFS_RUN_BUILD_DAEMON});
    return find_file("driverfsd", {self + "/driverfsd", self + "/../" DRIVERFS_RUN_SBINDIR "/driverfsd",
                                   DRIVERFS_RUN_DAEMON});
}

Result<std::string> find_preload(const std::string& self) {
    if (under_build_root(self)) return find_file("the sysfs preload library", {DRIVERFS_RUN_BUILD_PRELOAD});
    return find_file("the sysfs preload library",
                     {self + "/../" DRIVERFS_RUN_LIBDIR "/driverfs/" DRIVERFS_RUN_PRELOAD_NAME, DRIVERFS_RUN_PRELOAD});
}

}  // namespace driverfs::run
