// hwmon: a hardware monitoring chip in Linux's hwmon sysfs interface
// (Documentation/hwmon/sysfs-interface.rst): the host's real figures, and
// temperatures a test sets.
//
// A bound device gets a class device hwmonN, as hwmon_device_register_with_info
// makes one: devices/.../<dev>/hwmon/hwmonN with device -> <dev> and
// subsystem -> class/hwmon, linked from class/hwmon/hwmonN, where libsensors
// looks (a platform device's chip is hwmon-isa-0000 on "ISA adapter"). Its
// files:
//   name                    "hwmon", the chip name (ro)
//   update_interval         ms a host reading is reused before the sources
//                           are read again, 0..3600000, default 1000 (rw);
//                           a value outside is clamped, as the hwmon ABI
//                           asks of continuous settings
//   tempN_input, tempN_label   N = 1..Z: thermal zone N-1 in numeric order
//                           of THERMAL_DIR/thermal_zone*, Z <= 16: temp in
//                           millidegrees Celsius and the zone's type (ro);
//                           N = Z+1..Z+E: the emulated temperatures of the
//                           temps property, in its order: millidegrees
//                           Celsius (rw, 0644) and the label (ro, no file
//                           for an empty label)
//   loadN_input, loadN_label   /proc/loadavg: the 1, 5 and 15 minute load
//                           averages times 1000, labels load1/load5/load15 (ro)
//   memN_input, memN_label  /proc/meminfo: MemTotal, MemAvailable, MemFree
//                           in bytes, labelled by their meminfo names (ro)
// load* and mem* are not in the kernel's interface; libsensors skips them.
//
// Host figures are never made up: a source the machine lacks at bind time
// gives no file, one that goes away later reads EIO.
//
// Device properties:
//   thermal_dir=PATH        replaces /sys/class/thermal (the tests use it
//                           for zones of their own)
//   temps=LABEL:MILLIDEG[,LABEL:MILLIDEG...]   up to 16 emulated
//                           temperatures, e.g. temps=cpu:45000,board:-5500;
//                           LABEL is everything before the last ':' (no ','),
//                           MILLIDEG a decimal long. A malformed list
//                           refuses the device (probe: EINVAL, a log line).
// A write to an emulated tempN_input sets it, and reads give it at once
// (update_interval does not apply); its errors are kstrtol's: EINVAL for
// what is not a decimal number, ERANGE for one that does not fit a long.
// Linux has no writable tempN_input; this one exists so a test can move a
// reading.
#include <algorithm>
#include <chrono>
#include <climits>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>

#include "driverfs/plugin.hpp"

namespace {

using namespace driverfs::sdk;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxZones = 16;
constexpr long kMaxIntervalMs = 3600000;  // an hour
constexpr size_t kMaxEmulated = 16;
constexpr size_t kMaxTemps = kMaxZones + kMaxEmulated;
constexpr const char* kLoadLabels[] = {"load1", "load5", "load15"};
constexpr const char* kMemKeys[] = {"MemTotal", "MemAvailable", "MemFree"};

std::optional<std::string> read_first_line(const std::string& path) {
    std::ifstream f(path);
    std::string line;
    if (!f || !std::getline(f, line)) return std::nullopt;
    return line;
}

// Thermal zones under dir, in numeric order of thermal_zoneN.
std::vector<std::string> thermal_zones(const std::string& dir) {
    std::vector<std::pair<long, std::string>> zones;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        std::string n = e.path().filename().string();
        long k;
        if (n.rfind("thermal_zone", 0) == 0 && parse_long(n.substr(12), 0, 1 << 20, &k) == 0 &&
            std::filesystem::exists(e.path() / "temp"))
            zones.emplace_back(k, e.path().string());
    }
    std::sort(zones.begin(), zones.end());
    std::vector<std::string> out;
    for (auto& z : zones) out.push_back(z.second);
    return out;
}

std::optional<long long> meminfo_bytes(const char* key) {
    std::ifstream f("/proc/meminfo");
    std::string k, unit;
    long long v;
    while (f >> k >> v) {
        std::getline(f, unit);
        if (k == std::string(key) + ":") return v * 1024;  // meminfo counts kB
    }
    return std::nullopt;
}

std::optional<long long> load_milli(size_t which) {
    std::ifstream f("/proc/loadavg");
    double l[3];
    if (!(f >> l[0] >> l[1] >> l[2])) return std::nullopt;
    return static_cast<long long>(l[which] * 1000 + 0.5);
}

