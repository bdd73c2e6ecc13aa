// Declarative devices: what one entry of a description's "devices" array describes, and its checks.
// A device at a path under devices/, its subsystem, files, links and udev
// properties, served by the core with no plugin behind it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace driverfs {

// One recorded attribute: text (at most a page) or binary (at most 64 KiB).
struct DeclaredAttr {
    std::string path;   // relative to the device: "type", "power/control"
    std::string value;  // text, or the decoded bytes of a binary attribute
    uint32_t mode = 0444;
    bool binary = false;

    static constexpr size_t kMaxText = 4096;
    static constexpr size_t kMaxBinary = 65536;
};

struct DeclaredDevnum {
    bool block = false;
    uint32_t major = 0, minor = 0;
};

// A device as the description gives it (see man driverfs(5), "devices").
struct DeclaredDevice {
    std::string path;              // "devices/pci0000:00/0000:00:1f.0"; the last component is its name
    std::string bus, cls;          // at most one: its subsystem
    std::string driver;            // a code-less driver it is bound to (bus only)
    std::vector<DeclaredAttr> attributes;
    std::vector<std::pair<std::string, std::string>> links;       // relative path -> relative target
    std::vector<std::pair<std::string, std::string>> properties;  // uevent lines after the core's
    std::vector<std::pair<std::string, std::string>> udev;        // udev database E: lines only
    std::vector<std::string> devlinks;                            // /dev/... (S: lines)
    std::optional<DeclaredDevnum> devnum;
    std::string devnode;           // name below /dev (DEVNAME=)

    std::string name() const { return path.substr(path.rfind('/') + 1); }
    // "bus:pci", "class:tty", "" (none): what "same subsystem" compares.
    std::string subsystem_key() const { return bus.empty() ? (cls.empty() ? "" : "class:" + cls) : "bus:" + bus; }
};

// "a/b/c" -> {"a", "b", "c"} (empty components kept: "a//b" has three).
std::vector<std::string> split_path(std::string_view path);
// One path component of a declared device, attribute or link: 1-255 bytes,
// no '/', NUL or control character, not "." or "..".
Status check_path_component(std::string_view name);
// A relative path of such components ("queues/rx-0/rps_cpus").
Status check_relative_path(std::string_view path);
// Every rule of the schema that needs no tree (see driverfs(5)). EINVAL,
// the message starting with the key at fault ("attributes.power/state: ...",
// "links.device: ..."), so a caller can prefix where the device came from.
Status check_declared(const DeclaredDevice& dev);

}  // namespace driverfs
