// The dispatcher: turn one control request into core calls and a reply.
#include "dispatcher.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <exception>

#include "config.hpp"
#include "core/validate.hpp"
#include "driverfs_config.h"

namespace driverfs::control {

using nlohmann::json;
namespace proto = driverfs::protocol;

namespace {

Error einval(std::string msg) { return Error::of(EINVAL, std::move(msg)); }

json ok() { return json::object(); }

}  // namespace

json event_to_json(const Uevent& ev) {
    return json{{"seqnum", ev.seqnum}, {"action", ev.action}, {"devpath", ev.devpath},
                {"subsystem", ev.subsystem}, {"env", ev.env}};
}

json log_record_to_json(const LogRecord& rec) {
    using namespace std::chrono;
    const auto us = duration_cast<microseconds>(rec.time.time_since_epoch()).count();
    const time_t secs = static_cast<time_t>(us / 1000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[64];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(us % 1000000));
    return json{{"seq", rec.seq}, {"time", stamp}, {"level", log_level_name(rec.level)}, {"message", rec.message}};
}

Result<uint64_t> log_after(const json& body) {
    auto it = body.find("after");
    if (it == body.end() || it->is_null()) return uint64_t{0};
    if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<long long>() >= 0))
        return einval("\"after\" must be a whole number >= 0 (a seq of an earlier record)");
    return it->get<uint64_t>();
}

std::string Dispatcher::handle_line(std::string_view line) {
    auto parsed = proto::parse_request(line);
    if (auto* f = std::get_if<proto::Failure>(&parsed)) return proto::error_line(f->id, f->code, f->message);
    return handle(std::get<proto::Request>(parsed));
}

std::string Dispatcher::handle(const proto::Request& req) {
    Result<json> r = Error::of(EIO, "internal error");
    try {
        r = run(req);
    } catch (const std::exception& e) {
        r = Error::of(EIO, std::string("internal error: ") + e.what());
    }
    // A client that unbinds and then looks at the mount must not find the
    // kernel's cached links of before: reply once the kernel was told.
    core_.tree().sync_changes();
    if (!r) return proto::error_line(req.id, r.error().code, r.error().message);
    return proto::result_line(req.id, r.value());
}

