// Plugin lifecycle, module/: each module's record and directory, its drivers' statistics, the module lists.
#include "core_attr.hpp"
#include "core/log.hpp"
#include "core/plugin_lifecycle.hpp"

namespace driverfs {

void PluginLifecycle::publish_module(const std::shared_ptr<Plugin>& plugin) {
    const std::string name = plugin->name();
    bool fresh;
    {
        std::lock_guard lock(records_mu_);
        auto [it, inserted] = modules_.try_emplace(name);
        fresh = inserted || !it->second.dir;
        ModuleRecord& rec = it->second;
        rec.name = name;
        rec.version = plugin->desc().version ? plugin->desc().version : "";
        rec.source = plugin->source();
        rec.generation++;
        rec.state = StubState::live;
        rec.plugin = plugin;
    }
    if (fresh) make_module_dir(name);
    NodePtr dir;
    {
        std::lock_guard lock(records_mu_);
        dir = modules_[name].dir;
    }
    if (!dir) return;
    for (const DriverPtr& drv : plugin->drivers) add_driver_stats(dir, drv);
}

void PluginLifecycle::make_module_dir(const std::string& name) {
    Result<NodePtr> made = tree_.add_dir(module_dir_, name);
    if (!made) {
        // The plugin works without its module/ directory; say why it is missing.
        log(LogLevel::err, "module/" + name + " not created: " + made.error().message);
        return;
    }
    NodePtr dir = made.value();
    auto field = [this, name](std::function<std::string(const ModuleRecord&)> fmt) {
        return std::make_unique<CoreAttr>(
            [this, name, fmt]() -> Result<std::string> {
                std::lock_guard lock(records_mu_);
                auto it = modules_.find(name);
                if (it == modules_.end()) return Error::of(ENODEV, "module " + name + " was purged");
                return fmt(it->second) + "\n";
            },
            nullptr);
    };
    tree_.add_attr(dir, "state", 0444, field([](const ModuleRecord& r) { return std::string(to_string(r.state)); }));
    tree_.add_attr(dir, "generation", 0444, field([](const ModuleRecord& r) { return std::to_string(r.generation); }));
    tree_.add_attr(dir, "version", 0444, field([](const ModuleRecord& r) { return r.version; }));
    tree_.add_attr(dir, "srcpath", 0444, field([](const ModuleRecord& r) { return r.source; }));
    tree_.add_attr(dir, "refcnt", 0444, field([](const ModuleRecord& r) {
                       int64_t n = 0;
                       if (r.plugin)
                           for (const DriverPtr& d : r.plugin->drivers) n += d->stub().in_flight();
                       return std::to_string(n);
                   }));
    std::lock_guard lock(records_mu_);
    modules_[name].dir = dir;
}

// module/<plugin>/drivers/<driver>/: the driver's statistics, answered by the
// daemon from its DriverStats (a read here is no call into the driver, so it
// counts nowhere). The files hold the Driver weakly: they go with the
// registration (remove_driver), and a read racing that finds ENODEV.
void PluginLifecycle::add_driver_stats(const NodePtr& module_dir, const DriverPtr& drv) {
    Result<NodePtr> drivers = tree_.ensure_dir(module_dir, "drivers");
    Result<NodePtr> made = drivers ? tree_.add_dir(drivers.value(), drv->name()) : drivers;
    if (!made) {
        log(LogLevel::err, "module/.../drivers/" + drv->name() + " not created: " + made.error().message);
        return;
    }
    const std::weak_ptr<Driver> weak = drv;
    auto field = [weak](std::string (*fmt)(const DriverStatsSnapshot&)) {
        return std::make_unique<CoreAttr>(
            [weak, fmt]() -> Result<std::string> {
                DriverPtr d = weak.lock();
                if (!d) return Error::of(ENODEV, "the driver is gone");
                return fmt(d->stats().snapshot()) + "\n";
            },
            nullptr);
    };
    NodePtr dir = made.value();
    tree_.add_attr(dir, "calls", 0444, field([](const DriverStatsSnapshot& s) { return std::to_string(s.calls); }));
    tree_.add_attr(dir, "errors", 0444, field([](const DriverStatsSnapshot& s) { return std::to_string(s.errors); }));
    tree_.add_attr(dir, "in_flight", 0444,
                   field([](const DriverStatsSnapshot& s) { return std::to_string(s.in_flight); }));
    tree_.add_attr(dir, "refused", 0444, field([](const DriverStatsSnapshot& s) { return std::to_string(s.refused); }));
    tree_.add_attr(dir, "slowest", 0444, field([](const DriverStatsSnapshot& s) {
                       if (s.slowest.empty()) return std::string("none");
                       return s.slowest + " " + std::to_string(s.slowest_us) + " us";
                   }));
    drv->stats_dir = dir;
}

std::vector<ModuleInfo> PluginLifecycle::modules() const {
    std::lock_guard lock(records_mu_);
    std::vector<ModuleInfo> out;
    for (const auto& [name, rec] : modules_) {
        ModuleInfo info{name, rec.version, rec.source, to_string(rec.state), rec.generation, 0, {}};
        if (rec.plugin)
            for (const DriverPtr& d : rec.plugin->drivers) {
                info.refcnt += d->stub().in_flight();
                info.drivers.push_back(d->name());
            }
        out.push_back(std::move(info));
    }
    return out;
}

std::vector<DriverStatsInfo> PluginLifecycle::driver_stats() const {
    std::lock_guard lock(records_mu_);
    std::vector<DriverStatsInfo> out;
    for (const auto& [name, rec] : modules_)
        if (rec.plugin)
            for (const DriverPtr& d : rec.plugin->drivers) out.push_back({name, d->name(), d->stats().snapshot()});
    return out;
}

size_t PluginLifecycle::plugins_loaded() const {
    std::lock_guard lock(records_mu_);
    size_t n = 0;
    for (const auto& [name, rec] : modules_) n += rec.plugin != nullptr;
    return n;
}

}  // namespace driverfs
