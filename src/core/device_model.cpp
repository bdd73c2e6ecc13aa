// The device model's own object: its buses and their files, and the drivers the plugin lifecycle hands it.
#include "core/device_model.hpp"

#include "core_attr.hpp"
#include "declared.hpp"
#include "core/log.hpp"
#include "core/validate.hpp"

namespace driverfs {

DeviceModel::DeviceModel(NodeTree& tree, EventQueue& events, std::chrono::milliseconds unload_timeout, ModelDirs dirs)
    : tree_(tree), events_(events), unload_timeout_(unload_timeout), bus_dir_(std::move(dirs.bus)),
      devices_dir_(std::move(dirs.devices)), class_dir_(std::move(dirs.cls)), dev_char_dir_(std::move(dirs.dev_char)),
      dev_block_dir_(std::move(dirs.dev_block)) {}

DeviceModel::~DeviceModel() {
    // A bus lists its devices and drivers and they hold it: let go of the
    // lists, or the buses still registered (platform's, at least) would
    // keep themselves and their devices alive past the core.
    std::lock_guard lock(model_mu_);
    for (auto& [name, bus] : buses_) bus->forget_members();
    for (auto& [name, cls] : classes_) cls->forget_members();
    // A declarative device and its entry hold each other.
    for (auto& [path, entry] : declared_) entry->dev.reset();
}

Result<Bus*> DeviceModel::add_bus(const std::string& name, Bus::MatchFn match, Plugin* owner) {
    std::lock_guard lock(model_mu_);
    if (buses_.count(name)) return Error::of(EEXIST, "bus " + name + " already exists");
    auto bus = std::make_shared<Bus>(name, std::move(match));
    bus->owner = owner;
    Bus* b = bus.get();
    if (Status s = add_bus_files(*b); !s) return Error::of(s.error().code, "bus " + name + ": " + s.error().message);
    buses_.emplace(name, std::move(bus));
    return b;
}

void DeviceModel::remove_bus(const std::string& name) {
    std::shared_ptr<Bus> bus;
    std::vector<DevicePtr> devices;
    {
        // `removed` and the snapshot in one section: no device can join
        // after the snapshot (see register_device).
        std::lock_guard lock(model_mu_);
        auto it = buses_.find(name);
        if (it == buses_.end()) return;
        bus = it->second;
        bus->removed = true;
        devices.assign(bus->devices.rbegin(), bus->devices.rend());
    }
    for (const DevicePtr& dev : devices)
        if (Status s = remove_device(dev); !s) log(LogLevel::err, "removing bus " + name + ": " + s.error().message);
    tree_.remove(bus->dir);
    if (NodePtr d = tree_.resolve("devices/" + name)) tree_.remove(d);
    std::lock_guard lock(model_mu_);
    buses_.erase(name);
}

Status DeviceModel::add_bus_files(Bus& bus, bool with_root) {
    Result<NodePtr> dir = tree_.add_dir(bus_dir_, bus.name());
    if (!dir) return dir.error();
    bus.dir = dir.value();
    Result<NodePtr> devices = tree_.add_dir(bus.dir, "devices");
    Result<NodePtr> drivers = tree_.add_dir(bus.dir, "drivers");
    Result<NodePtr> root = with_root ? tree_.ensure_dir(devices_dir_, bus.name()) : Result<NodePtr>(NodePtr{});
    for (const Result<NodePtr>* made : {&devices, &drivers, &root})
        if (!*made) {
            tree_.remove(bus.dir);
            if (root && root.value()) tree_.remove(root.value());
            return made->error();
        }
    bus.devices_dir = devices.value();
    bus.drivers_dir = drivers.value();
    bus.devices_root = root.value();
    const std::string bus_name = bus.name();
    tree_.add_attr(bus.dir, "new_device", 0200,
                   std::make_unique<CoreAttr>(nullptr, [this, bus_name](std::string_view data) -> Status {
                       std::vector<std::string> words = split_words(data);
                       if (words.empty())
                           return logged(Error::of(EINVAL, "write NAME [KEY=VALUE ...]"), "new_device");
                       Result<std::map<std::string, std::string>> props = parse_properties(words, 1);
                       if (!props) return logged(props.error(), "new_device");
                       return logged(add_device(bus_name, words[0], std::move(props.value())), "new_device");
                   }));
    tree_.add_attr(bus.dir, "delete_device", 0200,
                   std::make_unique<CoreAttr>(nullptr, [this, bus_name](std::string_view data) {
                       return logged(remove_device(bus_name, std::string(chomp(data))), "delete_device");
                   }));
    Bus* b = &bus;
    tree_.add_attr(bus.dir, "drivers_autoprobe", 0644,
                   std::make_unique<CoreAttr>(
                       [b]() -> Result<std::string> { return std::string(b->autoprobe ? "1\n" : "0\n"); },
                       [b](std::string_view data) -> Status {
                           b->autoprobe = chomp(data) != "0";
                           return {};
                       }));
    tree_.add_attr(bus.dir, "drivers_probe", 0200,
                   std::make_unique<CoreAttr>(nullptr, [this, b](std::string_view data) -> Status {
                       DevicePtr dev = find_device(*b, std::string(chomp(data)));
                       if (!dev)
                           return logged(Error::of(ENODEV, "no device '" + std::string(chomp(data)) + "' on bus " +
                                                               b->name()),
                                         "drivers_probe");
                       match_device(dev);
                       retry_deferred();
                       return {};
                   }));
    return {};
}

void DeviceModel::add_driver_files(Driver& drv) {
    const std::string bus_name = drv.bus().name();
    const std::string drv_name = drv.name();
    tree_.add_attr(drv.dir, "bind", 0200,
                   std::make_unique<CoreAttr>(nullptr, [this, bus_name, drv_name](std::string_view data) {
                       return logged(bind(bus_name, drv_name, std::string(chomp(data))), "bind");
                   }));
    tree_.add_attr(drv.dir, "unbind", 0200,
                   std::make_unique<CoreAttr>(nullptr, [this, bus_name, drv_name](std::string_view data) {
                       return logged(unbind(bus_name, drv_name, std::string(chomp(data))), "unbind");
                   }));
}

std::shared_ptr<Bus> DeviceModel::find_bus(const std::string& name) {
    std::lock_guard lock(model_mu_);
    auto it = buses_.find(name);
    return it == buses_.end() ? nullptr : it->second;
}

Status DeviceModel::check_buses_unused(const Plugin& plugin) const {
    std::lock_guard lock(model_mu_);
    for (const auto& [bus_name, stub] : plugin.buses) {
        auto it = buses_.find(bus_name);
        if (it == buses_.end()) continue;
        for (const DriverPtr& d : it->second->drivers)
            if (&d->plugin() != &plugin)
                return Error::of(EBUSY, "plugin " + plugin.name() + " provides bus " + bus_name + ", used by driver " +
                                            d->name() + " of plugin " + d->plugin().name() + "; unload that first");
    }
    return {};
}

Status DeviceModel::register_driver(Plugin& plugin, const DriverPtr& drv, Bus& bus) {
    {
        // A plugin thread may already look for its driver (a parentless
        // class device's owner).
        std::lock_guard lock(model_mu_);
        plugin.drivers.push_back(drv);
    }
    // A plugin driver takes the place of a description's code-less
    // driver of the same name (declared_device.cpp).
    retire_static_driver(bus.name(), drv->name());
    Result<NodePtr> dir = tree_.add_dir(bus.drivers_dir, drv->name());
    if (!dir) return dir.error();
    drv->dir = dir.value();
    const std::string drv_path = "bus/" + bus.name() + "/drivers/" + drv->name();
    tree_.add_symlink(drv->dir, "module", relative_link(drv_path, "module/" + plugin.name()));
    add_driver_files(*drv);
    std::lock_guard lock(model_mu_);
    bus.add_driver(drv);
    return {};
}

void DeviceModel::remove_driver(Driver& drv) {
    {
        std::lock_guard lock(model_mu_);
        drv.bus().remove_driver(drv);
    }
    if (drv.dir) tree_.remove(drv.dir);
    if (drv.stats_dir) tree_.remove(drv.stats_dir);
}

void DeviceModel::unbind_drained(Driver& drv) {
    std::vector<DevicePtr> bound;
    {
        std::lock_guard lock(model_mu_);
        bound.assign(drv.bound.begin(), drv.bound.end());
    }
    for (const DevicePtr& dev : bound) {
        std::lock_guard dev_lock(dev->lock);
        Status s = unbind_locked(*dev, std::chrono::steady_clock::now() + unload_timeout_, true);
        if (!s) log(LogLevel::err, "unbinding " + dev->name() + ": " + s.error().message);
    }
}

void DeviceModel::abandon_driver(Driver& drv) {
    // This frees the core's side of each binding; the plugin's per-device
    // data goes with its code. No device lock: the stuck call may be a
    // probe holding one.
    std::vector<DevicePtr> bound;
    {
        std::lock_guard lock(model_mu_);
        bound.assign(drv.bound.begin(), drv.bound.end());
    }
    for (const DevicePtr& dev : bound) detach_binding(*dev);
    retire_virtual_class_devices(drv);
}

std::vector<DevicePtr> DeviceModel::devices_in_order() const {
    std::lock_guard lock(model_mu_);
    return {all_devices_.begin(), all_devices_.end()};
}

DeviceModel::PmView DeviceModel::pm_view(const Device& dev) const {
    std::lock_guard lock(model_mu_);
    return {dev.dead, dev.suspended, dev.driver};
}

void DeviceModel::set_suspended(Device& dev, bool suspended) {
    std::lock_guard lock(model_mu_);
    dev.suspended = suspended;
}

DeviceModel::Counts DeviceModel::counts() const {
    std::lock_guard lock(model_mu_);
    Counts c{all_devices_.size(), 0, buses_.size()};
    for (const DevicePtr& d : all_devices_) c.bound_devices += d->driver != nullptr;
    return c;
}

}  // namespace driverfs
