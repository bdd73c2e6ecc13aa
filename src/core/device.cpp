// Devices: creation, removal, their standard files and their uevents.
#include <algorithm>

#include "core_attr.hpp"
#include "core/device_model.hpp"
#include "core/log.hpp"
#include "declared.hpp"
#include "core/validate.hpp"

namespace driverfs {

std::string strip_instance_number(const std::string& name) {
    size_t end = name.size();
    while (end > 0 && std::isdigit(static_cast<unsigned char>(name[end - 1]))) --end;
    if (end < name.size() && end > 0 && (name[end - 1] == '.' || name[end - 1] == '-' || name[end - 1] == '_'))
        --end;
    return end == 0 ? name : name.substr(0, end);
}

Device::Device(std::string name, Bus& bus, std::map<std::string, std::string> props, std::string match_key)
    : name_(std::move(name)), bus_(bus.shared_from_this()), props_(std::move(props)),
      match_key_(!match_key.empty()           ? std::move(match_key)
                 : props_.count("compatible") ? props_.at("compatible")
                                              : strip_instance_number(name_)) {}

DevicePtr DeviceModel::find_device(Bus& bus, const std::string& name) {
    std::lock_guard lock(model_mu_);
    auto [first, last] = devices_by_name_.equal_range(name);
    for (auto it = first; it != last; ++it)
        if (&it->second->bus() == &bus) return it->second;
    return nullptr;
}

DevicePtr DeviceModel::find_device(const std::string& name) {
    std::lock_guard lock(model_mu_);
    auto it = devices_by_name_.find(name);
    return it == devices_by_name_.end() ? nullptr : it->second;
}

void DeviceModel::emit(const std::string& action, const Device& dev, std::map<std::string, std::string> extra) {
    Uevent ev;
    ev.action = action;
    ev.devpath = dev.path;
    ev.subsystem = dev.bus().name();
    ev.env = dev.properties();
    {
        std::lock_guard lock(model_mu_);
        if (dev.driver) ev.env["DRIVER"] = dev.driver->name();
    }
    if (dev.major != 0) {
        ev.env["MAJOR"] = std::to_string(dev.major);
        ev.env["MINOR"] = std::to_string(dev.minor);
        ev.env["DEVNAME"] = dev.name();
    }
    if (dev.declared) declared_event_env(dev, ev.env);
    for (auto& [k, v] : extra) ev.env[k] = std::move(v);
    events_.publish(std::move(ev));
}

Status DeviceModel::add_device(const std::string& bus_name, const std::string& name,
                               std::map<std::string, std::string> properties, const std::string& parent_name) {
    Result<DevicePtr> dev = register_device(bus_name, name, std::move(properties), parent_name);
    if (!dev) return dev.error();
    if (dev.value()->bus().autoprobe) match_device(dev.value());
    retry_deferred();
    return {};
}

// Why a device can never land on a bus or parent that is going away, nor
// keep nodes under a removed directory: the bus is looked up, checked and
// joined in one model_mu_ section, and remove_bus() marks the bus `removed`
// and snapshots its devices in one model_mu_ section too. So a device either
// joined before the snapshot (and remove_bus removes it like the others) or
// sees `removed` and is refused. remove_device() does the same for a parent
// with `removing`. The directories remove_bus/remove_device take away are
// removed only after those marks, and this function creates its nodes
// without leaving the section, so nothing it adds can be under a directory
// that is already gone: its tree insertions fail only on a name clash, which
// is an error value here, never an exception.
Result<DevicePtr> DeviceModel::register_device(const std::string& bus_name, const std::string& name,
                                               std::map<std::string, std::string> properties,
                                               const std::string& parent_name) {
    if (Status s = check_object_name("device", name); !s) return s.error();
    for (const auto& [key, value] : properties)
        if (Status s = check_property(key, value); !s) return s.error();
    DevicePtr dev;
    {
        std::lock_guard lock(model_mu_);
        auto bus_it = buses_.find(bus_name);
        if (bus_it == buses_.end() || bus_it->second->removed) return Error::of(ENOENT, "no bus named " + bus_name);
        Bus& bus = *bus_it->second;
        if (devices_by_name_.count(name)) return Error::of(EEXIST, "a device named " + name + " already exists");
        dev = std::make_shared<Device>(name, bus, std::move(properties));
        if (!bus.devices_root) {  // a bus a description made: devices/<bus> on first use
            Result<NodePtr> root = tree_.ensure_dir(devices_dir_, bus_name);
            if (!root) return root.error();
            bus.devices_root = root.value();
        }
        NodePtr where = bus.devices_root;
        if (!parent_name.empty()) {
            auto it = devices_by_name_.find(parent_name);
            if (it == devices_by_name_.end() || it->second->dead || it->second->removing)
                return Error::of(ENODEV, "no parent device named " + parent_name);
            dev->parent = it->second;
            where = it->second->dir;
        }
        Result<NodePtr> dir = tree_.add_dir(where, name);
        if (!dir) return dir.error();
        dev->dir = dir.value();
        dev->path = tree_.path_of(*dev->dir);
        const std::string& path = dev->path;
        Result<NodePtr> link = tree_.add_symlink(bus.devices_dir, name, relative_link("bus/" + bus_name + "/devices", path));
        if (link) tree_.add_symlink(dev->dir, "subsystem", relative_link(path, "bus/" + bus_name));
        Status files = link ? add_device_files(dev) : Status(link.error());
        if (!files) {
            if (link) tree_.remove(link.value());
            tree_.remove(dev->dir);
            return Error::of(files.error().code, "device " + name + ": " + files.error().message);
        }
        dev->tree = &tree_;
        dev->model = this;
        bus.add_device(dev);
        dev->all_pos = all_devices_.insert(all_devices_.end(), dev);
        if (dev->parent) ++dev->parent->child_count;
        devices_by_name_.emplace(name, dev);
    }
    if (log_enabled(LogLevel::info)) log(LogLevel::info, "device " + name + " added to " + bus_name);
    emit("add", *dev);
    return dev;
}

Status DeviceModel::remove_device(const std::string& bus_name, const std::string& name) {
    std::shared_ptr<Bus> bus = find_bus(bus_name);
    if (!bus) return Error::of(ENOENT, "no bus named " + bus_name);
    DevicePtr dev = find_device(*bus, name);
    if (!dev) return Error::of(ENODEV, "no device '" + name + "' on bus " + bus_name);
    return remove_device(dev);
}

Status DeviceModel::remove_device(const std::string& name) {
    DevicePtr dev = find_device(name);
    if (!dev) return Error::of(ENODEV, "no device named '" + name + "'");
    return remove_device(dev);
}

Status DeviceModel::remove_device(const DevicePtr& dev) {
    // A declarative device goes with what the description made of it (and
    // the declarative devices below it): remove_declared_device comes back
    // here for its model part once it has marked it `removing`.
    if (dev->declared) {
        bool tearing;
        {
            std::lock_guard lock(model_mu_);
            tearing = dev->declared->removing;
        }
        if (!tearing) return remove_declared_device(dev->path);
    }
    // Children first, newest first, as Linux tears down a subtree.
    // `removing`, set in the same section as the snapshot, keeps a new
    // child from joining after it (see register_device).
    std::vector<DevicePtr> children;
    {
        std::lock_guard lock(model_mu_);
        dev->removing = true;
        // A leaf, the common case, costs no walk of every device.
        if (dev->child_count > 0)
            for (auto it = all_devices_.rbegin(); it != all_devices_.rend(); ++it)
                if ((*it)->parent == dev) children.push_back(*it);
    }
    auto keep = [&](Status s) {
        std::lock_guard lock(model_mu_);
        dev->removing = false;
        return s;
    };
    for (const DevicePtr& child : children)
        if (Status s = remove_device(child); !s) return keep(s);

    std::lock_guard dev_lock(dev->lock);
    if (dev->dead) return Error::of(ENODEV, "device " + dev->name() + " is already being removed");
    Status unbound = unbind_locked(*dev, std::chrono::steady_clock::now() + unload_timeout_, false);
    // ENODEV: its driver is being unloaded, and the unloader unbinds it.
    if (!unbound && unbound.error().code != ENODEV) return keep(unbound);
    Bus& bus = dev->bus();
    {
        std::lock_guard lock(model_mu_);
        dev->dead = true;
        bus.remove_device(dev);
        all_devices_.erase(dev->all_pos);
        if (dev->parent) --dev->parent->child_count;
        // Only if it is this device's: a declarative device may share its
        // name with a device of another bus (declared_device.cpp).
        auto [first, last] = devices_by_name_.equal_range(dev->name());
        for (auto it = first; it != last; ++it)
            if (it->second == dev) {
                devices_by_name_.erase(it);
                break;
            }
    }
    emit("remove", *dev);
    if (NodePtr link = tree_.resolve("bus/" + bus.name() + "/devices/" + dev->name())) tree_.remove(link);
    tree_.remove(dev->dir);
    if (log_enabled(LogLevel::info)) log(LogLevel::info, "device " + dev->name() + " removed from " + bus.name());
    return {};
}

Status DeviceModel::uevent_write(Device& dev, std::string_view data) {
    std::vector<std::string> words = split_words(data);
    static const char* const kActions[] = {"add", "remove", "change", "move", "online", "offline", "bind", "unbind"};
    if (words.empty() ||
        std::none_of(std::begin(kActions), std::end(kActions), [&](const char* a) { return words[0] == a; }))
        return logged(Error::of(EINVAL, "write add, remove, change, ... optionally followed by a UUID and KEY=VALUE pairs"),
                      "uevent");
    std::map<std::string, std::string> extra;
    size_t first = 1;
    if (words.size() > 1 && words[1].find('=') == std::string::npos) {
        extra["SYNTH_UUID"] = words[1];
        first = 2;
    } else {
        extra["SYNTH_UUID"] = "0";
    }
    Result<std::map<std::string, std::string>> props = parse_properties(words, first);
    if (!props) return logged(props.error(), "uevent");
    for (auto& [k, v] : props.value()) extra["SYNTH_ARG_" + k] = v;
    emit(words[0], dev, std::move(extra));
    return {};
}

std::vector<DeviceInfo> DeviceModel::devices() const {
    std::lock_guard lock(model_mu_);
    std::vector<DeviceInfo> out;
    for (const DevicePtr& d : all_devices_) {
        out.push_back({d->name(), d->bus().name(), d->parent ? d->parent->name() : "",
                       d->driver ? d->driver->name() : d->static_driver, d->path, d->suspended,
                       d->properties()});
    }
    return out;
}

Status DeviceModel::add_device_files(const DevicePtr& dev) {
    // The nodes hold the device weakly: the device owns its directory.
    std::weak_ptr<Device> weak = dev;
    // A class device is never bound; a declarative device's driver_override
    // would clash with the recorded file of that name.
    if (!dev->is_class_device() && !dev->declared) {
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
                               d->bus().set_override(*d, std::string(name));
                               return {};
                           }));
    }
    tree_.add_attr(dev->dir, "uevent", 0644,
                   std::make_unique<CoreAttr>(
                       [this, weak]() -> Result<std::string> {
                           DevicePtr d = weak.lock();
                           if (!d) return Error::of(ENODEV, "device removed");
                           if (d->declared) return declared_uevent(*d);
                           std::string out;
                           if (d->is_class_device()) {
                               // As Linux: a class device's own uevent has its number, no driver.
                               if (d->major != 0)
                                   out += "MAJOR=" + std::to_string(d->major) + "\nMINOR=" + std::to_string(d->minor) +
                                          "\nDEVNAME=" + d->name() + "\n";
                           } else {
                               {
                                   std::lock_guard lock(model_mu_);
                                   if (d->driver) out += "DRIVER=" + d->driver->name() + "\n";
                               }
                               out += "MODALIAS=" + d->bus().name() + ":" + d->name() + "\n";
                           }
                           for (const auto& [k, v] : d->properties()) {
                               std::string key;
                               for (char c : k) key += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                               out += key + "=" + v + "\n";
                           }
                           return out;
                       },
                       // As Linux's uevent_store: ACTION [UUID [KEY=VALUE ...]]
                       // emits a synthetic event and changes nothing else.
                       [this, weak](std::string_view data) -> Status {
                           DevicePtr d = weak.lock();
                           if (!d) return Error::of(ENODEV, "device removed");
                           return uevent_write(*d, data);
                       }));
    Result<NodePtr> power = tree_.add_dir(dev->dir, "power");
    if (!power) return power.error();
    // A declarative device is a recording of Linux, which has no
    // power/state: its power/ holds what was recorded (control,
    // runtime_status, ...), so udevadm sees what it saw on the machine.
    if (dev->declared) return {};
    tree_.add_attr(power.value(), "state", 0444,
                   std::make_unique<CoreAttr>(
                       [this, weak]() -> Result<std::string> {
                           DevicePtr d = weak.lock();
                           if (!d) return Error::of(ENODEV, "device removed");
                           std::lock_guard lock(model_mu_);
                           return std::string(d->suspended ? "suspended\n" : "active\n");
                       },
                       nullptr));
    return {};
}

}  // namespace driverfs
