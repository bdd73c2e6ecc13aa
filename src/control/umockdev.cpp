// The .umockdev importer: one dump of umockdev-record in, the driverfs(5), DEVICE DESCRIPTION FILES
// "devices" array out. The format, as umockdev-record writes it and umockdev's
// testbed reads it: one paragraph per device, paragraphs separated by blank
// lines, every line "T: value" with T one of
//   P: /devices/...     the device (first line of a paragraph, once)
//   E: KEY=VALUE        a udev property (kernel uevent keys and udev's own)
//   A: NAME=TEXT        a text attribute, escaped as GLib's g_strescape does
//   H: NAME=HEX         a binary attribute, two hex digits a byte
//   L: NAME=TARGET      a symlink below the device (driver, firmware_node, ...)
//   N: NAME[=HEX]       the node below /dev (and, for umockdev, its contents)
//   S: LINK             a /dev symlink, without the /dev/ prefix
// We also take '#' lines as comments, which umockdev does not: a hand-edited
// dump can then say where it came from.
#include "umockdev.hpp"

#include <algorithm>
#include <cerrno>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "attr_value.hpp"
#include "core/validate.hpp"

namespace driverfs::control {

using nlohmann::json;

namespace {

// Subsystems that are buses in Linux (a `struct bus_type`, listed in
// /sys/bus), for dumps that say nothing else about it. See bus_or_class().
const std::set<std::string, std::less<>> kKnownBuses = {
    "ac97", "acpi", "amba", "auxiliary", "bcma", "ccw", "cec", "clockevents", "clocksource", "container",
    "coresight", "cpu", "cxl", "dax", "edac", "event_source", "firewire", "gameport", "gpio", "hdaudio",
    "hid", "host1x", "i2c", "i3c", "iio", "intel_th", "isa", "ishtp", "machinecheck", "mdio_bus", "mei",
    "memory", "mhi", "mipi-dsi", "mmc", "nd", "node", "nvmem", "pci", "pci_express", "pcmcia", "platform",
    "pnp", "rpmsg", "scsi", "sdio", "serial", "serial-base", "serio", "snd_seq", "soc", "soundwire", "spi",
    "ssb", "tee", "thunderbolt", "typec", "ulpi", "usb", "usb-serial", "vdpa", "virtio", "vmbus", "w1",
    "wmi", "workqueue", "xen", "xen-backend",
};

// E: keys the core writes itself from other schema keys, and keys that only
// describe one uevent (not the device): not copied into "properties".
const std::set<std::string, std::less<>> kDroppedKeys = {"DEVPATH", "ACTION", "SEQNUM", "__DEVCONTEXT"};

// One paragraph, as read.
struct Dump {
    size_t line = 0;  // of its P:
    std::string path;  // "devices/..."
    std::vector<std::pair<std::string, std::string>> env;  // E:, in order
    std::map<std::string, size_t> env_line;
    std::map<std::string, std::string> text_attrs;  // A:, unescaped
    std::map<std::string, std::string> bin_attrs;   // H:, decoded
    std::map<std::string, size_t> attr_line;
    std::map<std::string, std::string> links;  // L:
    std::optional<std::string> node;           // N:
    std::vector<std::string> devlinks;         // S:, as "/dev/..."
};

class Importer {
public:
    explicit Importer(const std::string& file) : file_(file) {}

    Error at(size_t line, const std::string& what) const {
        return Error::of(EINVAL, file_ + ":" + std::to_string(line) + ": " + what);
    }

    Result<json> run(std::string_view text);

private:
    Status take_line(std::string_view line, size_t n);
    Result<json> finish(const Dump& d) const;

