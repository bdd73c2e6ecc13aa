// The input rules every way into the core checks: names, properties, plugin references.
#include "core/validate.hpp"

#include <algorithm>
#include <cctype>

#include "core/device_description.hpp"
#include "core/log.hpp"

namespace driverfs {

namespace {

bool valid_name_of(std::string_view s, std::string_view punctuation) {
    if (s.empty() || s.size() > 64 || s == "." || s == "..") return false;
    return std::all_of(s.begin(), s.end(), [&](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || punctuation.find(c) != std::string_view::npos;
    });
}

}  // namespace

bool valid_object_name(std::string_view s) { return valid_name_of(s, "_.:-"); }

Status check_object_name(std::string_view kind, std::string_view name) {
    if (valid_object_name(name)) return {};
    return Error::of(EINVAL, "'" + printable(name) + "' is not a " + std::string(kind) +
                                 " name (1-64 of A-Z a-z 0-9 _ . : -)");
}

bool valid_plugin_name(std::string_view s) { return valid_name_of(s, "_.-"); }

Status check_plugin_ref(std::string_view name_or_path) {
    if (name_or_path.empty()) return Error::of(EINVAL, "no plugin named: write a plugin name or path");
    if (name_or_path.find('\0') != std::string_view::npos)
        return Error::of(EINVAL, "a plugin name or path cannot hold a NUL byte");
    if (name_or_path.find('/') == std::string_view::npos && !valid_plugin_name(name_or_path))
        return Error::of(EINVAL, "'" + std::string(name_or_path) + "' is not a plugin name (letters, digits, _ . -)");
    return {};
}

Status check_property(std::string_view key, std::string_view value) {
    auto control = [](unsigned char c) { return c < 0x20 || c == 0x7f; };
    if (key.empty() || key.find_first_of("= ") != std::string_view::npos ||
        std::any_of(key.begin(), key.end(), control))
        return Error::of(EINVAL, "'" + printable(key) + "' is not a property name (no '=', spaces or control characters)");
    if (std::any_of(value.begin(), value.end(), control))
        return Error::of(EINVAL, "the value of property " + std::string(key) + " holds a control character");
    return {};
}

Result<std::map<std::string, std::string>> parse_properties(const std::vector<std::string>& words, size_t first) {
    std::map<std::string, std::string> props;
    for (size_t i = first; i < words.size(); ++i) {
        size_t eq = words[i].find('=');
        if (eq == 0 || eq == std::string::npos) return Error::of(EINVAL, "'" + words[i] + "' is not KEY=VALUE");
        props[words[i].substr(0, eq)] = words[i].substr(eq + 1);
    }
    return props;
}

}  // namespace driverfs

// ---- declarative devices (src/core/device_description.hpp) ----

namespace driverfs {

namespace {

Error bad_key(const std::string& key, const std::string& what) { return Error::of(EINVAL, key + ": " + what); }

}  // namespace

std::vector<std::string> split_path(std::string_view path) {
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
        size_t slash = path.find('/', start);
        out.emplace_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
        if (slash == std::string_view::npos) return out;
        start = slash + 1;
    }
}

Status check_path_component(std::string_view name) {
    auto control = [](unsigned char c) { return c < 0x20 || c == 0x7f; };
    if (name.empty()) return Error::of(EINVAL, "an empty path component (two slashes, or a slash at an end)");
    if (name.size() > 255) return Error::of(EINVAL, "a path component longer than 255 bytes");
    if (name == "." || name == "..") return Error::of(EINVAL, "'" + std::string(name) + "' is not allowed as a name");
    if (name.find('/') != std::string_view::npos) return Error::of(EINVAL, "a name cannot hold '/'");
    if (std::any_of(name.begin(), name.end(), control))
        return Error::of(EINVAL, "'" + printable(name) + "' holds a NUL or control character");
    return {};
}

Status check_relative_path(std::string_view path) {
    if (!path.empty() && path[0] == '/') return Error::of(EINVAL, "must be relative (no leading '/')");
    for (const std::string& c : split_path(path))
        if (Status s = check_path_component(c); !s) return s;
    return {};
}