Result<json> Dispatcher::run(const proto::Request& req) {
    const json& b = req.body;
    const std::string& cmd = req.cmd;
    std::string err;
    // Required string fields, in order; EINVAL naming the first bad one.
    auto strings = [&](std::initializer_list<const char*> keys) -> std::optional<std::vector<std::string>> {
        std::vector<std::string> out;
        for (const char* k : keys) {
            auto v = proto::get_string(b, k, true, err);
            if (!v) return std::nullopt;
            if (v->empty()) {
                err = std::string("\"") + k + "\" must not be empty";
                return std::nullopt;
            }
            out.push_back(*v);
        }
        return out;
    };
    auto status = [](const Status& s) -> Result<json> {
        if (!s) return s.error();
        return ok();
    };

    if (cmd == "ping") {
        return json{{"version", DRIVERFS_VERSION}, {"pid", static_cast<long>(getpid())}};
    }
    if (cmd == "load") {
        auto v = strings({"plugin"});
        if (!v) return einval(err);
        Result<std::string> r = core_.load_plugin((*v)[0]);
        if (!r) return r.error();
        return json{{"module", r.value()}};
    }
    if (cmd == "unload") {
        auto v = strings({"module"});
        if (!v) return einval(err);
        auto t = proto::get_number(b, "timeout", false, err);
        if (!err.empty()) return einval(err);
        std::optional<std::chrono::milliseconds> timeout;
        if (t) {
            if (!(*t > 0 && *t <= 3600)) return einval("\"timeout\" is seconds, more than 0 and at most 3600");
            timeout = std::chrono::milliseconds(static_cast<long>(*t * 1000));
        }
        Status s = core_.unload_plugin((*v)[0], timeout);
        if (!s) return s.error();
        return json{{"module", (*v)[0]}};
    }
    if (cmd == "list") {
        std::vector<DeviceInfo> devs = core_.devices();
        json mods = json::array();
        for (const ModuleInfo& m : core_.modules()) {
            size_t bound = 0;
            for (const DeviceInfo& d : devs)
                for (const std::string& drv : m.drivers)
                    if (m.state == "live" && d.driver == drv) ++bound;
            mods.push_back(json{{"name", m.name}, {"version", m.version}, {"source", m.source},
                                {"state", m.state}, {"generation", m.generation}, {"refcnt", m.refcnt},
                                {"drivers", m.drivers}, {"devices", bound}});
        }
        return json{{"modules", mods}};
    }
    if (cmd == "devices") {
        json out = json::array();
        for (const DeviceInfo& d : core_.devices())
            out.push_back(json{{"name", d.name}, {"bus", d.bus}, {"parent", d.parent}, {"driver", d.driver},
                               {"path", d.path}, {"state", d.suspended ? "suspended" : "active"},
                               {"properties", d.properties}});
        return json{{"devices", out}};
    }
    if (cmd == "add-device") {
        auto v = strings({"bus", "name"});
        if (!v) return einval(err);
        auto parent = proto::get_string(b, "parent", false, err);
        if (!err.empty()) return einval(err);
        std::map<std::string, std::string> props;
        if (auto it = b.find("properties"); it != b.end() && !it->is_null()) {
            if (!it->is_object()) return einval("\"properties\" must be an object of strings");
            for (auto& [k, val] : it->items()) {
                if (!val.is_string()) return einval("\"properties." + k + "\" must be a string");
                if (Status valid = check_property(k, val.get<std::string>()); !valid) return valid.error();
                props[k] = val.get<std::string>();
            }
        }
        Status s = core_.add_device((*v)[0], (*v)[1], std::move(props), parent.value_or(""));
        if (!s) return s.error();
        return json{{"device", (*v)[1]}};
    }
    if (cmd == "remove-device") {
        auto v = strings({"name"});
        if (!v) return einval(err);
        // A path (devices/..., as udevadm prints it with or without the
        // leading /sys or /) names a declarative device and what is below it.
        std::string target = (*v)[0];
        if (target.rfind("/sys/", 0) == 0) target.erase(0, 5);
        if (!target.empty() && target[0] == '/') target.erase(0, 1);
        Status s = target.find('/') != std::string::npos ? core_.remove_declared_device(target)
                                                          : core_.remove_device(target);
        if (!s) return s.error();
        return json{{"device", (*v)[0]}};
    }
    if (cmd == "bind" || cmd == "unbind") {
        auto v = strings({"bus", "driver", "device"});
        if (!v) return einval(err);
        const auto& a = *v;
        return status(cmd == "bind" ? core_.bind(a[0], a[1], a[2]) : core_.unbind(a[0], a[1], a[2]));
    }
    if (cmd == "suspend") return status(core_.suspend());
    if (cmd == "resume") return status(core_.resume());
    if (cmd == "purge") return json{{"freed", core_.purge()}};
    if (cmd == "stats") {
        CoreStats s = core_.stats();
        return json{{"live_stubs", s.live_stubs}, {"inactive_stubs", s.inactive_stubs}, {"nodes", s.nodes},
                    {"devices", s.devices}, {"bound_devices", s.bound_devices},
                    {"plugins_loaded", s.plugins_loaded}, {"buses", s.buses}, {"last_event", s.last_event}};
    }
    if (cmd == "driver-stats") {
        // What module/<plugin>/drivers/<driver>/ shows, every driver at once.
        json out = json::array();
        for (const DriverStatsInfo& d : core_.driver_stats()) {
            const DriverStatsSnapshot& s = d.stats;
            json slowest = nullptr;
            if (!s.slowest.empty()) slowest = json{{"call", s.slowest}, {"us", s.slowest_us}};
            out.push_back(json{{"module", d.module}, {"driver", d.driver}, {"calls", s.calls},
                               {"errors", s.errors}, {"in_flight", s.in_flight}, {"refused", s.refused},
                               {"slowest", slowest}});
        }
        return json{{"drivers", out}};
    }
    if (cmd == "apply") {
        // "config": the description as JSON; "text": a file's bytes, JSON or
        // .umockdev, with "file" naming it in messages (driverfsctl apply).
        std::string err;
        std::optional<std::string> text = proto::get_string(b, "text", false, err);
        if (!err.empty()) return einval(err);
        std::optional<std::string> file = proto::get_string(b, "file", false, err);
        if (!err.empty()) return einval(err);
        auto it = b.find("config");
        if (it == b.end() && !text) return einval("missing \"config\" (or \"text\")");
        Result<ConfigSpec> spec = text ? parse_config_text(*text, file.value_or("request")) : parse_config(*it);
        if (!spec) return spec.error();
        std::lock_guard lock(apply_mu_);
        Result<ApplyReport> rep = apply_config(core_, spec.value());
        if (!rep) return rep.error();
        return to_json(rep.value());
    }
    if (cmd == "log") {
        auto follow = b.find("follow");
        if (follow != b.end() && !follow->is_null() && !follow->is_boolean())
            return einval("\"follow\" must be true or false");
        if (follow != b.end() && follow->is_boolean() && follow->get<bool>())
            return Error::of(EOPNOTSUPP, "log --follow streams over a connection; the server handles it");
        Result<uint64_t> after = log_after(b);
        if (!after) return after.error();
        json records = json::array();
        for (const LogRecord& rec : log_records(after.value())) records.push_back(log_record_to_json(rec));
        return json{{"records", std::move(records)}};
    }
    if (cmd == "monitor") return Error::of(EOPNOTSUPP, "monitor streams over a connection; the server handles it");
    return Error::of(ENOSYS, "unknown command '" + cmd + "'");
}

}  // namespace driverfs::control
