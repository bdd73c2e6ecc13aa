// example: a complete driverfs driver, the one driverfs-plugin(7) shows.
// A device whose name is hello<N> gets a read-write file `message` and a
// read-only file `writes` counting the messages accepted.
#include <mutex>
#include <string>

#include "driverfs/plugin.hpp"

namespace {

using namespace driverfs::sdk;

// One per bound device: made by probe, destroyed by remove.
struct Hello {
    explicit Hello(Device) {}
    std::mutex mu;
    std::string message = "hello, world\n";
    unsigned long writes = 0;
};

Attribute message("message", 0644,
    [](Device d, std::string& out) {
        Hello& h = d.state<Hello>();
        std::lock_guard lock(h.mu);
        out = h.message;
        return 0;
    },
    [](Device d, std::string_view in) {
        in = strip_newline(in);
        if (in.empty() || in.size() > 64) return -EINVAL;
        Hello& h = d.state<Hello>();
        std::lock_guard lock(h.mu);
        h.message = std::string(in) + "\n";
        ++h.writes;
        return 0;
    });

Attribute writes("writes", 0444, [](Device d, std::string& out) {
    Hello& h = d.state<Hello>();
    std::lock_guard lock(h.mu);
    out = std::to_string(h.writes) + "\n";
    return 0;
});

Driver hello("hello", "platform", [](Driver& d) {
    d.attributes({&message, &writes}).state<Hello>();
});

Module example("example", "1.0", {&hello});

}  // namespace

DRIVERFS_PLUGIN(example)