    std::string file_;
    std::vector<Dump> dumps_;
    bool open_ = false;  // a paragraph is being read
};

// A path component the tree can show (driverfs(5), DEVICE DESCRIPTION FILES "names").
bool good_component(std::string_view s) {
    if (s.empty() || s.size() > 255 || s == "." || s == "..") return false;
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f || c == '/') return false;
    return true;
}

// A relative path of good components: "power/control", "input/event3".
bool good_relative(std::string_view s) {
    if (s.empty() || !is_text(s)) return false;
    size_t start = 0;
    for (;;) {
        const size_t slash = s.find('/', start);
        if (!good_component(s.substr(start, slash == std::string_view::npos ? slash : slash - start))) return false;
        if (slash == std::string_view::npos) return true;
        start = slash + 1;
    }
}

bool kernel_key(std::string_view k) {
    if (k.empty()) return false;
    for (char c : k)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

// Keys udev adds on top of the kernel's uevent (driverfs(5), DEVICE DESCRIPTION FILES): these go
// to "udev", never into the uevent file.
bool udev_key(std::string_view k) {
    return k.rfind("ID_", 0) == 0 || k == "TAGS" || k == "CURRENT_TAGS" || k == "USEC_INITIALIZED";
}

// The reverse of g_strescape: \b \f \n \r \t \v \\ \" and \ooo (one to three
// octal digits, at most \377). GLib turns any other "\c" into "c" without a
// word; umockdev-record never writes one, so here it is an error, as is a
// backslash at the end of the line.
std::optional<std::string> unescape(std::string_view s, std::string& why) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\') {
            out += s[i];
            continue;
        }
        if (++i == s.size()) {
            why = "a backslash at the end of the value escapes nothing";
            return std::nullopt;
        }
        const char c = s[i];
        if (c >= '0' && c <= '7') {
            unsigned v = 0;
            size_t k = 0;
            for (; k < 3 && i + k < s.size() && s[i + k] >= '0' && s[i + k] <= '7'; ++k) v = v * 8 + unsigned(s[i + k] - '0');
            if (v > 0xFF) {
                why = "octal escape \\" + std::string(s.substr(i, k)) + " is more than one byte (\\377)";
                return std::nullopt;
            }
            out += static_cast<char>(v);
            i += k - 1;
            continue;
        }
        switch (c) {
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'v': out += '\v'; break;
            case '\\': out += '\\'; break;
            case '"': out += '"'; break;
            default:
                why = std::string("unknown escape \\") + c + " (known: \\b \\f \\n \\r \\t \\v \\\\ \\\" \\ooo)";
                return std::nullopt;
        }
    }
    return out;
}

std::optional<std::string> unhex(std::string_view s, std::string& why) {
    if (s.size() % 2) {
        why = "odd number of hex digits (" + std::to_string(s.size()) + ")";
        return std::nullopt;
    }
    auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    std::string out;
    out.reserve(s.size() / 2);
    for (size_t i = 0; i < s.size(); i += 2) {
        const int hi = digit(s[i]), lo = digit(s[i + 1]);
        if (hi < 0 || lo < 0) {
            why = "'" + std::string(s.substr(hi < 0 ? i : i + 1, 1)) + "' at offset " + std::to_string(hi < 0 ? i : i + 1) +
                  " is not a hex digit";
            return std::nullopt;
        }
        out += static_cast<char>(hi << 4 | lo);
    }
    return out;
}

// The bus or class of a device. umockdev's testbed, when it replays a dump,
// calls a SUBSYSTEM a bus if it is in its built-in table of kernel bus names
// and a class otherwise. A dump often says more than the name, so we look,
// in this order, at:
//   1. an `L: subsystem=` link: ".../bus/X" or ".../class/X" says it outright;
//   2. the `L: driver=` link ".../bus/X/drivers/Y": the driver's bus is X;
//   3. a driver at all (E: DRIVER or L: driver): only bus devices bind one;
//   4. our table of bus names (kKnownBuses), like umockdev's;
//   5. otherwise a class (net, tty, block, input, ... are classes).
// Returns "bus" or "class".
std::string bus_or_class(const std::string& subsystem, const std::map<std::string, std::string>& links, bool has_driver) {
    if (auto it = links.find("subsystem"); it != links.end()) {
        if (it->second.find("bus/") != std::string::npos) return "bus";
        if (it->second.find("class/") != std::string::npos) return "class";
    }
    if (auto it = links.find("driver"); it != links.end())
        if (it->second.find("bus/" + subsystem + "/drivers/") != std::string::npos) return "bus";
    if (has_driver || kKnownBuses.count(subsystem)) return "bus";
    return "class";
}

