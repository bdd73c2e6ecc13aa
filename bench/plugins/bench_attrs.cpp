// Benchmark plugin: driver bench_attrs binds bench_attrs<N> devices and gives
// each a cacheable read-only attribute `cached` holding the same 4 bytes as
// baseline_fs's file ("255\n"), so fuse_compare.sh can set page-cache reads
// against direct ones.
#include "driverfs/plugin.hpp"

namespace {

using namespace driverfs::sdk;

Attribute cached("cached", 0444, [](Device, std::string& out) {
    out = "255\n";
    return 0;
});

Driver bench_attrs("bench_attrs", "platform", [](Driver& d) { d.attributes({&cached.cacheable()}); });

Module module("bench_attrs", "1.0", {&bench_attrs});

}  // namespace

DRIVERFS_PLUGIN(module)
