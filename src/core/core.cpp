// The core object: the fixed top of the tree, buses and their files.
#include "core/core.hpp"

#include "core_attr.hpp"
#include "declared.hpp"
#include "core/log.hpp"
#include "core/validate.hpp"

namespace driverfs {

Core::Core(CoreOptions options) : options_(std::move(options)) {
    build_fixed_tree();
    add_bus("platform", nullptr);  // the platform rule; cannot fail: the first bus
}

Core::~Core() {
    shutdown();
    // A bus lists its devices and drivers and they hold it: let go of the
    // lists, or the buses still registered (platform's, at least) would
    // keep themselves and their devices alive past the core.
    std::lock_guard lock(model_mu_);
    for (auto& [name, bus] : buses_) bus->forget_members();
    for (auto& [name, cls] : classes_) cls->forget_members();
    // A declarative device and its entry hold each other.
    for (auto& [path, entry] : declared_) entry->dev.reset();
}

void Core::build_fixed_tree() {
    NodePtr root = tree_.root();
    bus_dir_ = tree_.add_dir(root, "bus").value();
    devices_dir_ = tree_.add_dir(root, "devices").value();
    class_dir_ = tree_.add_dir(root, "class").value();
    NodePtr dev = tree_.add_dir(root, "dev").value();
    dev_block_dir_ = tree_.add_dir(dev, "block").value();
    dev_char_dir_ = tree_.add_dir(dev, "char").value();
    module_dir_ = tree_.add_dir(root, "module").value();
    control_dir_ = tree_.add_dir(root, "control").value();
    tree_.add_attr(control_dir_, "load", 0200,
                   std::make_unique<CoreAttr>(nullptr, [this](std::string_view data) -> Status {
                       Result<std::string> r = load_plugin(std::string(chomp(data)));
                       if (!r) return logged(r.error(), "control/load");
                       return {};
                   }));
    tree_.add_attr(control_dir_, "unload", 0200,
                   std::make_unique<CoreAttr>(nullptr, [this](std::string_view data) {
                       return logged(unload_plugin(std::string(chomp(data))), "control/unload");
                   }));
}

Result<Bus*> Core::add_bus(const std::string& name, Bus::MatchFn match, Plugin* owner) {
    std::lock_guard lock(model_mu_);
    if (buses_.count(name)) return Error::of(EEXIST, "bus " + name + " already exists");
    auto bus = std::make_shared<Bus>(name, std::move(match));
    bus->owner = owner;
    Bus* b = bus.get();
    if (Status s = add_bus_files(*b); !s) return Error::of(s.error().code, "bus " + name + ": " + s.error().message);
    buses_.emplace(name, std::move(bus));
    return b;
}

void Core::remove_bus(const std::string& name) {
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

Status Core::add_bus_files(Bus& bus, bool with_root) {
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

void Core::add_driver_files(Driver& drv) {
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

std::shared_ptr<Bus> Core::find_bus(const std::string& name) {
    std::lock_guard lock(model_mu_);
    auto it = buses_.find(name);
    return it == buses_.end() ? nullptr : it->second;
}

CoreStats Core::stats() const {
    CoreStats st{};
    st.live_stubs = stubs_.live_count();
    st.inactive_stubs = stubs_.inactive_count();
    st.nodes = tree_.node_count();
    st.last_event = events_.last_seqnum();
    std::lock_guard lock(model_mu_);
    st.devices = all_devices_.size();
    for (const DevicePtr& d : all_devices_) st.bound_devices += d->driver != nullptr;
    for (const auto& [name, rec] : modules_) st.plugins_loaded += rec.plugin != nullptr;
    st.buses = buses_.size();
    return st;
}

}  // namespace driverfs