Status Importer::take_line(std::string_view line, size_t n) {
    if (line.empty()) {  // a blank line ends a paragraph; more than one is harmless
        open_ = false;
        return {};
    }
    if (line[0] == '#') return {};
    if (line.size() < 3 || line[1] != ':' || line[2] != ' ')
        return at(n, "not a \"T: value\" line (a letter, a colon and a space)");
    const char type = line[0];
    const std::string_view rest = line.substr(3);
    if (std::string_view("PEAHLNS").find(type) == std::string_view::npos)
        return at(n, std::string("unknown line type '") + type + ":' (known: P E A H L N S)");
    if (type == 'P') {
        if (open_)
            return at(n, "P: inside the description of /" + dumps_.back().path +
                             " (devices are separated by a blank line)");
        if (rest.rfind("/devices/", 0) != 0) return at(n, "device path '" + std::string(rest) + "' does not start with /devices/");
        if (!good_relative(rest.substr(1)))
            return at(n, "device path '" + std::string(rest) +
                             "' has an empty, '.', '..' or over-long component, or a control character");
        Dump d;
        d.line = n;
        d.path = std::string(rest.substr(1));
        for (const Dump& o : dumps_)
            if (o.path == d.path) return at(n, "device /" + d.path + " is described twice (first at line " + std::to_string(o.line) + ")");
        dumps_.push_back(std::move(d));
        open_ = true;
        return {};
    }
    if (!open_) return at(n, std::string(1, type) + ": line outside a device (each starts with \"P: /devices/...\", a blank line ends it)");
    Dump& d = dumps_.back();

    if (type == 'S') {
        if (!good_relative(rest)) return at(n, "link name '" + std::string(rest) + "' is not a path below /dev (empty, '.' or '..' component)");
        d.devlinks.push_back("/dev/" + std::string(rest));
        return {};
    }
    // The others are NAME=VALUE (N: with the value optional).
    const size_t eq = rest.find('=');
    if (eq == std::string_view::npos && type != 'N') return at(n, std::string(1, type) + ": line without '=' (expected NAME=VALUE)");
    const std::string name(rest.substr(0, eq));
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : rest.substr(eq + 1);
    std::string why;

    switch (type) {
        case 'E': {
            if (Status ok = check_property(name, value); !ok) return at(n, ok.error().message);
            if (!is_text(name) || !is_text(value)) return at(n, "property " + name + " is not UTF-8 text");
            if (d.env_line.count(name))
                return at(n, "property " + name + " given twice (first at line " + std::to_string(d.env_line[name]) + ")");
            d.env_line[name] = n;
            d.env.emplace_back(name, std::string(value));
            return {};
        }
        case 'A':
        case 'H': {
            if (!good_relative(name)) return at(n, "attribute name '" + name + "' is not a relative path of names (no '.', '..', empty parts)");
            if (d.attr_line.count(name) || d.links.count(name))
                return at(n, "attribute " + name + " given twice");
            auto bytes = type == 'A' ? unescape(value, why) : unhex(value, why);
            if (!bytes) return at(n, "attribute " + name + ": " + why);
            if (bytes->size() > kMaxBinaryAttr)
                return at(n, "attribute " + name + " is " + std::to_string(bytes->size()) + " bytes, more than " +
                                 std::to_string(kMaxBinaryAttr));
            (type == 'A' ? d.text_attrs : d.bin_attrs)[name] = std::move(*bytes);
            d.attr_line[name] = n;
            return {};
        }
        case 'L': {
            if (!good_relative(name)) return at(n, "link name '" + name + "' is not a relative path of names (no '.', '..', empty parts)");
            if (d.links.count(name) || d.attr_line.count(name)) return at(n, "link " + name + " given twice");
            if (value.empty() || value[0] == '/')
                return at(n, "link " + name + ": target must be a relative path, got '" + std::string(value) + "'");
            d.links[name] = std::string(value);
            return {};
        }
        case 'N': {
            if (!good_relative(name)) return at(n, "device node name '" + name + "' is not a path below /dev (no '.', '..', empty parts)");
            if (d.node) return at(n, "N: given twice");
            // The contents umockdev would put in its fake /dev node have no
            // place in driverfs, but a broken one is still a broken file.
            if (eq != std::string_view::npos && !unhex(value, why)) return at(n, "device node contents: " + why);
            d.node = name;
            return {};
        }
    }
    return at(n, "unreachable line type");  // every letter of "PEAHLNS" is handled above
}

