// The udev database: files named as libudev looks them up, written whole.
#include "database.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace driverfs::udev {

namespace {

Error errno_error(int code, const std::string& what) {
    return Error::of(code, what + ": " + std::strerror(code));
}

Status make_dir(const std::string& path) {
    if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
        return errno_error(errno, "udev database: mkdir " + path + " (is the parent writable?)");
    return {};
}

uint64_t monotonic_usec() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

// Keys udev keeps in the event and the sysfs uevent file, never in the
// database: libudev takes them from there and would find them twice.
bool event_only(const std::string& key) {
    return key == "ACTION" || key == "DEVPATH" || key == "SUBSYSTEM" || key == "SEQNUM" ||
           key == "SYNTH_UUID" || key.rfind("SYNTH_ARG_", 0) == 0;
}

Status write_all(int fd, const std::string& data, const std::string& path) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error(errno, "udev database: write " + path);
        }
        done += static_cast<size_t>(n);
    }
    return {};
}

}  // namespace

Result<Database> Database::open(const std::string& dir) {
    if (dir.empty() || dir[0] != '/') return Error::of(EINVAL, "udev database: '" + dir + "' is not an absolute path");
    if (Status s = make_dir(dir); !s) return s.error();
    if (Status s = make_dir(dir + "/data"); !s) return s.error();
    // libudev refuses to listen for udev's events unless this exists (its
    // sign that a udevd runs); nothing connects to it.
    const std::string control = dir + "/control";
    int fd = ::open(control.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return errno_error(errno, "udev database: create " + control);
    close(fd);
    return Database(dir);
}

std::string Database::entry_name(const Properties& props) {
    std::string_view major = find(props, "MAJOR"), minor = find(props, "MINOR");
    std::string_view subsystem = find(props, "SUBSYSTEM");
    if (!major.empty() && !minor.empty())
        return (subsystem == "block" ? "b" : "c") + std::string(major) + ":" + std::string(minor);
    std::string_view devpath = find(props, "DEVPATH");
    std::string sysname(devpath.substr(devpath.rfind('/') + 1));
    return "+" + std::string(subsystem) + ":" + sysname;
}

Status Database::apply(const Properties& props) {
    const std::string devpath(find(props, "DEVPATH"));
    const std::string path = dir_ + "/data/" + entry_name(props);
    if (find(props, "ACTION") == "remove") {
        initialized_.erase(devpath);
        if (unlink(path.c_str()) != 0 && errno != ENOENT) return errno_error(errno, "udev database: unlink " + path);
        return {};
    }
    auto [it, fresh] = initialized_.try_emplace(devpath, 0);
    if (fresh) it->second = monotonic_usec();
    std::string text = "I:" + std::to_string(it->second) + "\n";
    for (const auto& [k, v] : props) {
        if (event_only(k)) continue;
        // udev keeps a device's symlinks as S: lines, relative to /dev, and
        // libudev builds DEVLINKS from them.
        if (k == "DEVLINKS") {
            size_t start = 0;
            while (start < v.size()) {
                size_t end = v.find(' ', start);
                if (end == std::string::npos) end = v.size();
                std::string_view link = std::string_view(v).substr(start, end - start);
                if (link.rfind("/dev/", 0) == 0) link.remove_prefix(5);
                if (!link.empty()) text += "S:" + std::string(link) + "\n";
                start = end + 1;
            }
            continue;
        }
        text += "E:" + k + "=" + v + "\n";
    }
    text += "V:1\n";

    // Readers never see half a file: write a temporary beside it, then rename.
    std::string tmp = dir_ + "/data/.#" + entry_name(props) + "XXXXXX";
    int fd = mkostemp(tmp.data(), O_CLOEXEC);
    if (fd < 0) return errno_error(errno, "udev database: create a temporary in " + dir_ + "/data");
    Status written = write_all(fd, text, tmp);
    if (written && fchmod(fd, 0644) != 0) written = errno_error(errno, "udev database: chmod " + tmp);
    close(fd);
    if (written && rename(tmp.c_str(), path.c_str()) != 0) written = errno_error(errno, "udev database: rename to " + path);
    if (!written) unlink(tmp.c_str());
    return written;
}

}  // namespace driverfs::udev
