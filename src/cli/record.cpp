// `driverfsctl record`: walk real sysfs devices and print them as a JSON device description.
// The "devices" description of driverfs(5), DEVICE DESCRIPTION FILES. Everything is opened O_RDONLY,
// through bounded_read(), so a sysfs file that blocks cannot hang us.
#include "record.hpp"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bounded_read.hpp"
#include "record_udev.hpp"
#include "control/protocol.hpp"
#include "exit.hpp"
#include "src/control/attr_value.hpp"

namespace driverfs::cli {

namespace {

using control::attribute_value;
using control::is_text;
using control::kMaxBinaryAttr;
using json = control::DescriptionJson;

void usage(FILE* out) {
    std::fprintf(out,
        "usage: driverfsctl record [--no-parents] [-v|--verbose] SYSPATH...\n"
        "\n"
        "Print the devices at SYSPATH (/sys/devices/... or a link to one, such as\n"
        "/sys/class/net/lo) and every ancestor that is a device as a JSON device\n"
        "description (driverfs(5)), for driverfsd --config or driverfsctl apply.\n"
        "Reads sysfs only; no daemon is needed.\n"
        "\n"
        "  --no-parents   only the devices named, not their ancestors\n"
        "  -v, --verbose  name each skipped file and why on stderr\n"
        "\n"
        "Each file is read in a child process given %d seconds; one that blocks\n"
        "longer is abandoned and counted as a timeout. Unreadable, write-only and\n"
        "over-64-KiB files are skipped and counted too; a summary goes to stderr.\n"
        "Exit status: 0 ok, 1 a SYSPATH is not a device, 2 usage. See driverfsctl(8).\n",
        kRecordReadTimeoutMs / 1000);
}

std::string base_name(const std::string& p) { return p.substr(p.rfind('/') + 1); }

bool is_file(const std::string& p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::optional<std::string> read_link(const std::string& p) {
    char buf[PATH_MAX];
    const ssize_t n = readlink(p.c_str(), buf, sizeof buf);
    if (n < 0 || static_cast<size_t>(n) >= sizeof buf) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
}

bool kernel_key(const std::string& k) {
    return !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

class Recorder {
public:
    Recorder(std::string root, std::string udev_dir, bool verbose)
        : root_(std::move(root)), udev_dir_(std::move(udev_dir)), verbose_(verbose) {}

    // The device directory SYSPATH names, or a message saying why it is none.
    bool resolve(const std::string& arg, std::string& dir, std::string& why) const;
    // Ancestors of `dir` that are devices, outermost first.
    std::vector<std::string> ancestors(const std::string& dir) const;
    void record(const std::string& dir);
    json result() const;
    void summary() const;

private:
    void skip(const std::string& path, const std::string& reason);
    std::optional<std::string> read(const std::string& path, size_t limit, bool missing_ok = false);
    void walk(const std::string& dir, const std::string& prefix, json& attrs, json& links);
    void udev_data(const std::string& entry, json& dev);

    std::string root_, udev_dir_;
    bool verbose_;
    json devices_ = json::array();
    std::set<std::string> done_;
    size_t attributes_ = 0, skipped_ = 0;
    std::map<std::string, size_t> reasons_;
};

bool Recorder::resolve(const std::string& arg, std::string& dir, std::string& why) const {
    const std::string p = !arg.empty() && arg[0] == '/' ? arg : root_ + "/" + arg;
    char buf[PATH_MAX];
    if (!realpath(p.c_str(), buf)) {
        why = std::strerror(errno);
        return false;
    }
    dir = buf;
    if (dir.rfind(root_ + "/devices/", 0) != 0) {
        why = "not a device (resolves to " + dir + ", outside " + root_ + "/devices)";
        return false;
    }
    if (!is_file(dir + "/uevent")) {
        why = "not a device (" + dir + " has no uevent file)";
        return false;
    }
    return true;
}

std::vector<std::string> Recorder::ancestors(const std::string& dir) const {
    std::vector<std::string> out;
    const std::string top = root_ + "/devices";
    for (std::string d = dir.substr(0, dir.rfind('/')); d.size() > top.size(); d = d.substr(0, d.rfind('/')))
        if (is_file(d + "/uevent")) out.insert(out.begin(), d);
    return out;
}

void Recorder::skip(const std::string& path, const std::string& reason) {
    ++skipped_;
    ++reasons_[reason];
    if (verbose_) std::fprintf(stderr, "driverfsctl: record: skipped %s: %s\n", path.c_str(), reason.c_str());
}

std::optional<std::string> Recorder::read(const std::string& path, size_t limit, bool missing_ok) {
    BoundedRead r = bounded_read(path, limit, kRecordReadTimeoutMs);
    switch (r.kind) {
        case BoundedRead::kOk: return std::move(r.data);
        case BoundedRead::kTimeout: skip(path, "timeout"); break;
        case BoundedRead::kTooLarge: skip(path, "too large"); break;
        case BoundedRead::kError:
            if (!(missing_ok && r.error == ENOENT)) skip(path, protocol::errno_name(r.error));
            break;
    }
    return std::nullopt;
}

void Recorder::record(const std::string& dir) {
    if (!done_.insert(dir).second) return;
    json dev{{"path", dir.substr(root_.size() + 1)}};
    const std::string sysname = base_name(dir);

    // The subsystem link ends in bus/X or class/X.
    std::string subsystem, kind;
    if (auto t = read_link(dir + "/subsystem")) {
        subsystem = base_name(*t);
        const std::string up = t->substr(0, t->size() - subsystem.size());
        if (up.size() >= 4 && up.compare(up.size() - 4, 4, "bus/") == 0) kind = "bus";
        else if (up.size() >= 6 && up.compare(up.size() - 6, 6, "class/") == 0) kind = "class";
        if (!kind.empty() && is_text(subsystem)) dev[kind] = subsystem;
    }
    if (auto t = read_link(dir + "/driver"); t && kind == "bus") dev["driver"] = base_name(*t);

    // The uevent file: the kernel's own properties. MAJOR/MINOR, DEVNAME and
    // DRIVER are schema keys of their own; the core writes them back.
    json props = json::object();
    std::string major, minor, ifindex;
    if (auto text = read(dir + "/uevent", control::kMaxTextAttr)) {
        for (const std::string& ln : lines_of(*text)) {
            const size_t eq = ln.find('=');
            if (eq == std::string::npos) continue;
            const std::string k = ln.substr(0, eq), v = ln.substr(eq + 1);
            if (!kernel_key(k) || !is_text(v)) {
                skip(dir + "/uevent", "bad property line");
                continue;
            }
            if (k == "MAJOR") major = v;
            else if (k == "MINOR") minor = v;
            else if (k == "DEVNAME") dev["devnode"] = v;
            else if (k == "DRIVER") { if (kind == "bus" && !dev.contains("driver")) dev["driver"] = v; }
            else if (k == "DEVPATH" || k == "SUBSYSTEM" || k == "ACTION" || k == "SEQNUM") continue;
            else props[k] = v;
            if (k == "IFINDEX") ifindex = v;
        }
    }
    if (!props.empty()) dev["properties"] = props;
    const bool block = kind == "class" && subsystem == "block";  // Linux: the block class holds the block devices
    if (!major.empty() && !minor.empty()) {
        char* e1;
        char* e2;
        const long ma = std::strtol(major.c_str(), &e1, 10), mi = std::strtol(minor.c_str(), &e2, 10);
        if (*e1 == 0 && *e2 == 0) dev["devnum"] = {{"type", block ? "block" : "char"}, {"major", ma}, {"minor", mi}};
    }

    // The udev database names a device by its number, a net device by its
    // ifindex, anything else by subsystem and name.
    if (dev.contains("devnum")) udev_data(std::string(block ? "b" : "c") + major + ":" + minor, dev);
    else if (subsystem == "net" && !ifindex.empty()) udev_data("n" + ifindex, dev);
    else if (!subsystem.empty()) udev_data("+" + subsystem + ":" + sysname, dev);

    json attrs = json::object(), links = json::object();
    walk(dir, "", attrs, links);
    if (!attrs.empty()) dev["attributes"] = attrs;
    if (!links.empty()) dev["links"] = links;
    devices_.push_back(std::move(dev));
}

void Recorder::udev_data(const std::string& entry, json& dev) {
    if (auto text = read(udev_dir_ + "/" + entry, kMaxBinaryAttr, true)) add_udev_entry(*text, dev);
}

// Every file below the device directory, without following symlinks and
// without entering a child device (a directory with a uevent file).
void Recorder::walk(const std::string& dir, const std::string& prefix, json& attrs, json& links) {
    DIR* d = opendir(dir.c_str());
    if (!d) {
        skip(dir, protocol::errno_name(errno));
        return;
    }
    std::vector<std::string> names;
    while (dirent* e = readdir(d))
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.push_back(e->d_name);
    closedir(d);
    std::sort(names.begin(), names.end());
    const bool top = prefix.empty();
    for (const std::string& name : names) {
        const std::string full = dir + "/" + name, rel = prefix + name;
        struct stat st;
        if (lstat(full.c_str(), &st) != 0) {
            skip(full, protocol::errno_name(errno));
            continue;
        }
        if (!is_text(name) || name.find('\n') != std::string::npos) {
            skip(full, "name is not text");
            continue;
        }
        if (S_ISLNK(st.st_mode)) {
            if (top && (name == "subsystem" || name == "driver")) continue;  // bus/class and driver say these
            auto t = read_link(full);
            if (!t || !is_text(*t)) skip(full, "unreadable link");
            else links[rel] = *t;
        } else if (S_ISDIR(st.st_mode)) {
            if (!is_file(full + "/uevent")) walk(full, rel + "/", attrs, links);
        } else if (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode)) {
            // A FIFO never occurs in sysfs; one in a test tree stands in for a
            // file whose read blocks.
            if (top && (name == "uevent" || name == "dev")) continue;  // the core makes these
            const unsigned mode = st.st_mode & 0666;
            if ((mode & 0444) == 0) {
                skip(full, "write-only");
                continue;
            }
            if (auto bytes = read(full, kMaxBinaryAttr)) {
                char m[8];
                std::snprintf(m, sizeof m, "%04o", mode);
                attrs[rel] = attribute_value(*bytes, m);
                ++attributes_;
            }
        } else {
            skip(full, "not a regular file");
        }
    }
}

// The schema wants every described ancestor before its descendants; a child
// named before its parent on the command line would break that, so sort by
// depth, keeping the recorded order otherwise.
json Recorder::result() const {
    std::vector<json> v(devices_.begin(), devices_.end());
    auto depth = [](const json& d) {
        const std::string& p = d["path"].get_ref<const std::string&>();
        return std::count(p.begin(), p.end(), '/');
    };
    std::stable_sort(v.begin(), v.end(), [&](const json& a, const json& b) { return depth(a) < depth(b); });
    return json{{"devices", v}};
}

void Recorder::summary() const {
    std::string s = "recorded " + std::to_string(devices_.size()) + " device" + (devices_.size() == 1 ? "" : "s") + ", " +
                    std::to_string(attributes_) + " attribute" + (attributes_ == 1 ? "" : "s") + "; skipped " +
                    std::to_string(skipped_) + " file" + (skipped_ == 1 ? "" : "s");
    std::string sep = ": ";
    for (const auto& [reason, n] : reasons_) {
        s += sep + std::to_string(n) + " " + reason;
        sep = ", ";
    }
    std::fprintf(stderr, "%s\n", s.c_str());
}

}  // namespace

int record_main(int argc, char** argv) {
    bool parents = true, verbose = false, operands = false;
    std::vector<std::string> paths;
    for (int i = 0; i < argc; ++i) {
        const std::string a = argv[i];
        if (operands || a.empty() || a[0] != '-') paths.push_back(a);
        else if (a == "--") operands = true;
        else if (a == "--no-parents") parents = false;
        else if (a == "-v" || a == "--verbose") verbose = true;
        else if (a == "-h" || a == "--help") {
            usage(stdout);
            return kOk;
        } else return usage_error("unknown option '" + a + "'", "record");
    }
    if (paths.empty()) return usage_error("no SYSPATH given (such as /sys/class/net/lo)", "record");

    // Tests point these at a tree of their own (driverfsctl(8), ENVIRONMENT).
    const char* root_env = getenv("DRIVERFS_RECORD_SYSFS");
    const char* udev_env = getenv("DRIVERFS_RECORD_UDEV_DATA");
    char root[PATH_MAX];
    if (!realpath(root_env && *root_env ? root_env : "/sys", root)) {
        std::fprintf(stderr, "driverfsctl: record: %s: %s\n", root_env && *root_env ? root_env : "/sys", std::strerror(errno));
        return kFailed;
    }
    Recorder rec(root, udev_env && *udev_env ? udev_env : "/run/udev/data", verbose);

    // All SYSPATHs are checked before anything is printed.
    std::vector<std::string> dirs;
    for (const std::string& p : paths) {
        std::string dir, why;
        if (!rec.resolve(p, dir, why)) {
            std::fprintf(stderr, "driverfsctl: record: %s: %s\n", p.c_str(), why.c_str());
            return kFailed;
        }
        dirs.push_back(dir);
    }
    for (const std::string& dir : dirs) {
        if (parents)
            for (const std::string& a : rec.ancestors(dir)) rec.record(a);
        rec.record(dir);
    }
    std::cout << rec.result().dump(2) << "\n";
    std::cout.flush();
    rec.summary();
    const int stuck = reap_abandoned_readers(500);
    if (stuck > 0)
        std::fprintf(stderr, "driverfsctl: record: %d abandoned reader%s still blocked in the kernel; left behind\n", stuck,
                     stuck == 1 ? "" : "s");
    return std::cout.good() ? kOk : kFailed;
}

}  // namespace driverfs::cli