Result<json> Importer::finish(const Dump& d) const {
    json dev{{"path", d.path}};
    std::map<std::string, std::string> env(d.env.begin(), d.env.end());
    auto env_get = [&](const char* k) -> std::optional<std::string> {
        auto it = env.find(k);
        return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    };

    // The kernel's own uevent file, when the dump has it (umockdev-record
    // leaves it out; a hand-made dump may not): its keys are the kernel's,
    // every other E: key is udev's.
    std::optional<std::set<std::string>> kernel_keys;
    if (auto it = d.text_attrs.find("uevent"); it != d.text_attrs.end()) {
        kernel_keys.emplace();
        size_t pos = 0;
        const std::string& u = it->second;
        while (pos < u.size()) {
            size_t nl = u.find('\n', pos);
            if (nl == std::string::npos) nl = u.size();
            const std::string ln = u.substr(pos, nl - pos);
            if (auto e = ln.find('='); e != std::string::npos) {
                kernel_keys->insert(ln.substr(0, e));
                env.emplace(ln.substr(0, e), ln.substr(e + 1));  // E: wins when both say it
            }
            pos = nl + 1;
        }
    }

    std::string subsystem = env_get("SUBSYSTEM").value_or("");
    if (subsystem.empty())
        if (auto it = d.links.find("subsystem"); it != d.links.end()) subsystem = it->second.substr(it->second.rfind('/') + 1);
    std::string driver = env_get("DRIVER").value_or("");
    if (driver.empty())
        if (auto it = d.links.find("driver"); it != d.links.end()) driver = it->second.substr(it->second.rfind('/') + 1);
    if (!subsystem.empty()) {
        const std::string kind = bus_or_class(subsystem, d.links, !driver.empty());
        if (Status ok = check_object_name(kind, subsystem); !ok) return at(d.line, "/" + d.path + ": " + ok.error().message);
        dev[kind] = subsystem;
        if (!driver.empty() && kind != "bus")
            return at(d.line, "/" + d.path + ": driver " + driver + " on class " + subsystem + " (only bus devices have drivers)");
    } else if (!driver.empty()) {
        return at(d.line, "/" + d.path + ": driver " + driver + " but no SUBSYSTEM (a driver belongs to a bus)");
    }
    if (!driver.empty()) {
        if (Status ok = check_object_name("driver", driver); !ok) return at(d.line, "/" + d.path + ": " + ok.error().message);
        dev["driver"] = driver;
    }

    // devnum: MAJOR/MINOR, else the `dev` attribute "M:N\n".
    std::optional<std::string> major = env_get("MAJOR"), minor = env_get("MINOR");
    if (!major && !minor)
        if (auto it = d.text_attrs.find("dev"); it != d.text_attrs.end())
            if (auto c = it->second.find(':'); c != std::string::npos) {
                major = it->second.substr(0, c);
                minor = it->second.substr(c + 1);
                if (!minor->empty() && minor->back() == '\n') minor->pop_back();
            }
    if (major || minor) {
        auto number = [](const std::optional<std::string>& s) -> long {
            if (!s || s->empty() || s->size() > 9 || s->find_first_not_of("0123456789") != std::string::npos) return -1;
            return std::stol(*s);
        };
        const long ma = number(major), mi = number(minor);
        const size_t ln = d.env_line.count("MAJOR") ? d.env_line.at("MAJOR") : d.line;
        if (ma < 0 || mi < 0 || ma > 4095 || mi > 1048575)
            return at(ln, "/" + d.path + ": device number '" + major.value_or("?") + ":" + minor.value_or("?") +
                              "' is not MAJOR:MINOR (major < 4096, minor < 2^20)");
        // Linux: the `block` class holds the block devices; everything else is char.
        dev["devnum"] = {{"type", subsystem == "block" ? "block" : "char"}, {"major", ma}, {"minor", mi}};
    }

    // devnode: N:, else DEVNAME (which udev writes as /dev/NAME).
    std::string devnode = d.node.value_or("");
    if (devnode.empty())
        if (auto dn = env_get("DEVNAME")) devnode = dn->rfind("/dev/", 0) == 0 ? dn->substr(5) : *dn;
    if (!devnode.empty()) {
        if (!good_relative(devnode)) return at(d.line, "/" + d.path + ": device node name '" + devnode + "' is not a path below /dev");
        dev["devnode"] = devnode;
    }

    json props = json::object(), udev = json::object();
    std::vector<std::string> devlinks = d.devlinks;
    for (const auto& [k, v] : env) {
        if (k == "SUBSYSTEM" || k == "DRIVER" || k == "MAJOR" || k == "MINOR" || k == "DEVNAME" || kDroppedKeys.count(k)) continue;
        // E: lines were checked as they were read; these may come from an A: uevent.
        if (Status ok = check_property(k, v); !ok || !is_text(k) || !is_text(v))
            return at(d.env_line.count(k) ? d.env_line.at(k) : d.line,
                      ok ? "property " + k + " is not UTF-8 text" : ok.error().message);
        if (k == "DEVLINKS") {  // space-separated absolute paths; S: lines say the same without /dev/
            size_t pos = 0;
            while (pos < v.size()) {
                size_t sp = v.find(' ', pos);
                if (sp == std::string::npos) sp = v.size();
                std::string link = v.substr(pos, sp - pos);
                if (!link.empty() && std::find(devlinks.begin(), devlinks.end(), link) == devlinks.end()) devlinks.push_back(link);
                pos = sp + 1;
            }
            continue;
        }
        const bool from_udev = kernel_keys ? !kernel_keys->count(k) : (udev_key(k) || !kernel_key(k));
        (from_udev ? udev : props)[k] = v;
    }
    if (!props.empty()) dev["properties"] = props;
    if (!udev.empty()) dev["udev"] = udev;
    if (!devlinks.empty()) dev["devlinks"] = devlinks;

    // umockdev's attribute files are writable, so ours are 0644. The names
    // the core makes itself are not attributes: uevent and dev were used
    // above; a subsystem or driver attribute cannot be served.
    json attrs = json::object();
    auto add_attr = [&](const std::string& name, const std::string& bytes) -> Status {
        if (name == "uevent" || name == "dev") return {};
        if (name == "subsystem" || name == "driver")
            return at(d.attr_line.at(name), "/" + d.path + ": '" + name + "' cannot be an attribute (the core makes it)");
        attrs[name] = attribute_value(bytes, "0644");
        return {};
    };
    for (const auto& [name, bytes] : d.text_attrs)
        if (Status s = add_attr(name, bytes); !s) return s.error();
    for (const auto& [name, bytes] : d.bin_attrs) {
        if (Status s = add_attr(name, bytes); !s) return s.error();
        // H: is binary even when its bytes happen to be text.
        if (attrs.contains(name) && !attrs[name].contains("base64"))
            attrs[name] = {{"base64", base64_encode(bytes)}, {"mode", "0644"}};
    }
    if (!attrs.empty()) dev["attributes"] = attrs;

    json links = json::object();
    for (const auto& [name, target] : d.links)
        if (name != "subsystem" && name != "driver") links[name] = target;
    if (!links.empty()) dev["links"] = links;
    return dev;
}

