// The core object: the fixed top of the tree, buses and their files.
#include "driverfs/core.hpp"

#include <sstream>

#include "core_attr.hpp"
#include "driverfs/log.hpp"

namespace driverfs {
namespace {

// Store callbacks return only an errno to the writer; keep the message for
// the person reading the log.
Status logged(Status s, std::string_view what) {
    if (!s) log(LogLevel::err, std::string(what) + ": " + s.error().message);
    return s;
}

bool valid_object_name(std::string_view s) {
    if (s.empty() || s.size() > 64 || s == "." || s == "..") return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':'))
            return false;
    return true;
}

std::vector<std::string> split_words(std::string_view s) {
    std::vector<std::string> out;
    std::istringstream in{std::string(s)};
    for (std::string w; in >> w;) out.push_back(std::move(w));
    return out;
}

}  // namespace

Core::Core(CoreOptions options) : options_(std::move(options)) {
    build_fixed_tree();
    add_bus("platform", platform_match);
}

Core::~Core() { shutdown(); }

void Core::build_fixed_tree() {
    NodePtr root = tree_.root();
    bus_dir_ = tree_.add_dir(root, "bus").value();
    devices_dir_ = tree_.add_dir(root, "devices").value();
    class_dir_ = tree_.add_dir(root, "class").value();
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

Status Core::add_bus(const std::string& name, Bus::MatchFn match) {
    std::lock_guard lock(model_mu_);
    if (buses_.count(name)) return Error::of(EEXIST, "bus " + name + " already exists");
    auto bus = std::make_unique<Bus>(name, std::move(match));
    Bus& b = *bus;
    buses_.emplace(name, std::move(bus));
    add_bus_files(b);
    return {};
}

void Core::add_bus_files(Bus& bus) {
    bus.dir = tree_.add_dir(bus_dir_, bus.name()).value();
    bus.devices_dir = tree_.add_dir(bus.dir, "devices").value();
    bus.drivers_dir = tree_.add_dir(bus.dir, "drivers").value();
    tree_.ensure_dir(devices_dir_, bus.name());
    const std::string bus_name = bus.name();
    tree_.add_attr(bus.dir, "new_device", 0200,
                   std::make_unique<CoreAttr>(nullptr, [this, bus_name](std::string_view data) -> Status {
                       std::vector<std::string> words = split_words(data);
                       if (words.empty())
                           return logged(Error::of(EINVAL, "write NAME [KEY=VALUE ...]"), "new_device");
                       std::map<std::string, std::string> props;
                       for (size_t i = 1; i < words.size(); ++i) {
                           size_t eq = words[i].find('=');
                           if (eq == 0 || eq == std::string::npos)
                               return logged(Error::of(EINVAL, "'" + words[i] + "' is not KEY=VALUE"), "new_device");
                           props[words[i].substr(0, eq)] = words[i].substr(eq + 1);
                       }
                       return logged(add_device(bus_name, words[0], std::move(props)), "new_device");
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
                       return {};
                   }));
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

void Core::add_device_files(const DevicePtr& dev) {
    // The node holds the device weakly: the device owns its directory.
    std::weak_ptr<Device> weak = dev;
    tree_.add_attr(dev->dir, "driver_override", 0644,
                   std::make_unique<CoreAttr>(
                       [this, weak]() -> Result<std::string> {
                           DevicePtr d = weak.lock();
                           if (!d) return Error::of(ENODEV, "device removed");
                           std::lock_guard lock(model_mu_);
                           return (d->driver_override.empty() ? std::string("(null)") : d->driver_override) + "\n";
                       },
                       [this, weak](std::string_view data) -> Status {
                           DevicePtr d = weak.lock();
                           if (!d) return Error::of(ENODEV, "device removed");
                           std::string_view name = chomp(data);
                           if (!name.empty() && !valid_object_name(name))
                               return logged(Error::of(EINVAL, "driver_override: '" + std::string(name) +
                                                                   "' is not a driver name"),
                                             "driver_override");
                           // As in Linux: takes effect at the next probe; no rebind now.
                           std::lock_guard lock(model_mu_);
                           d->driver_override = std::string(name);
                           return {};
                       }));
    tree_.add_attr(dev->dir, "uevent", 0444,
                   std::make_unique<CoreAttr>(
                       [this, weak]() -> Result<std::string> {
                           DevicePtr d = weak.lock();
                           if (!d) return Error::of(ENODEV, "device removed");
                           std::string out;
                           {
                               std::lock_guard lock(model_mu_);
                               if (d->driver) out += "DRIVER=" + d->driver->name() + "\n";
                           }
                           out += "MODALIAS=" + d->bus().name() + ":" + d->name() + "\n";
                           for (const auto& [k, v] : d->properties()) {
                               std::string key;
                               for (char c : k) key += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                               out += key + "=" + v + "\n";
                           }
                           return out;
                       },
                       nullptr));
}

Bus* Core::find_bus(const std::string& name) {
    std::lock_guard lock(model_mu_);
    auto it = buses_.find(name);
    return it == buses_.end() ? nullptr : it->second.get();
}

DevicePtr Core::find_device(Bus& bus, const std::string& name) {
    std::lock_guard lock(model_mu_);
    for (const DevicePtr& d : bus.devices)
        if (d->name() == name) return d;
    return nullptr;
}

Status Core::add_device(const std::string& bus_name, const std::string& name,
                        std::map<std::string, std::string> properties) {
    Bus* bus = find_bus(bus_name);
    if (!bus) return Error::of(ENOENT, "no bus named " + bus_name);
    if (!valid_object_name(name))
        return Error::of(EINVAL, "'" + name + "' is not a device name (1-64 of A-Z a-z 0-9 _ . : -)");
    auto dev = std::make_shared<Device>(name, *bus, std::move(properties));
    {
        std::lock_guard lock(model_mu_);
        for (const DevicePtr& d : bus->devices)
            if (d->name() == name) return Error::of(EEXIST, "device " + name + " already exists on " + bus_name);
        NodePtr parent = tree_.resolve("devices/" + bus_name);
        Result<NodePtr> dir = tree_.add_dir(parent, name);
        if (!dir) return dir.error();
        dev->dir = dir.value();
        dev->tree = &tree_;
        bus->devices.push_back(dev);
        tree_.add_symlink(bus->devices_dir, name,
                          relative_link("bus/" + bus_name + "/devices", "devices/" + bus_name + "/" + name));
        tree_.add_symlink(dev->dir, "subsystem", relative_link(tree_.path_of(*dev->dir), "bus/" + bus_name));
        add_device_files(dev);
    }
    log(LogLevel::info, "device " + name + " added to " + bus_name);
    if (bus->autoprobe) match_device(dev);
    return {};
}

Status Core::remove_device(const std::string& bus_name, const std::string& name) {
    Bus* bus = find_bus(bus_name);
    if (!bus) return Error::of(ENOENT, "no bus named " + bus_name);
    DevicePtr dev = find_device(*bus, name);
    if (!dev) return Error::of(ENODEV, "no device '" + name + "' on bus " + bus_name);
    std::lock_guard dev_lock(dev->lock);
    if (dev->dead) return Error::of(ENODEV, "device " + name + " is already being removed");
    Status unbound = unbind_locked(*dev, std::chrono::steady_clock::now() + options_.unload_timeout, false);
    // ENODEV: its driver is being unloaded, and the unloader unbinds it.
    if (!unbound && unbound.error().code != ENODEV) return unbound;
    {
        std::lock_guard lock(model_mu_);
        dev->dead = true;
        auto& v = bus->devices;
        v.erase(std::remove(v.begin(), v.end(), dev), v.end());
    }
    if (NodePtr link = tree_.resolve("bus/" + bus_name + "/devices/" + name)) tree_.remove(link);
    tree_.remove(dev->dir);
    log(LogLevel::info, "device " + name + " removed from " + bus_name);
    return {};
}

}  // namespace driverfs