Status check_declared(const DeclaredDevice& dev) {
    if (dev.path.rfind("devices/", 0) != 0 || dev.path.size() == 8)
        return bad_key("path", "'" + printable(dev.path) + "' is not below devices/ (write devices/NAME/...)");
    if (Status s = check_relative_path(dev.path); !s) return bad_key("path", s.error().message);
    if (dev.path == "devices/virtual" || dev.path == "devices/system")
        return bad_key("path", dev.path + " is a directory of the tree, not a device");
    if (!dev.bus.empty() && !dev.cls.empty()) return bad_key("class", "a device has a bus or a class, not both");
    // Subsystem names become directories under bus/ and class/.
    if (!dev.bus.empty())
        if (Status s = check_object_name("bus", dev.bus); !s) return bad_key("bus", s.error().message);
    if (!dev.cls.empty() && (!valid_object_name(dev.cls) || dev.cls.find(':') != std::string::npos))
        return bad_key("class", "'" + printable(dev.cls) + "' is not a class name (1-64 of A-Z a-z 0-9 _ . -)");
    if (!dev.driver.empty()) {
        if (dev.bus.empty()) return bad_key("driver", "a driver needs a \"bus\" (class devices are never bound)");
        if (Status s = check_object_name("driver", dev.driver); !s) return bad_key("driver", s.error().message);
    }
    // Names the core makes itself.
    static const char* const kCoreFiles[] = {"uevent", "subsystem", "driver", "dev"};
    std::vector<std::pair<std::string, std::string>> taken;  // path, key
    for (const DeclaredAttr& a : dev.attributes) {
        const std::string key = "attributes." + printable(a.path);
        if (Status s = check_relative_path(a.path); !s) return bad_key(key, s.error().message);
        const std::string first(split_path(a.path).front());
        for (const char* core : kCoreFiles)
            if (first == core) return bad_key(key, "'" + first + "' is made by the core and cannot be an attribute");
        if (a.path == "power") return bad_key(key, "'power' is a directory the core makes: give power/NAME");
        if ((a.mode & ~0666u) != 0) return bad_key(key, "mode must use only the bits 0666");
        if (!a.binary && a.value.size() > DeclaredAttr::kMaxText)
            return bad_key(key, "a text value is at most 4096 bytes (one page); this one is " +
                                    std::to_string(a.value.size()) + ": make it binary");
        if (a.binary && a.value.size() > DeclaredAttr::kMaxBinary)
            return bad_key(key, "a binary value is at most 65536 bytes; this one is " + std::to_string(a.value.size()));
        taken.emplace_back(a.path, key);
    }
    for (const auto& [path, target] : dev.links) {
        const std::string key = "links." + printable(path);
        if (Status s = check_relative_path(path); !s) return bad_key(key, s.error().message);
        if (path == "subsystem" || path == "driver")
            return bad_key(key, "'" + path + "' comes from \"bus\"/\"class\"/\"driver\", not from links");
        for (const char* core : {"uevent", "dev", "power"})
            if (path == core) return bad_key(key, "'" + path + "' is made by the core");
        if (target.empty()) return bad_key(key, "the target is empty");
        if (target[0] == '/') return bad_key(key, "the target '" + printable(target) + "' must be relative to the link");
        if (target.find('\0') != std::string::npos) return bad_key(key, "the target holds a NUL byte");
        // Resolve from the link's directory, lexically, as the kernel would
        // follow it: it must not climb above the mount's root.
        std::vector<std::string> at = split_path(dev.path + "/" + path);
        at.pop_back();
        for (const std::string& c : split_path(target)) {
            if (c.empty() || c == ".") continue;
            if (c == "..") {
                if (at.empty()) return bad_key(key, "the target '" + printable(target) + "' leaves the tree");
                at.pop_back();
            } else {
                at.push_back(c);
            }
        }
        taken.emplace_back(path, key);
    }
    std::sort(taken.begin(), taken.end());
    for (size_t i = 0; i + 1 < taken.size(); ++i) {
        if (taken[i].first == taken[i + 1].first)
            return bad_key(taken[i + 1].second, "described twice (as an attribute and a link)");
        if (taken[i + 1].first.rfind(taken[i].first + "/", 0) == 0)
            return bad_key(taken[i + 1].second, "is below '" + taken[i].first + "', which is a file, not a directory");
    }
    for (const auto& [k, v] : dev.properties) {
        if (k.empty() || !std::all_of(k.begin(), k.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
            }))
            return bad_key("properties." + printable(k), "a key is 1 or more of A-Z a-z 0-9 _");
        if (Status s = check_property(k, v); !s) return bad_key("properties." + k, s.error().message);
    }
    for (const auto& [k, v] : dev.udev) {
        if (k.empty() || !std::all_of(k.begin(), k.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
            }))
            return bad_key("udev." + printable(k), "a key is 1 or more of A-Z a-z 0-9 _");
        if (Status s = check_property(k, v); !s) return bad_key("udev." + k, s.error().message);
    }
    for (size_t i = 0; i < dev.devlinks.size(); ++i) {
        const std::string& l = dev.devlinks[i];
        const std::string key = "devlinks[" + std::to_string(i) + "]";
        if (l.rfind("/dev/", 0) != 0 || l.size() == 5) return bad_key(key, "a devlink is an absolute path below /dev/");
        if (Status s = check_relative_path(l.substr(5)); !s) return bad_key(key, s.error().message);
        if (l.find(' ') != std::string::npos) return bad_key(key, "a devlink cannot hold a space");
    }
    if (!dev.devnode.empty()) {
        if (dev.devnode[0] == '/') return bad_key("devnode", "the node name is relative to /dev (\"ttyS0\", \"bus/usb/001/002\")");
        if (Status s = check_relative_path(dev.devnode); !s) return bad_key("devnode", s.error().message);
    }
    if (dev.devnum && dev.devnum->major == 0)
        return bad_key("devnum.major", "0 is no device number (leave devnum out)");
    return {};
}

}  // namespace driverfs