Result<json> Importer::run(std::string_view text) {
    size_t n = 0, pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        if (Status s = take_line(text.substr(pos, nl - pos), ++n); !s) return s.error();
        pos = nl + 1;
    }
    // Ancestors first: a stable sort by depth keeps the file's order among
    // devices of the same depth and puts every parent before its children.
    std::vector<const Dump*> order;
    for (const Dump& d : dumps_) order.push_back(&d);
    std::stable_sort(order.begin(), order.end(), [](const Dump* a, const Dump* b) {
        return std::count(a->path.begin(), a->path.end(), '/') < std::count(b->path.begin(), b->path.end(), '/');
    });
    json devices = json::array();
    for (const Dump* d : order) {
        Result<json> dev = finish(*d);
        if (!dev) return dev.error();
        devices.push_back(std::move(dev.value()));
    }
    return json{{"devices", devices}};
}

}  // namespace

bool looks_like_umockdev(std::string_view text) {
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view line = text.substr(pos, nl - pos);
        const size_t first = line.find_first_not_of(" \t\r");
        if (first != std::string_view::npos && line[first] != '#') return line.substr(first).rfind("P:", 0) == 0;
        pos = nl + 1;
    }
    return false;
}

Result<json> umockdev_to_description(std::string_view text, const std::string& file_name) {
    return Importer(file_name).run(text);
}

}  // namespace driverfs::control