// One temperature channel: a thermal zone of the host, or emulated.
struct Temp {
    std::string zone;   // the zone's directory; empty: emulated
    std::string label;  // emulated: its label ("" = no tempN_label)
    long value = 0;     // emulated: millidegrees (Hwmon::mu_)
};

// The temps property: its emulated channels. Malformed: a log line naming
// the device, and Errno(EINVAL), which refuses the device in probe.
std::vector<Temp> emulated_temps(Device dev) {
    std::vector<Temp> out;
    const char* spec = dev.property("temps");
    if (!spec) return out;
    auto bad = [&](const std::string& why) {
        Host::log(DFS_LOG_ERR, std::string(dev.name()) + ": temps=" + spec + ": " + why);
        throw Errno(EINVAL);
    };
    std::string_view rest = spec;
    for (;;) {
        const size_t comma = rest.find(',');
        const std::string_view item = rest.substr(0, comma);
        const size_t colon = item.rfind(':');
        long v;
        if (colon == std::string_view::npos || parse_long(item.substr(colon + 1), LONG_MIN, LONG_MAX, &v) != 0)
            bad("'" + std::string(item) + "' is not LABEL:MILLIDEG");
        if (out.size() == kMaxEmulated) bad("more than " + std::to_string(kMaxEmulated) + " temperatures");
        out.push_back(Temp{"", std::string(item.substr(0, colon)), v});
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    return out;
}

class Hwmon {
public:
    explicit Hwmon(Device dev);

    size_t temps() const { return temps_.size(); }
    const Temp& temp(size_t i) const { return temps_[i]; }
    bool emulated(size_t i) const { return i < temps_.size() && temps_[i].zone.empty(); }
    bool has_load() const { return has_load_; }
    bool has_mem(size_t i) const { return has_mem_[i]; }

    long value(size_t i) {
        std::lock_guard lock(mu_);
        return temps_[i].value;
    }
    void set_value(size_t i, long v) {
        std::lock_guard lock(mu_);
        temps_[i].value = v;
    }

    unsigned long interval() {
        std::lock_guard lock(mu_);
        return interval_ms_;
    }
    void set_interval(unsigned long ms) {
        std::lock_guard lock(mu_);
        interval_ms_ = ms;
    }

    // A reading of `key`, reused for update_interval ms; -EIO if the source
    // went away (e.g. a thermal zone removed since bind).
    template <class Read>
    int reading(const std::string& key, Read&& read, std::string& out) {
        std::lock_guard lock(mu_);
        auto now = Clock::now();
        auto it = cache_.find(key);
        if (it == cache_.end() || now - it->second.first >= std::chrono::milliseconds(interval_ms_)) {
            std::optional<std::string> v = read();
            if (!v) return -EIO;
            it = cache_.insert_or_assign(key, std::make_pair(now, *v)).first;
        }
        out = it->second.second + "\n";
        return 0;
    }

private:
    std::vector<Temp> temps_;  // the zones, then the emulated ones
    bool has_load_ = false;
    bool has_mem_[3] = {};
    std::mutex mu_;
    unsigned long interval_ms_ = 1000;
    std::map<std::string, std::pair<Clock::time_point, std::string>> cache_;
    ClassDevice cdev_;  // last: made once the rest exists, destroyed first
};

Attribute name_attr("name", 0444, [](Device, std::string& out) {
    out = "hwmon\n";
    return 0;
});

Attribute update_interval("update_interval", 0644,
    [](Device d, std::string& out) {
        out = std::to_string(d.state<Hwmon>().interval()) + "\n";
        return 0;
    },
    // A continuous setting: the hwmon ABI clamps it to its limits
    // (clamp_val) rather than refusing; what is not a number stays kstrtol's
    // EINVAL (ERANGE beyond a long).
    [](Device d, std::string_view in) {
        long v;
        if (int rc = parse_long(in, LONG_MIN, LONG_MAX, &v); rc != 0) return rc;
        d.state<Hwmon>().set_interval(static_cast<unsigned long>(std::clamp(v, 0L, kMaxIntervalMs)));
        return 0;
    });

// The class device's files; the indexed sensor files are made once at
// load, and their names live beside them.
Group hwmon_group(nullptr, {&name_attr, &update_interval});
std::deque<std::string> names;
std::deque<Attribute> sensors;

const char* keep(std::string s) { return names.emplace_back(std::move(s)).c_str(); }

template <class Show, class Visible>
Attribute& sensor(std::string name, Show show, Visible visible, Attribute::StoreFn store = {}) {
    Attribute& a = sensors.emplace_back(keep(std::move(name)), store ? 0644 : 0444, std::move(show), std::move(store));
    a.visible_if(std::move(visible));
    hwmon_group.add(&a);
    return a;
}

const bool sensors_made = [] {
    for (size_t i = 0; i < kMaxTemps; ++i) {
        const std::string n = "temp" + std::to_string(i + 1);
        Attribute& input = sensor(n + "_input", [i, key = n + "_input"](Device d, std::string& out) {
            Hwmon& h = d.state<Hwmon>();
            if (h.emulated(i)) {
                out = format_int(h.value(i));
                return 0;
            }
            return h.reading(key, [&] { return read_first_line(h.temp(i).zone + "/temp"); }, out);
        }, [i](Device d) { return i < d.state<Hwmon>().temps(); },
        [i](Device d, std::string_view in) {
            Hwmon& h = d.state<Hwmon>();
            if (!h.emulated(i)) return -EACCES;  // a zone's reading (0444: not reached)
            long v;
            if (int rc = parse_long(in, LONG_MIN, LONG_MAX, &v); rc != 0) return rc;
            h.set_value(i, v);
            return 0;
        });
        // Writable only for an emulated temperature; a zone's reading is 0444.
        input.mode_for([i](Device d) -> uint32_t {
            Hwmon& h = d.state<Hwmon>();
            if (i >= h.temps()) return 0;
            return h.emulated(i) ? 0644 : 0444;
        });
        sensor(n + "_label", [i, key = n + "_label"](Device d, std::string& out) {
            Hwmon& h = d.state<Hwmon>();
            if (h.emulated(i)) {
                out = h.temp(i).label + "\n";
                return 0;
            }
            return h.reading(key, [&] { return read_first_line(h.temp(i).zone + "/type"); }, out);
        }, [i](Device d) {
            Hwmon& h = d.state<Hwmon>();
            return i < h.temps() && (!h.emulated(i) || !h.temp(i).label.empty());
        });
    }
    for (size_t i = 0; i < 3; ++i) {
        const std::string n = "load" + std::to_string(i + 1);
        auto visible = [](Device d) { return d.state<Hwmon>().has_load(); };
        sensor(n + "_input", [i, key = n + "_input"](Device d, std::string& out) {
            return d.state<Hwmon>().reading(key, [&]() -> std::optional<std::string> {
                auto v = load_milli(i);
                if (!v) return std::nullopt;
                return std::to_string(*v);
            }, out);
        }, visible);
        sensor(n + "_label", [i](Device, std::string& out) {
            out = std::string(kLoadLabels[i]) + "\n";
            return 0;
        }, visible);
    }
    for (size_t i = 0; i < 3; ++i) {
        const std::string n = "mem" + std::to_string(i + 1);
        auto visible = [i](Device d) { return d.state<Hwmon>().has_mem(i); };
        sensor(n + "_input", [i, key = n + "_input"](Device d, std::string& out) {
            return d.state<Hwmon>().reading(key, [&]() -> std::optional<std::string> {
                auto v = meminfo_bytes(kMemKeys[i]);
                if (!v) return std::nullopt;
                return std::to_string(*v);
            }, out);
        }, visible);
        sensor(n + "_label", [i](Device, std::string& out) {
            out = std::string(kMemKeys[i]) + "\n";
            return 0;
        }, visible);
    }
    return true;
}();

Hwmon::Hwmon(Device dev) {
    const char* dir = dev.property("thermal_dir");
    for (std::string& z : thermal_zones(dir ? dir : "/sys/class/thermal")) {
        if (temps_.size() == kMaxZones) break;
        temps_.push_back(Temp{std::move(z), "", 0});
    }
    for (Temp& t : emulated_temps(dev)) temps_.push_back(std::move(t));
    has_load_ = load_milli(0).has_value();
    for (size_t i = 0; i < 3; ++i) has_mem_[i] = meminfo_bytes(kMemKeys[i]).has_value();
    // Last: its files ask the members above whether they exist.
    cdev_ = ClassDevice(dev, "hwmon", "hwmon%d", {.groups = {&hwmon_group}, .state = this});
}

Driver hwmon_driver("hwmon", "platform", [](Driver& d) { d.state<Hwmon>(); });

Module hwmon_module("hwmon", "1.0", {&hwmon_driver});

}  // namespace

DRIVERFS_PLUGIN(hwmon_module)
