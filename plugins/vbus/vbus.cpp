// vbus: a bus plugin. Registers bus "vbus", whose match pairs a device with
// a driver through the driver's id table, like PCI or USB id tables; its
// one driver, "vbus-dummy", takes the ids in kIdTable.
//
// A vbus device carries the property id=VVVV:PPPP (hex vendor:product).
// At load the plugin enumerates N devices vbus0 .. vbusN-1, N from the
// environment variable DRIVERFS_VBUS_DEVICES of the daemon (0..1000000,
// default 4; anything else makes the load fail with EINVAL). Their ids
// cycle through kEnumIds, one of which no driver takes (the device stays
// unbound), so discovery covers both outcomes. More devices can be added
// at run time: echo "NAME id=8086:1234" > bus/vbus/new_device.
//
// Files of a bound device: vendor, product ("0x1d6b") and modalias
// ("vbus:v1D6Bp0002") (ro).
#include <cstdlib>
#include <cstring>

#include "driverfs/plugin.hpp"

namespace {

using namespace driverfs::sdk;

struct Id {
    unsigned vendor, product;
};
constexpr Id kIdTable[] = {{0x1d6b, 0x0002}, {0x1d6b, 0x0003}, {0x8086, 0x1234}};
constexpr const char* kEnumIds[] = {"1d6b:0002", "8086:1234", "1d6b:0003", "dead:beef"};
constexpr unsigned long kMaxDevices = 1000000;

// "VVVV:PPPP" (1 to 4 hex digits each) -> Id.
bool parse_id(const char* s, Id* out) {
    if (!s) return false;
    std::string_view v(s);
    size_t colon = v.find(':');
    if (colon == std::string_view::npos) return false;
    auto hex = [](std::string_view h, unsigned* o) {
        if (h.empty() || h.size() > 4) return false;
        auto [end, ec] = std::from_chars(h.data(), h.data() + h.size(), *o, 16);
        return ec == std::errc() && end == h.data() + h.size();
    };
    return hex(v.substr(0, colon), &out->vendor) && hex(v.substr(colon + 1), &out->product);
}

Id id_of(Device d) {
    Id id{};
    if (!parse_id(d.property("id"), &id)) throw Errno(ENODEV);
    return id;
}

// The bus's match: only vbus-dummy, and only for ids in its table.
int vbus_match(const dfs_device* dev, const char* driver_name) {
    if (std::strcmp(driver_name, "vbus-dummy") != 0) return 0;
    Id id;
    if (!parse_id(Host::table->device_property(dev, "id"), &id)) return 0;
    for (const Id& t : kIdTable)
        if (t.vendor == id.vendor && t.product == id.product) return 1;
    return 0;
}

const dfs_bus vbus = {sizeof(dfs_bus), DRIVERFS_ABI_VERSION, "vbus", vbus_match};

Attribute vendor("vendor", 0444, [](Device d, std::string& out) {
    char b[16];
    std::snprintf(b, sizeof b, "0x%04x\n", id_of(d).vendor);
    out = b;
    return 0;
});
Attribute product("product", 0444, [](Device d, std::string& out) {
    char b[16];
    std::snprintf(b, sizeof b, "0x%04x\n", id_of(d).product);
    out = b;
    return 0;
});
Attribute modalias("modalias", 0444, [](Device d, std::string& out) {
    char b[32];
    Id id = id_of(d);
    std::snprintf(b, sizeof b, "vbus:v%04Xp%04X\n", id.vendor, id.product);
    out = b;
    return 0;
});

Driver dummy("vbus-dummy", "vbus", [](Driver& d) { d.attributes({&vendor, &product, &modalias}); });

// Register the bus (before the driver that sits on it) and enumerate.
int vbus_init() {
    if (!Host::has(offsetof(dfs_host, add_device) + sizeof(void*))) {
        Host::log(DFS_LOG_ERR, "the host is too old: vbus needs register_bus and add_device (ABI 2)");
        return -ENOTSUP;
    }
    unsigned long n = 4;
    if (const char* env = std::getenv("DRIVERFS_VBUS_DEVICES")) {
        if (parse_ulong(env, 0, kMaxDevices, &n) != 0) {
            Host::log(DFS_LOG_ERR, std::string("DRIVERFS_VBUS_DEVICES='") + env + "' is not a number from 0 to 1000000");
            return -EINVAL;
        }
    }
    if (int rc = Host::table->register_bus(Host::self, &vbus); rc != 0) return rc;
    for (unsigned long i = 0; i < n; ++i) {
        const std::string name = "vbus" + std::to_string(i);
        const std::string id = std::string("id=") + kEnumIds[i % std::size(kEnumIds)];
        const char* props[] = {id.c_str(), nullptr};
        if (int rc = Host::table->add_device(Host::self, "vbus", name.c_str(), props); rc != 0) return rc;
    }
    return 0;
}

Module vbus_module("vbus", "1.0", {&dummy}, vbus_init);

}  // namespace

DRIVERFS_PLUGIN(vbus_module)
