// How driverfsctl prints each kind of reply (reply_text.hpp).
#include "control/reply_text.hpp"

#include <cstdio>
#include <map>
#include <vector>

namespace driverfs::protocol {

namespace {

// j[key] as text: strings as they are, other values as JSON, "" if absent.
std::string str(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return "";
    return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

void print_list(const json& r) {
    std::printf("%-20s %4s %-6s %6s %7s  %s\n", "Module", "Gen", "State", "Refcnt", "Devices", "Drivers");
    const json mods = r.value("modules", json::array());
    for (const json& m : mods) {
        std::string drivers;
        const json drvs = m.value("drivers", json::array());
        for (const json& d : drvs) drivers += (drivers.empty() ? "" : ",") + d.get<std::string>();
        std::printf("%-20s %4s %-6s %6s %7s  %s\n", str(m, "name").c_str(), str(m, "generation").c_str(),
                    str(m, "state").c_str(), str(m, "refcnt").c_str(), str(m, "devices").c_str(),
                    drivers.empty() ? "-" : drivers.c_str());
    }
}

void print_devices(const json& r) {
    const json devs = r.value("devices", json::array());
    std::map<std::string, std::vector<const json*>> children;
    std::vector<const json*> roots;
    std::map<std::string, bool> present;
    for (const json& d : devs) present[str(d, "name")] = true;
    for (const json& d : devs) {
        const std::string parent = str(d, "parent");
        if (parent.empty() || !present.count(parent))
            roots.push_back(&d);
        else
            children[parent].push_back(&d);
    }
    auto show = [&](auto&& self, const json* d, int depth) -> void {
        const std::string drv = str(*d, "driver");
        std::string props;
        const json pj = d->value("properties", json::object());
        for (auto& [k, v] : pj.items())
            props += " " + k + "=" + (v.is_string() ? v.template get<std::string>() : v.dump());
        std::printf("%*s%s (%s) driver=%s state=%s%s\n", depth * 2, "", str(*d, "name").c_str(),
                    str(*d, "bus").c_str(), drv.empty() ? "-" : drv.c_str(), str(*d, "state").c_str(), props.c_str());
        for (const json* c : children[str(*d, "name")]) self(self, c, depth + 1);
    };
    for (const json* d : roots) show(show, d, 0);
}

void print_stats(const json& r) {
    for (auto& [k, v] : r.items()) std::printf("%-16s %s\n", k.c_str(), v.dump().c_str());
}

void print_driver_stats(const json& r) {
    std::printf("%-16s %-16s %10s %7s %9s %7s  %s\n", "MODULE", "DRIVER", "CALLS", "ERRORS", "IN_FLIGHT", "REFUSED",
                "SLOWEST");
    for (const json& d : r.value("drivers", json::array())) {
        const json s = d.value("slowest", json());
        const std::string slowest = s.is_object() ? str(s, "call") + " " + str(s, "us") + " us" : "-";
        std::printf("%-16s %-16s %10s %7s %9s %7s  %s\n", str(d, "module").c_str(), str(d, "driver").c_str(),
                    str(d, "calls").c_str(), str(d, "errors").c_str(), str(d, "in_flight").c_str(),
                    str(d, "refused").c_str(), slowest.c_str());
    }
}

void print_purge(const json& r) { std::printf("freed %s inactive stubs\n", str(r, "freed").c_str()); }

void print_ping(const json& r) {
    std::printf("driverfsd %s (pid %s)\n", str(r, "version").c_str(), str(r, "pid").c_str());
}

void print_apply(const json& r) {
    auto names = [&](std::initializer_list<const char*> keys) {
        std::string s;
        for (const char* k : keys) {
            const json arr = r.value(k, json::array());
            for (const json& n : arr) s += " " + n.get<std::string>();
        }
        return s.empty() ? std::string(" -") : s;
    };
    std::printf("loaded:%s\nadded:%s\nalready present:%s\n", names({"loaded"}).c_str(),
                names({"added", "declared_added"}).c_str(),
                names({"plugins_present", "devices_present", "declared_present"}).c_str());
}

void print_log_record(const json& rec, bool as_json) {
    if (as_json)
        std::printf("%s\n", rec.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    else
        std::printf("%s %s: %s\n", str(rec, "time").c_str(), str(rec, "level").c_str(), str(rec, "message").c_str());
    std::fflush(stdout);
}

void print_event(const json& ev, bool as_json) {
    if (as_json) {
        std::printf("%s\n", ev.dump().c_str());
    } else {
        std::printf("UEVENT[%s] %-7s %s (%s)\n", str(ev, "seqnum").c_str(), str(ev, "action").c_str(),
                    str(ev, "devpath").c_str(), str(ev, "subsystem").c_str());
    }
    std::fflush(stdout);
}

}  // namespace driverfs::protocol
