// driverfsctl top: sample "driver-stats" twice per refresh and print calls/s and the counters.
#include "top.hpp"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <thread>

#include "connection.hpp"
#include "control/protocol.hpp"
#include "exit.hpp"

namespace driverfs::cli {
namespace {

namespace proto = driverfs::protocol;
using proto::json;
using Clock = std::chrono::steady_clock;

// One connection, one "driver-stats" request per sample.
class Sampler {
public:
    int connect_to(const std::string& path, std::string& err) { return conn_.open(path, err); }
    // The result object of one "driver-stats", or the errno with `err`.
    int sample(json& result, std::string& err) {
        if (!conn_.send_line(json{{"id", ++id_}, {"cmd", "driver-stats"}}.dump()))
            return err = "the daemon closed the connection", ECONNRESET;
        json reply;
        if (int e = read_reply(conn_, reply, err); e != 0) return e;
        if (auto e = reply.find("error"); e != reply.end()) {
            int code = EPROTO;
            if (e->is_object() && e->contains("errno") && (*e)["errno"].is_number_integer())
                code = (*e)["errno"].get<int>();
            err = e->is_object() ? e->value("message", std::string("failed")) : std::string("failed");
            return code;
        }
        result = reply.value("result", json::object());
        return 0;
    }

private:
    Conn conn_;
    int id_ = 0;
};

uint64_t count_of(const json& d, const char* key) {
    auto it = d.find(key);
    return it != d.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

std::string key_of(const json& d) { return d.value("module", "") + "/" + d.value("driver", ""); }

// The drivers of `cur` with calls_per_sec from `prev`, taken `secs` earlier.
// A driver new since then (or reloaded: fewer calls) made all its calls in
// the interval.
json with_rates(const json& prev, const json& cur, double secs) {
    std::map<std::string, uint64_t> before;
    for (const json& d : prev.value("drivers", json::array())) before[key_of(d)] = count_of(d, "calls");
    json out = json::array();
    for (json d : cur.value("drivers", json::array())) {
        const uint64_t now = count_of(d, "calls");
        auto it = before.find(key_of(d));
        const uint64_t then = it != before.end() && it->second <= now ? it->second : 0;
        d["calls_per_sec"] = std::round(static_cast<double>(now - then) / secs * 10) / 10;
        out.push_back(std::move(d));
    }
    return out;
}

void print_text(const json& drivers, double secs, bool clear) {
    if (clear) std::printf("\033[H\033[J");
    const std::time_t t = std::time(nullptr);
    char stamp[32];
    std::tm tm{};
    std::strftime(stamp, sizeof stamp, "%H:%M:%S", localtime_r(&t, &tm));
    std::printf("driverfs top  %s  interval %.2f s  %zu driver(s)\n", stamp, secs, drivers.size());
    std::printf("%-16s %-16s %9s %10s %7s %9s %7s  %s\n", "MODULE", "DRIVER", "CALLS/S", "CALLS", "ERRORS",
                "IN_FLIGHT", "REFUSED", "SLOWEST");
    for (const json& d : drivers) {
        std::string slowest = "-";
        if (const json s = d.value("slowest", json()); s.is_object())
            slowest = s.value("call", "") + " " + std::to_string(count_of(s, "us")) + " us";
        std::printf("%-16s %-16s %9.1f %10llu %7llu %9llu %7llu  %s\n", d.value("module", "").c_str(),
                    d.value("driver", "").c_str(), d.value("calls_per_sec", 0.0),
                    static_cast<unsigned long long>(count_of(d, "calls")),
                    static_cast<unsigned long long>(count_of(d, "errors")),
                    static_cast<unsigned long long>(count_of(d, "in_flight")),
                    static_cast<unsigned long long>(count_of(d, "refused")), slowest.c_str());
    }
    if (!clear) std::printf("\n");
    std::fflush(stdout);
}

}  // namespace

int top_main(const std::string& socket_path, bool as_json, const std::vector<std::string>& args) {
    double interval = 1.0;
    long count = 0;  // 0: until interrupted
    for (size_t i = 0; i < args.size(); ++i) {
        std::string a = args[i], value;
        const bool is_interval = a == "--interval" || a.rfind("--interval=", 0) == 0;
        const bool is_count = a == "--count" || a.rfind("--count=", 0) == 0;
        if (!is_interval && !is_count) return usage_error("unknown argument '" + a + "' for top");
        if (auto eq = a.find('='); eq != std::string::npos) {
            value = a.substr(eq + 1);
        } else {
            if (i + 1 >= args.size()) return usage_error(a + " needs a value");
            value = args[++i];
        }
        char* end;
        errno = 0;
        if (is_interval) {
            interval = std::strtod(value.c_str(), &end);
            if (value.empty() || *end || !(interval >= 0.01 && interval <= 3600))
                return usage_error("--interval takes seconds, at least 0.01 and at most 3600");
        } else {
            count = std::strtol(value.c_str(), &end, 10);
            if (value.empty() || *end || errno || count < 1) return usage_error("--count takes a whole number >= 1");
        }
    }

    Sampler sampler;
    std::string err;
    if (int e = sampler.connect_to(socket_path, err); e != 0) return failed(e, "top: " + err, true, as_json);
    json prev;
    if (int e = sampler.sample(prev, err); e != 0) return failed(e, "top: " + err, true, as_json);
    Clock::time_point prev_at = Clock::now();
    const bool clear = !as_json && isatty(STDOUT_FILENO);
    for (long n = 0; count == 0 || n < count; ++n) {
        std::this_thread::sleep_for(std::chrono::duration<double>(interval));
        json cur;
        if (int e = sampler.sample(cur, err); e != 0) return failed(e, "top: " + err, true, as_json);
        const Clock::time_point now = Clock::now();
        const double secs = std::chrono::duration<double>(now - prev_at).count();
        const json drivers = with_rates(prev, cur, secs);
        if (as_json) {
            std::printf("%s\n", json{{"interval", std::round(secs * 1000) / 1000}, {"drivers", drivers}}.dump().c_str());
            std::fflush(stdout);
        } else {
            print_text(drivers, secs, clear);
        }
        prev = std::move(cur);
        prev_at = now;
    }
    return kOk;
}

}  // namespace driverfs::cli
