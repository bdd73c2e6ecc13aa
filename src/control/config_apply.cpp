// Device description files, second half: applying a validated ConfigSpec to the core, all or nothing.
#include "config.hpp"

#include <set>

namespace driverfs::control {

using nlohmann::json;

namespace {

std::string module_name_of(const std::string& name_or_path) {
    std::string base = name_or_path.substr(name_or_path.rfind('/') + 1);
    if (base.size() > 3 && base.compare(base.size() - 3, 3, ".so") == 0) base.resize(base.size() - 3);
    return base;
}

}  // namespace

Result<ApplyReport> apply_config(Core& core, const ConfigSpec& spec) {
    ApplyReport rep;
    auto rollback = [&] {
        for (auto it = rep.declared_added.rbegin(); it != rep.declared_added.rend(); ++it)
            (void)core.remove_declared_device(*it);
        core.drop_unused_declared_buses();
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
    // Declarative devices last: a plugin loaded above may bind to them.
    for (size_t i = 0; i < spec.declared.size(); ++i) {
        Result<bool> r = core.add_declared_device(spec.declared[i]);
        if (!r) {
            rollback();
            const std::string where = i < spec.declared_where.size() ? spec.declared_where[i] : "$.devices[" + std::to_string(i) + "]";
            return Error::of(r.error().code, where + "." + r.error().message);
        }
        (r.value() ? rep.declared_added : rep.declared_present).push_back(spec.declared[i].path);
    }
    return rep;
}

json to_json(const ApplyReport& r) {
    return json{{"loaded", r.loaded}, {"plugins_present", r.plugins_present}, {"added", r.added},
                {"devices_present", r.devices_present}, {"declared_added", r.declared_added},
                {"declared_present", r.declared_present}};
}

}  // namespace driverfs::control
