// gpio-sim: a simulated GPIO chip, after Linux's gpio-sim
// (Documentation/admin-guide/gpio/gpio-sim.rst) and the gpio sysfs files
// (Documentation/admin-guide/gpio/sysfs.rst).
//
// Device property ngpio=N (1..64, default 8). Files of a bound device:
//   ngpio              the number of lines (ro)
//   gpioK/direction    "in" or "out"; writing "high"/"low" makes it an output
//                      at that level, "out" an output driven low (rw)
//   gpioK/value        0 or 1 (rw; writing an input is EPERM, as in Linux;
//                      any nonzero integer is 1)
//   gpioK/edge         none, rising, falling, both: which changes of value
//                      wake poll() on gpioK/value (rw)
//   gpioK/pull         pull-up or pull-down: the outside world driving the
//                      line; an input follows it (rw; default pull-down)
// K = 0..ngpio-1. A change of value that matches edge notifies pollers of
// gpioK/value (POLLPRI|POLLERR), whether it came from value, direction or pull.
#include <deque>
#include <mutex>

#include "driverfs/plugin.hpp"

namespace {

using namespace driverfs::sdk;

constexpr unsigned kMaxLines = 64;
constexpr const char* kEdges[] = {"none", "rising", "falling", "both"};
constexpr const char* kPulls[] = {"pull-down", "pull-up"};
enum Edge { kNone, kRising, kFalling, kBoth };

struct Line {
    bool output = false;
    bool driven = false;  // level when output
    bool pull_up = false; // level when input
    Edge edge = kNone;
    bool value() const { return output ? driven : pull_up; }
};

class Chip {
public:
    explicit Chip(Device dev) : dev_(dev) {
        if (const char* p = dev.property("ngpio")) {
            if (parse_ulong(p, 1, kMaxLines, &ngpio_) != 0) {
                Host::log(DFS_LOG_ERR, "ngpio property must be a number from 1 to 64");
                throw Errno(EINVAL);
            }
        }
    }
    unsigned long ngpio() const { return ngpio_; }

    // Run fn on line k under the lock, then notify gpioK/value if its value
    // changed in a way its edge setting watches. fn returns 0 or -errno.
    template <class Fn>
    int change(unsigned k, Fn&& fn) {
        bool before, after;
        Edge edge;
        {
            std::lock_guard lock(mu_);
            before = lines_[k].value();
            if (int rc = fn(lines_[k]); rc < 0) return rc;
            after = lines_[k].value();
            edge = lines_[k].edge;
        }
        bool wake = before != after && (edge == kBoth || (edge == kRising && after) || (edge == kFalling && !after));
        if (wake) dev_.notify(("gpio" + std::to_string(k) + "/value").c_str());
        return 0;
    }
    Line line(unsigned k) {
        std::lock_guard lock(mu_);
        return lines_[k];
    }

private:
    Device dev_;
    unsigned long ngpio_ = 8;
    std::mutex mu_;
    Line lines_[kMaxLines];
};

Attribute ngpio_attr("ngpio", 0444, [](Device d, std::string& out) {
    out = std::to_string(d.state<Chip>().ngpio()) + "\n";
    return 0;
});

// Per line: four attributes in the named group gpioK, made once at load.
std::deque<std::string> names;
std::deque<Attribute> line_attrs;
std::deque<Group> line_groups;

const char* keep(std::string s) { return names.emplace_back(std::move(s)).c_str(); }

Attribute* line_attr(Group& g, unsigned k, const char* name, Attribute::ShowFn show, Attribute::StoreFn store) {
    Attribute& a = line_attrs.emplace_back(name, 0644, std::move(show), std::move(store));
    a.visible_if([k](Device d) { return k < d.state<Chip>().ngpio(); });
    g.add(&a);
    return &a;
}

std::vector<const Group*> make_lines() {
    std::vector<const Group*> groups;
    for (unsigned k = 0; k < kMaxLines; ++k) {
        Group& g = line_groups.emplace_back(keep("gpio" + std::to_string(k)), std::initializer_list<const Attribute*>{});
        line_attr(g, k, "direction",
            [k](Device d, std::string& out) {
                out = d.state<Chip>().line(k).output ? "out\n" : "in\n";
                return 0;
            },
            [k](Device d, std::string_view in) {
                static constexpr const char* kDirs[] = {"in", "out", "low", "high"};
                int dir = parse_choice(in, kDirs);
                if (dir < 0) return -EINVAL;
                return d.state<Chip>().change(k, [dir](Line& l) {
                    l.output = dir != 0;
                    if (dir != 0) l.driven = dir == 3;
                    return 0;
                });
            });
        line_attr(g, k, "value",
            [k](Device d, std::string& out) {
                out = d.state<Chip>().line(k).value() ? "1\n" : "0\n";
                return 0;
            },
            [k](Device d, std::string_view in) {
                long v;
                if (parse_long(in, std::numeric_limits<long>::min(), std::numeric_limits<long>::max(), &v) != 0)
                    return -EINVAL;
                return d.state<Chip>().change(k, [v](Line& l) {
                    if (!l.output) return -EPERM;
                    l.driven = v != 0;
                    return 0;
                });
            });
        line_attr(g, k, "edge",
            [k](Device d, std::string& out) {
                out = std::string(kEdges[d.state<Chip>().line(k).edge]) + "\n";
                return 0;
            },
            [k](Device d, std::string_view in) {
                int e = parse_choice(in, kEdges);
                if (e < 0) return -EINVAL;
                return d.state<Chip>().change(k, [e](Line& l) {
                    l.edge = static_cast<Edge>(e);
                    return 0;
                });
            });
        line_attr(g, k, "pull",
            [k](Device d, std::string& out) {
                out = std::string(kPulls[d.state<Chip>().line(k).pull_up]) + "\n";
                return 0;
            },
            [k](Device d, std::string_view in) {
                int p = parse_choice(in, kPulls);
                if (p < 0) return -EINVAL;
                return d.state<Chip>().change(k, [p](Line& l) {
                    l.pull_up = p == 1;
                    return 0;
                });
            });
        groups.push_back(&g);
    }
    return groups;
}

const std::vector<const Group*> line_group_list = make_lines();

Driver gpio_driver("gpio-sim", "platform", [](Driver& d) {
    d.attributes({&ngpio_attr}).groups(line_group_list).class_of("gpio").state<Chip>();
});

Module gpio_module("gpio-sim", "1.0", {&gpio_driver});

}  // namespace

DRIVERFS_PLUGIN(gpio_module)
