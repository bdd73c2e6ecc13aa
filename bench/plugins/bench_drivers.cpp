// Benchmark plugin: registers DRIVERFS_BENCH_DRIVERS (default 1000) platform
// drivers drv0..drvN-1; driver K binds devices named "devK.<i>" (the platform
// rule strips the instance number). Trivial suspend/resume for the power walk.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "driverfs/plugin.h"

namespace {

int noop(dfs_device*) { return 0; }

struct Registry {
    std::vector<std::string> names;
    std::vector<dfs_driver> drivers;
};
Registry* registry;

int bench_init(dfs_plugin* self, const dfs_host* host) {
    long n = 1000;
    if (const char* env = std::getenv("DRIVERFS_BENCH_DRIVERS")) n = std::strtol(env, nullptr, 10);
    if (n < 1 || n > 100000) return -22;
    registry = new Registry;
    registry->names.reserve(static_cast<size_t>(n));
    registry->drivers.resize(static_cast<size_t>(n));  // never reallocated: the host keeps pointers
    for (long k = 0; k < n; ++k) {
        registry->names.push_back("dev" + std::to_string(k));
        dfs_driver& d = registry->drivers[static_cast<size_t>(k)];
        d = dfs_driver{};
        d.size = sizeof(dfs_driver);
        d.version = DRIVERFS_ABI_VERSION;
        d.name = registry->names.back().c_str();
        d.bus = "platform";
        d.suspend = noop;
        d.resume = noop;
        if (int rc = host->register_driver(self, &d)) return rc;
    }
    return 0;
}

void bench_exit(dfs_plugin*) {
    delete registry;
    registry = nullptr;
}

const dfs_plugin_desc desc = {sizeof(dfs_plugin_desc), DRIVERFS_ABI_VERSION, "bench_drivers", "1.0", bench_init,
                              bench_exit};

}  // namespace

DRIVERFS_PLUGIN(desc)
