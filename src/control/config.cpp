// Device description files: full validation first, then an all-or-nothing apply.
#include "config.hpp"
#include "umockdev.hpp"

#include <cerrno>
#include <fstream>
#include <set>
#include <sstream>

#include "driverfs/validate.hpp"

namespace driverfs::control {

using nlohmann::json;

namespace {

Error bad(const std::string& where, const std::string& what) { return Error::of(EINVAL, where + ": " + what); }

std::string module_name_of(const std::string& name_or_path) {
    std::string base = name_or_path.substr(name_or_path.rfind('/') + 1);
    if (base.size() > 3 && base.compare(base.size() - 3, 3, ".so") == 0) base.resize(base.size() - 3);
    return base;
}

}  // namespace

Result<ConfigSpec> parse_config(const json& doc) {
    ConfigSpec spec;
    if (!doc.is_object()) return bad("$", "the description must be a JSON object");
    for (auto& [key, value] : doc.items()) {
        (void)value;
        if (key != "plugins" && key != "buses") return bad("$." + key, "unknown key (expected \"plugins\" or \"buses\")");
    }
    if (auto it = doc.find("plugins"); it != doc.end()) {
        if (!it->is_array()) return bad("$.plugins", "must be an array of plugin names or paths");
        for (size_t i = 0; i < it->size(); ++i) {
            const std::string where = "$.plugins[" + std::to_string(i) + "]";
            const json& p = (*it)[i];
            if (!p.is_string() || p.get<std::string>().empty()) return bad(where, "must be a non-empty string");
            if (Status ok = check_plugin_ref(p.get<std::string>()); !ok) return bad(where, ok.error().message);
            spec.plugins.push_back(p.get<std::string>());
        }
    }
    std::set<std::string> names;
    if (auto it = doc.find("buses"); it != doc.end()) {
        if (!it->is_object()) return bad("$.buses", "must be an object mapping bus names to {\"devices\": [...]}");
        for (auto& [bus, body] : it->items()) {
            const std::string bwhere = "$.buses." + bus;
            if (Status ok = check_object_name("bus", bus); !ok) return bad(bwhere, ok.error().message);
            if (!body.is_object()) return bad(bwhere, "must be an object");
            for (auto& [key, value] : body.items()) {
                (void)value;
                if (key != "devices") return bad(bwhere + "." + key, "unknown key (expected \"devices\")");
            }
            auto devs = body.find("devices");
            if (devs == body.end()) continue;
            if (!devs->is_array()) return bad(bwhere + ".devices", "must be an array");
            for (size_t i = 0; i < devs->size(); ++i) {
                const std::string where = bwhere + ".devices[" + std::to_string(i) + "]";
                const json& d = (*devs)[i];
                if (!d.is_object()) return bad(where, "must be an object");
                DeviceSpec ds;
                ds.bus = bus;
                ds.where = where;
                for (auto& [key, value] : d.items()) {
                    if (key == "name") {
                        if (!value.is_string() || !valid_object_name(value.get<std::string>()))
                            return bad(where + ".name", "must be a device name (1-64 of A-Z a-z 0-9 _ . : -)");
                        ds.name = value.get<std::string>();
                    } else if (key == "parent") {
                        if (!value.is_string() || !valid_object_name(value.get<std::string>()))
                            return bad(where + ".parent", "must be a device name (1-64 of A-Z a-z 0-9 _ . : -)");
                        ds.parent = value.get<std::string>();
                    } else if (key == "properties") {
                        if (!value.is_object()) return bad(where + ".properties", "must be an object");
                        for (auto& [pk, pv] : value.items()) {
                            const std::string pwhere = where + ".properties." + pk;
                            std::string text;
                            if (pv.is_string())
                                text = pv.get<std::string>();
                            else if (pv.is_number_integer())
                                text = pv.dump();
                            else
                                return bad(pwhere, "must be a string or an integer");
                            if (Status ok = check_property(pk, text); !ok) return bad(pwhere, ok.error().message);
                            // A description must be expressible as bus/*/new_device
                            // lines, which split on white space.
                            if (text.find(' ') != std::string::npos) return bad(pwhere, "values cannot hold spaces");
                            ds.properties[pk] = std::move(text);
                        }
                    } else {
                        return bad(where + "." + key, "unknown key (expected name, parent, properties)");
                    }
                }
                if (ds.name.empty()) return bad(where + ".name", "missing");
                if (!names.insert(ds.name).second) return bad(where + ".name", "device '" + ds.name + "' is described twice");
                if (ds.parent == ds.name) return bad(where + ".parent", "a device cannot be its own parent");
                spec.devices.push_back(std::move(ds));
            }
        }
    }
    // A parent named in the file must come before its child; one not in the
    // file must exist when the description is applied.
    std::set<std::string> seen;
    for (const DeviceSpec& d : spec.devices) {
        if (!d.parent.empty() && names.count(d.parent) && !seen.count(d.parent))
            return bad(d.where + ".parent", "parent '" + d.parent + "' is described after its child");
        seen.insert(d.name);
    }
    return spec;
}

Result<ConfigSpec> parse_config_text(std::string_view text, const std::string& name) {
    json doc;
    if (looks_like_umockdev(text)) {  // a umockdev-record dump: translated (umockdev.hpp), errors name the line
        Result<json> dumped = umockdev_to_description(text, name);
        if (!dumped) return dumped.error();
        doc = std::move(dumped.value());
    } else {
        doc = json::parse(text, nullptr, false);
    }
    if (doc.is_discarded()) return Error::of(EINVAL, name + ": $: malformed JSON");
    Result<ConfigSpec> r = parse_config(doc);
    if (!r) return Error::of(r.error().code, name + ": " + r.error().message);
    return r;
}

Result<ConfigSpec> load_config_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        const int e = errno ? errno : ENOENT;
        return Error::of(e, path + ": cannot open: " + std::strerror(e));
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_config_text(ss.str(), path);
}

