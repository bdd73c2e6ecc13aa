// The .umockdev importer: a dump's devices as read (umockdev_dump.hpp) into the description's "devices" array.
// Each device's E:, A:, H:, L:, N: and S: lines become the keys of
// driverfs(5), DEVICE DESCRIPTION FILES: its bus or class, driver, device
// number and node, uevent and udev properties, attributes and links.
#include "umockdev.hpp"
#include "umockdev_dump.hpp"

#include <algorithm>
#include <cerrno>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "attr_value.hpp"
#include "core/validate.hpp"

namespace driverfs::control {

using json = DescriptionJson;

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

// One device of the description; `file` only labels messages.
Result<json> describe(const UmockdevDump& d, const std::string& file) {
    auto at = [&](size_t line, const std::string& what) { return umockdev_error(file, line, what); };
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

}  // namespace

Result<json> umockdev_to_description(std::string_view text, const std::string& file_name) {
    Result<std::vector<UmockdevDump>> dumps = read_umockdev_dump(text, file_name);
    if (!dumps) return dumps.error();
    // Ancestors first: a stable sort by depth keeps the file's order among
    // devices of the same depth and puts every parent before its children.
    std::vector<const UmockdevDump*> order;
    for (const UmockdevDump& d : dumps.value()) order.push_back(&d);
    std::stable_sort(order.begin(), order.end(), [](const UmockdevDump* a, const UmockdevDump* b) {
        return std::count(a->path.begin(), a->path.end(), '/') < std::count(b->path.begin(), b->path.end(), '/');
    });
    json devices = json::array();
    for (const UmockdevDump* d : order) {
        Result<json> dev = describe(*d, file_name);
        if (!dev) return dev.error();
        devices.push_back(std::move(dev.value()));
    }
    return json{{"devices", devices}};
}

}  // namespace driverfs::control
