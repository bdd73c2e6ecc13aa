// The daemon's handler of each command in the table: core calls and the result object.
#include "handlers.hpp"

#include <unistd.h>

#include <cerrno>

#include "config.hpp"
#include "control/commands.hpp"
#include "core/declared.hpp"
#include "core/log.hpp"
#include "core/validate.hpp"
#include "dispatcher.hpp"
#include "driverfs_config.h"

namespace driverfs::control {

using nlohmann::json;

namespace {

// Every field a handler reads below was checked against its row
// (protocol::check_fields): a "name" is a non-empty string, a "text" a
// string or absent, and so on.
std::string field(const json& b, const char* key) { return b.at(key).get<std::string>(); }
std::optional<std::string> optional_field(const json& b, const char* key) {
    auto it = b.find(key);
    if (it == b.end() || it->is_null()) return std::nullopt;
    return it->get<std::string>();
}

Result<json> done(const Status& s) {
    if (!s) return s.error();
    return json::object();
}

Result<json> ping(HandlerContext&, const json&) {
    return json{{"version", DRIVERFS_VERSION}, {"pid", static_cast<long>(getpid())}};
}

Result<json> load(HandlerContext& c, const json& b) {
    Result<std::string> r = c.core.load_plugin(field(b, "plugin"));
    if (!r) return r.error();
    return json{{"module", r.value()}};
}

Result<json> unload(HandlerContext& c, const json& b) {
    std::optional<std::chrono::milliseconds> timeout;
    if (auto t = b.find("timeout"); t != b.end() && !t->is_null())
        timeout = std::chrono::milliseconds(static_cast<long>(t->get<double>() * 1000));
    const std::string module = field(b, "module");
    if (Status s = c.core.unload_plugin(module, timeout); !s) return s.error();
    return json{{"module", module}};
}

Result<json> list(HandlerContext& c, const json&) {
    std::vector<DeviceInfo> devs = c.core.devices();
    json mods = json::array();
    for (const ModuleInfo& m : c.core.modules()) {
        size_t bound = 0;
        for (const DeviceInfo& d : devs)
            for (const std::string& drv : m.drivers)
                if (m.state == "live" && d.driver == drv) ++bound;
        mods.push_back(json{{"name", m.name}, {"version", m.version}, {"source", m.source}, {"state", m.state},
                            {"generation", m.generation}, {"refcnt", m.refcnt}, {"drivers", m.drivers},
                            {"devices", bound}});
    }
    return json{{"modules", mods}};
}

Result<json> devices(HandlerContext& c, const json&) {
    json out = json::array();
    for (const DeviceInfo& d : c.core.devices())
        out.push_back(json{{"name", d.name}, {"bus", d.bus}, {"parent", d.parent}, {"driver", d.driver},
                           {"path", d.path}, {"state", d.suspended ? "suspended" : "active"},
                           {"properties", d.properties}});
    return json{{"devices", out}};
}

Result<json> add_device(HandlerContext& c, const json& b) {
    std::map<std::string, std::string> props;
    if (auto it = b.find("properties"); it != b.end() && !it->is_null()) {
        for (const auto& [k, val] : it->items()) {
            if (Status valid = check_property(k, val.get<std::string>()); !valid) return valid.error();
            props[k] = val.get<std::string>();
        }
    }
    const std::string name = field(b, "name");
    Status s = c.core.add_device(field(b, "bus"), name, std::move(props), optional_field(b, "parent").value_or(""));
    if (!s) return s.error();
    return json{{"device", name}};
}

// A path in the tree as a user may give it: devices/..., or as udevadm
// prints it with a leading / or /sys/.
std::string tree_path(std::string path) {
    if (path.rfind("/sys/", 0) == 0) path.erase(0, 5);
    if (!path.empty() && path[0] == '/') path.erase(0, 1);
    return path;
}

Result<json> remove_device(HandlerContext& c, const json& b) {
    // A path names a declarative device and what is below it.
    const std::string name = field(b, "name");
    const std::string target = tree_path(name);
    Status s = target.find('/') != std::string::npos ? c.core.remove_declared_device(target)
                                                      : c.core.remove_device(target);
    if (!s) return s.error();
    return json{{"device", name}};
}

Result<json> bind_device(HandlerContext& c, const json& b) {
    return done(c.core.bind(field(b, "bus"), field(b, "driver"), field(b, "device")));
}

Result<json> unbind_device(HandlerContext& c, const json& b) {
    return done(c.core.unbind(field(b, "bus"), field(b, "driver"), field(b, "device")));
}

// A recorded value changes as the hardware's would (a battery drains, a
// sensor warms) while the file keeps its mode; the newline is echo's.
Result<json> set_attribute(HandlerContext& c, const json& b) {
    std::optional<std::string> value = optional_field(b, "value");
    if (!value) return Error::of(EINVAL, "missing \"value\"");
    auto no_newline = b.find("no_newline");
    if (no_newline == b.end() || !no_newline->is_boolean() || !no_newline->get<bool>()) *value += '\n';
    const std::string path = tree_path(field(b, "path"));
    if (Status s = set_recorded_attribute(c.core.tree(), path, *value); !s) return s.error();
    return json{{"path", path}, {"bytes", value->size()}};
}

Result<json> suspend(HandlerContext& c, const json&) { return done(c.core.suspend()); }
Result<json> resume(HandlerContext& c, const json&) { return done(c.core.resume()); }
Result<json> purge(HandlerContext& c, const json&) { return json{{"freed", c.core.purge()}}; }

Result<json> stats(HandlerContext& c, const json&) {
    CoreStats s = c.core.stats();
    return json{{"live_stubs", s.live_stubs}, {"inactive_stubs", s.inactive_stubs}, {"nodes", s.nodes},
                {"devices", s.devices}, {"bound_devices", s.bound_devices}, {"plugins_loaded", s.plugins_loaded},
                {"buses", s.buses}, {"last_event", s.last_event}};
}

// What module/<plugin>/drivers/<driver>/ shows, every driver at once.
Result<json> driver_stats(HandlerContext& c, const json&) {
    json out = json::array();
    for (const DriverStatsInfo& d : c.core.driver_stats()) {
        const DriverStatsSnapshot& s = d.stats;
        json slowest = nullptr;
        if (!s.slowest.empty()) slowest = json{{"call", s.slowest}, {"us", s.slowest_us}};
        out.push_back(json{{"module", d.module}, {"driver", d.driver}, {"calls", s.calls}, {"errors", s.errors},
                           {"in_flight", s.in_flight}, {"refused", s.refused}, {"slowest", slowest}});
    }
    return json{{"drivers", out}};
}

// "config": the description as JSON; "text": a file's bytes, JSON or
// .umockdev, with "file" naming it in messages (driverfsctl apply). Only
// "text" keeps the order of properties (description_json.hpp): "config" was
// parsed with the request, whose objects are sorted.
Result<json> apply(HandlerContext& c, const json& b) {
    const std::optional<std::string> text = optional_field(b, "text");
    auto it = b.find("config");
    if (it == b.end() && !text) return Error::of(EINVAL, "missing \"config\" (or \"text\")");
    Result<ConfigSpec> spec =
        text ? parse_config_text(*text, optional_field(b, "file").value_or("request")) : parse_config(DescriptionJson(*it));
    if (!spec) return spec.error();
    std::lock_guard lock(c.apply_mu);
    Result<ApplyReport> rep = apply_config(c.core, spec.value());
    if (!rep) return rep.error();
    return to_json(rep.value());
}

// Without "follow" (the server streams that).
Result<json> recent_log(HandlerContext&, const json& b) {
    json records = json::array();
    for (const LogRecord& rec : log_records(log_after(b))) records.push_back(log_record_to_json(rec));
    return json{{"records", std::move(records)}};
}

struct Row {
    std::string_view name;
    Handler handler;
};

constexpr Row kHandlers[] = {
    {"ping", ping},       {"load", load},           {"unload", unload},
    {"list", list},       {"devices", devices},     {"add-device", add_device},
    {"remove-device", remove_device},               {"bind", bind_device},
    {"unbind", unbind_device},   {"suspend", suspend},     {"resume", resume},
    {"purge", purge},     {"stats", stats},         {"driver-stats", driver_stats},
    {"apply", apply},     {"log", recent_log},      {"set-attribute", set_attribute},
};

// Every row the dispatcher answers has one handler here, and every handler
// a row: a command added to the table without one does not build.
constexpr bool handlers_match_table() {
    for (const protocol::Command& cmd : protocol::kCommands) {
        const bool answered = !cmd.local && !(cmd.stream_key && !cmd.stream_if);
        size_t n = 0;
        for (const Row& r : kHandlers) n += r.name == cmd.name;
        if (n != (answered ? 1u : 0u)) return false;
    }
    // Names, not find_command's pointer: GCC's -fsanitize=undefined makes a
    // comparison of a table row's address with null no constant expression.
    for (const Row& r : kHandlers) {
        size_t rows = 0;
        for (const protocol::Command& cmd : protocol::kCommands) rows += cmd.name == r.name;
        if (rows != 1) return false;
    }
    return true;
}
static_assert(handlers_match_table(), "each command the dispatcher answers needs exactly one handler");

}  // namespace

Handler find_handler(std::string_view name) {
    for (const Row& r : kHandlers)
        if (r.name == name) return r.handler;
    return nullptr;
}

}  // namespace driverfs::control
