// Fuzz target: the device-description validator (src/control/config.cpp,
// what --config and `driverfsctl apply` take), fed raw bytes parsed as JSON
// the way load_config_file does. Properties, beyond not crashing:
//  - a rejection is EINVAL with a message that starts with a JSON path
//    ("$..." followed by ": ") and says what is wrong;
//  - an accepted description holds only what the core's validators accept
//    (names, plugin references, properties), no device twice, parents
//    before their children, values without spaces, and a JSON path for
//    every device;
//  - every declarative device ("devices") passes the core's check_declared,
//    has a JSON path, and comes after the described ancestors it has;
//  - the spec written back as a description validates to the same spec.
#include <cerrno>
#include <cstdint>
#include <set>
#include <string>

#include "check.hpp"
#include "control/config.hpp"
#include "core/device_description.hpp"
#include "core/validate.hpp"

using driverfs::control::ConfigSpec;
using driverfs::control::DeviceSpec;
using driverfs::control::parse_config;
using nlohmann::json;

namespace {

void check_spec(const ConfigSpec& spec) {
    for (const std::string& p : spec.plugins) FUZZ_CHECK(driverfs::check_plugin_ref(p).ok(), "plugin entries are names or paths");
    std::set<std::string> seen;
    for (const DeviceSpec& d : spec.devices) {
        FUZZ_CHECK(driverfs::valid_object_name(d.bus) && driverfs::valid_object_name(d.name), "bus and device names are valid");
        FUZZ_CHECK(d.parent.empty() || driverfs::valid_object_name(d.parent), "parent name is valid");
        FUZZ_CHECK(d.parent != d.name, "no device is its own parent");
        FUZZ_CHECK(d.where.rfind("$.buses.", 0) == 0, "every device has a JSON path");
        FUZZ_CHECK(seen.insert(d.name).second, "no device twice");
        for (const auto& [k, v] : d.properties) {
            FUZZ_CHECK(driverfs::check_property(k, v).ok(), "property is what the core accepts");
            FUZZ_CHECK(v.find(' ') == std::string::npos, "property value has no space");
        }
    }
    FUZZ_CHECK(spec.declared.size() == spec.declared_where.size(), "a JSON path for every declarative device");
    std::set<std::string> paths;
    for (size_t i = 0; i < spec.declared.size(); ++i) {
        const driverfs::DeclaredDevice& d = spec.declared[i];
        FUZZ_CHECK(driverfs::check_declared(d).ok(), "a declarative device is what the core accepts");
        FUZZ_CHECK(spec.declared_where[i] == "$.devices[" + std::to_string(i) + "]", "its JSON path");
        for (const std::string& p : paths)
            FUZZ_CHECK(p.rfind(d.path + "/", 0) != 0, "no ancestor after its descendant");
        FUZZ_CHECK(paths.insert(d.path).second, "no path twice");
    }
    std::set<std::string> before;
    for (const DeviceSpec& d : spec.devices) {
        FUZZ_CHECK(d.parent.empty() || !seen.count(d.parent) || before.count(d.parent),
                   "a parent described in the file comes first");
        before.insert(d.name);
    }
}

json to_description(const ConfigSpec& spec) {
    json doc = json::object();
    doc["plugins"] = spec.plugins;
    json buses = json::object();
    for (const DeviceSpec& d : spec.devices) {
        json dev{{"name", d.name}};
        if (!d.parent.empty()) dev["parent"] = d.parent;
        if (!d.properties.empty()) dev["properties"] = d.properties;
        buses[d.bus]["devices"].push_back(std::move(dev));
    }
    doc["buses"] = std::move(buses);
    return doc;
}

bool same(const ConfigSpec& a, const ConfigSpec& b) {
    if (a.plugins != b.plugins || a.devices.size() != b.devices.size()) return false;
    for (size_t i = 0; i < a.devices.size(); ++i) {
        const DeviceSpec& x = a.devices[i];
        const DeviceSpec& y = b.devices[i];
        if (x.bus != y.bus || x.name != y.name || x.parent != y.parent || x.properties != y.properties) return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const json doc = json::parse(data, data + size, nullptr, false);
    if (doc.is_discarded()) return 0;  // load_config_file answers "$: malformed JSON" itself
    auto r = parse_config(doc);
    if (!r) {
        const std::string& msg = r.error().message;
        FUZZ_CHECK(r.error().code == EINVAL, "a rejected description is EINVAL");
        const size_t colon = msg.find(": ");
        FUZZ_CHECK(msg.rfind("$", 0) == 0 && colon != std::string::npos, "the message starts with a JSON path");
        FUZZ_CHECK(colon + 2 < msg.size(), "the message says what is wrong after the path");
        return 0;
    }
    check_spec(r.value());
    auto again = parse_config(to_description(r.value()));
    FUZZ_CHECK(static_cast<bool>(again), "an accepted spec written back validates");
    FUZZ_CHECK(same(r.value(), again.value()), "spec -> description -> spec is the same spec");
    return 0;
}
