// hwmon: a hardware monitoring chip in Linux's hwmon sysfs interface
// (Documentation/hwmon/sysfs-interface.rst) with the host's real figures.
// Nothing is made up: a source the machine lacks at bind time gives no
// file, one that goes away later reads EIO.
//
// A bound device gets a class device hwmonN, as hwmon_device_register_with_info
// makes one: devices/.../<dev>/hwmon/hwmonN with device -> <dev> and
// subsystem -> class/hwmon, linked from class/hwmon/hwmonN, where libsensors
// looks (a platform device's chip is hwmon-isa-0000 on "ISA adapter"). Its
// files:
//   name                    "hwmon", the chip name (ro)
//   update_interval         ms a reading is reused before the sources are
//                           read again, 0..3600000, default 1000 (rw)
//   tempN_input, tempN_label   thermal zone N-1 in numeric order of
//                           THERMAL_DIR/thermal_zone*: temp in millidegrees
//                           Celsius and the zone's type, N = 1..16 (ro)
//   loadN_input, loadN_label   /proc/loadavg: the 1, 5 and 15 minute load
//                           averages times 1000, labels load1/load5/load15 (ro)
//   memN_input, memN_label  /proc/meminfo: MemTotal, MemAvailable, MemFree
//                           in bytes, labelled by their meminfo names (ro)
// load* and mem* are not in the kernel's interface; libsensors skips them.
//
// Device property thermal_dir=PATH replaces /sys/class/thermal (the tests
// use it on machines without thermal zones).
#include <algorithm>
#include <chrono>
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

constexpr size_t kMaxTemps = 16;
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

class Hwmon {
public:
    explicit Hwmon(Device dev);

    size_t zones() const { return zones_.size(); }
    bool has_load() const { return has_load_; }
    bool has_mem(size_t i) const { return has_mem_[i]; }
    const std::string& zone(size_t i) const { return zones_[i]; }

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
    std::vector<std::string> zones_;
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
    [](Device d, std::string_view in) {
        unsigned long v;
        if (parse_ulong(in, 0, 3600000, &v) != 0) return -EINVAL;
        d.state<Hwmon>().set_interval(v);
        return 0;
    });

// The class device's files; the indexed sensor files are made once at
// load, and their names live beside them.
Group hwmon_group(nullptr, {&name_attr, &update_interval});
std::deque<std::string> names;
std::deque<Attribute> sensors;

const char* keep(std::string s) { return names.emplace_back(std::move(s)).c_str(); }

template <class Show, class Visible>
void sensor(std::string name, Show show, Visible visible) {
    Attribute& a = sensors.emplace_back(keep(std::move(name)), 0444, std::move(show));
    a.visible_if(std::move(visible));
    hwmon_group.add(&a);
}

const bool sensors_made = [] {
    for (size_t i = 0; i < kMaxTemps; ++i) {
        const std::string n = "temp" + std::to_string(i + 1);
        auto visible = [i](Device d) { return i < d.state<Hwmon>().zones(); };
        sensor(n + "_input", [i, key = n + "_input"](Device d, std::string& out) {
            Hwmon& h = d.state<Hwmon>();
            return h.reading(key, [&] { return read_first_line(h.zone(i) + "/temp"); }, out);
        }, visible);
        sensor(n + "_label", [i, key = n + "_label"](Device d, std::string& out) {
            Hwmon& h = d.state<Hwmon>();
            return h.reading(key, [&] { return read_first_line(h.zone(i) + "/type"); }, out);
        }, visible);
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
    zones_ = thermal_zones(dir ? dir : "/sys/class/thermal");
    if (zones_.size() > kMaxTemps) zones_.resize(kMaxTemps);
    has_load_ = load_milli(0).has_value();
    for (size_t i = 0; i < 3; ++i) has_mem_[i] = meminfo_bytes(kMemKeys[i]).has_value();
    // Last: its files ask the members above whether they exist.
    cdev_ = ClassDevice(dev, "hwmon", "hwmon%d", {.groups = {&hwmon_group}, .state = this});
}

Driver hwmon_driver("hwmon", "platform", [](Driver& d) { d.state<Hwmon>(); });

Module hwmon_module("hwmon", "1.0", {&hwmon_driver});

}  // namespace

DRIVERFS_PLUGIN(hwmon_module)
