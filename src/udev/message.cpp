// The libudev monitor message: header layout, property list, filter hashes.
#include "message.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <cstring>

namespace driverfs::udev {

namespace {

// The header libudev's receivers expect in front of the properties. Fields
// that their in-kernel socket filter reads (magic, hashes, bloom) are big
// endian; the offsets are host order, as libudev writes them.
struct MonitorHeader {
    char prefix[8];  // "libudev", telling it apart from a kernel message
    uint32_t magic;
    uint32_t header_size;
    uint32_t properties_off;
    uint32_t properties_len;
    uint32_t filter_subsystem_hash;
    uint32_t filter_devtype_hash;
    uint32_t filter_tag_bloom_hi;
    uint32_t filter_tag_bloom_lo;
};
static_assert(sizeof(MonitorHeader) == 40, "libudev's header is 40 bytes with no padding");

constexpr uint32_t kMonitorMagic = 0xfeedcafe;

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

uint32_t murmur_hash2(std::string_view s, uint32_t seed) {
    constexpr uint32_t m = 0x5bd1e995;
    constexpr int r = 24;
    uint32_t h = seed ^ static_cast<uint32_t>(s.size());
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    size_t n = s.size();
    // Blocks are read in host order, as libudev does; we only run on
    // little-endian Linux today, and a big-endian host would read them the
    // same way libudev on that host does.
    for (; n >= 4; p += 4, n -= 4) {
        uint32_t k;
        std::memcpy(&k, p, 4);
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }
    switch (n) {
    case 3:
        h ^= static_cast<uint32_t>(p[2]) << 16;
        [[fallthrough]];
    case 2:
        h ^= static_cast<uint32_t>(p[1]) << 8;
        [[fallthrough]];
    case 1:
        h ^= p[0];
        h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

std::string_view find(const Properties& props, std::string_view key) {
    for (const auto& [k, v] : props)
        if (k == key) return v;
    return {};
}

Properties udev_properties(const Uevent& ev) {
    std::string action = ev.action;
    // Linux announces modules with add/remove under /module/NAME; the core
    // names the same moments load/unload.
    if (ev.subsystem == "module") {
        if (action == "load") action = "add";
        else if (action == "unload") action = "remove";
    }
    if (action.empty() || ev.devpath.empty() || ev.subsystem.empty()) return {};
    Properties out;
    out.emplace_back("ACTION", action);
    out.emplace_back("DEVPATH", ev.devpath[0] == '/' ? ev.devpath : "/" + ev.devpath);
    out.emplace_back("SUBSYSTEM", ev.subsystem);
    Properties rest;
    std::string devtype, driver;
    for (const auto& [k, v] : ev.env) {
        std::string key = upper(k);
        // Ours win: a device property must not forge the event's identity.
        if (key == "ACTION" || key == "DEVPATH" || key == "SUBSYSTEM" || key == "SEQNUM") continue;
        if (key == "DEVTYPE") devtype = v;
        else if (key == "DRIVER") driver = v;
        // The kernel's DEVNAME is below /dev; udevd's events and database
        // carry the whole path, and libudev takes theirs over the uevent
        // file's (udevadm info would print "E: DEVNAME=tty").
        else if (key == "DEVNAME" && !v.empty() && v[0] != '/') rest.emplace_back(std::move(key), "/dev/" + v);
        else rest.emplace_back(std::move(key), v);
    }
    if (!devtype.empty()) out.emplace_back("DEVTYPE", devtype);
    if (!driver.empty()) out.emplace_back("DRIVER", driver);
    for (auto& kv : rest) out.push_back(std::move(kv));
    out.emplace_back("SEQNUM", std::to_string(ev.seqnum));
    return out;
}

std::string encode_monitor_message(const Properties& props) {
    std::string body;
    for (const auto& [k, v] : props) {
        body += k;
        body += '=';
        body += v;
        body += '\0';
    }
    MonitorHeader h{};
    std::memcpy(h.prefix, "libudev", 8);
    h.magic = htonl(kMonitorMagic);
    h.header_size = sizeof h;
    h.properties_off = sizeof h;
    h.properties_len = static_cast<uint32_t>(body.size());
    h.filter_subsystem_hash = htonl(murmur_hash2(find(props, "SUBSYSTEM")));
    std::string_view devtype = find(props, "DEVTYPE");
    if (!devtype.empty()) h.filter_devtype_hash = htonl(murmur_hash2(devtype));
    std::string out(reinterpret_cast<const char*>(&h), sizeof h);
    out += body;
    return out;
}

}  // namespace driverfs::udev