Result<ApplyReport> apply_config(Core& core, const ConfigSpec& spec) {
    ApplyReport rep;
    auto rollback = [&] {
        for (auto it = rep.added.rbegin(); it != rep.added.rend(); ++it) (void)core.remove_device(*it);
        for (auto it = rep.loaded.rbegin(); it != rep.loaded.rend(); ++it) (void)core.unload_plugin(*it);
    };
    std::set<std::string> live;
    for (const ModuleInfo& m : core.modules())
        if (m.state == "live") live.insert(m.name);
    for (size_t i = 0; i < spec.plugins.size(); ++i) {
        const std::string& p = spec.plugins[i];
        if (live.count(module_name_of(p))) {
            rep.plugins_present.push_back(module_name_of(p));
            continue;
        }
        Result<std::string> r = core.load_plugin(p);
        if (!r) {
            rollback();
            return Error::of(r.error().code, "$.plugins[" + std::to_string(i) + "]: " + r.error().message);
        }
        rep.loaded.push_back(r.value());
        live.insert(r.value());
    }
    std::map<std::string, std::string> existing;  // name -> bus
    for (const DeviceInfo& d : core.devices()) existing[d.name] = d.bus;
    for (const DeviceSpec& d : spec.devices) {
        if (auto it = existing.find(d.name); it != existing.end()) {
            if (it->second != d.bus) {
                rollback();
                return Error::of(EEXIST, d.where + ".name: device '" + d.name + "' exists on bus " + it->second);
            }
            rep.devices_present.push_back(d.name);
            continue;
        }
        if (!d.parent.empty() && !existing.count(d.parent)) {
            rollback();
            return Error::of(ENOENT, d.where + ".parent: no device '" + d.parent + "'");
        }
        Status s = core.add_device(d.bus, d.name, d.properties, d.parent);
        if (!s) {
            rollback();
            return Error::of(s.error().code, d.where + ": " + s.error().message);
        }
        rep.added.push_back(d.name);
        existing[d.name] = d.bus;
    }
    return rep;
}

json to_json(const ApplyReport& r) {
    return json{{"loaded", r.loaded}, {"plugins_present", r.plugins_present}, {"added", r.added},
                {"devices_present", r.devices_present}};
}

}  // namespace driverfs::control
