// Declarative devices: devices a description gives with their files, links and
// properties, served by the core itself (no plugin, nothing to unload).
//
// Locking. Core::declared_, every DeclaredEntry's mutable fields and the
// static drivers' directories are under Core::model_mu_, the lock of the
// model they extend: a declarative device joins its bus or class, the tree
// and declared_ in one model_mu_ section (as register_device does), so a
// reader of any of those sees all of it or none of it. The order is the
// core's: Device::lock, then model_mu_, then the tree's lock. Recorded
// values have their own leaf lock (DeclaredValue::mu). Nothing here calls a
// plugin with a lock held: matching and unbinding go through match_device
// and unbind_locked, which enter the plugin gate themselves.
#include <algorithm>

#include "core_attr.hpp"
#include "declared.hpp"
#include "core/core.hpp"
#include "core/log.hpp"

namespace driverfs {

namespace {

std::string devt_of(const DeclaredDevnum& n) { return std::to_string(n.major) + ":" + std::to_string(n.minor); }

}  // namespace

std::string Core::declared_uevent(const Device& dev) {
    // As Linux's dev_uevent: the device number first, then DEVTYPE and
    // DRIVER, then what the subsystem adds (here: the recorded properties).
    const DeclaredDevice& spec = dev.declared->spec;
    std::string out;
    if (spec.devnum) {
        out += "MAJOR=" + std::to_string(spec.devnum->major) + "\nMINOR=" + std::to_string(spec.devnum->minor) + "\n";
        out += "DEVNAME=" + (spec.devnode.empty() ? spec.name() : spec.devnode) + "\n";
    } else if (!spec.devnode.empty()) {
        out += "DEVNAME=" + spec.devnode + "\n";
    }
    for (const auto& [k, v] : spec.properties)
        if (k == "DEVTYPE") out += k + "=" + v + "\n";
    {
        std::lock_guard lock(model_mu_);
        if (dev.driver) out += "DRIVER=" + dev.driver->name() + "\n";
        else if (!dev.static_driver.empty()) out += "DRIVER=" + dev.static_driver + "\n";
    }
    for (const auto& [k, v] : spec.properties) {
        if (k == "DEVTYPE" || k == "DRIVER" || k == "MAJOR" || k == "MINOR" || (k == "DEVNAME" && out.find("DEVNAME=") != std::string::npos))
            continue;  // the core's own lines win
        out += k + "=" + v + "\n";
    }
    return out;
}

void Core::declared_event_env(const Device& dev, std::map<std::string, std::string>& env) {
    const DeclaredDevice& spec = dev.declared->spec;
    if (!spec.devnode.empty()) env["DEVNAME"] = spec.devnode;
    {
        std::lock_guard lock(model_mu_);
        if (!dev.driver && !dev.static_driver.empty()) env["DRIVER"] = dev.static_driver;
    }
    // What udev would add: into its database and its monitor messages, never
    // into the uevent file.
    for (const auto& [k, v] : spec.udev) env[k] = v;
    if (!spec.devlinks.empty()) {
        std::string links;
        for (const std::string& l : spec.devlinks) links += (links.empty() ? "" : " ") + l;
        env["DEVLINKS"] = links;
    }
}

Result<NodePtr> Core::static_driver_dir_locked(const std::string& bus_name, const std::string& driver) {
    const std::string key = bus_name + "/" + driver;
    if (auto it = static_drivers_.find(key); it != static_drivers_.end() && !it->second->removed()) return it->second;
    auto bus_it = buses_.find(bus_name);
    if (bus_it == buses_.end()) return Error::of(ENOENT, "no bus named " + bus_name);
    Result<NodePtr> dir = tree_.add_dir(bus_it->second->drivers_dir, driver);
    if (!dir) return Error::of(dir.error().code, "bus " + bus_name + " already has a driver named " + driver);
    // bind/unbind as Linux's: write a device name. A code-less driver takes
    // any declarative device of its bus that no driver has.
    tree_.add_attr(dir.value(), "bind", 0200,
                   std::make_unique<CoreAttr>(nullptr, [this, bus_name, driver](std::string_view data) {
                       return logged(static_bind(bus_name, driver, std::string(chomp(data))), "bind");
                   }));
    tree_.add_attr(dir.value(), "unbind", 0200,
                   std::make_unique<CoreAttr>(nullptr, [this, bus_name, driver](std::string_view data) {
                       return logged(static_unbind(bus_name, driver, std::string(chomp(data))), "unbind");
                   }));
    static_drivers_[key] = dir.value();
    return dir.value();
}

Status Core::static_bind_locked(DeclaredEntry& entry, const std::string& driver) {
    Device& dev = *entry.dev;
    Result<NodePtr> dir = static_driver_dir_locked(dev.bus().name(), driver);
    if (!dir) return dir.error();
    const std::string drv_path = "bus/" + dev.bus().name() + "/drivers/" + driver;
    Result<NodePtr> link = tree_.add_symlink(dev.dir, "driver", relative_link(dev.path, drv_path));
    if (!link) return Error::of(link.error().code, "driver: " + link.error().message);
    Result<NodePtr> back = tree_.add_symlink(dir.value(), dev.name(), relative_link(drv_path, dev.path));
    if (!back) {
        tree_.remove(link.value());
        return Error::of(back.error().code, "driver: " + back.error().message);
    }
    entry.static_driver = driver;
    dev.static_driver = driver;
    entry.driver_link = link.value();
    entry.driver_back_link = back.value();
    return {};
}

void Core::static_unbind_locked(DeclaredEntry& entry) {
    if (entry.driver_link) tree_.remove(entry.driver_link);
    if (entry.driver_back_link) tree_.remove(entry.driver_back_link);
    entry.driver_link = entry.driver_back_link = nullptr;
    entry.static_driver.clear();
    if (entry.dev) entry.dev->static_driver.clear();
}

Result<DevicePtr> Core::find_declared(const std::string& bus_name, const std::string& device) {
    std::shared_ptr<Bus> bus = find_bus(bus_name);
    DevicePtr dev = bus ? find_device(*bus, device) : nullptr;
    if (!dev || !dev->declared)
        return Error::of(ENODEV, "no declarative device '" + device + "' on bus " + bus_name);
    return dev;
}

Status Core::static_bind(const std::string& bus_name, const std::string& driver, const std::string& device) {
    Result<DevicePtr> found = find_declared(bus_name, device);
    if (!found) return found.error();
    const DevicePtr& dev = found.value();
    {
        std::lock_guard dev_lock(dev->lock);
        std::lock_guard lock(model_mu_);
        if (dev->dead || dev->declared->removing) return Error::of(ENODEV, "device " + device + " is being removed");
        if (dev->driver || !dev->static_driver.empty())
            return Error::of(EBUSY, "device " + device + " is already bound to " +
                                        (dev->driver ? dev->driver->name() : dev->static_driver));
        if (Status s = static_bind_locked(*dev->declared, driver); !s) return s;
    }
    emit("bind", *dev);
    return {};
}

Status Core::static_unbind(const std::string& bus_name, const std::string& driver, const std::string& device) {
    Result<DevicePtr> found = find_declared(bus_name, device);
    if (!found) return found.error();
    const DevicePtr& dev = found.value();
    {
        std::lock_guard dev_lock(dev->lock);
        std::lock_guard lock(model_mu_);
        if (dev->static_driver != driver) return Error::of(ENODEV, "device " + device + " is not bound to " + driver);
        static_unbind_locked(*dev->declared);
    }
    emit("unbind", *dev);
    // Free again: a plugin driver of the bus may take it now.
    if (dev->bus().autoprobe) match_device(dev);
    return {};
}

void Core::retire_static_driver(const std::string& bus_name, const std::string& driver) {
    std::vector<DevicePtr> bound;
    NodePtr dir;
    {
        std::lock_guard lock(model_mu_);
        auto it = static_drivers_.find(bus_name + "/" + driver);
        if (it == static_drivers_.end()) return;
        dir = it->second;
        static_drivers_.erase(it);
        for (const auto& [path, e] : declared_)
            if (e->dev && e->static_driver == driver && e->dev->bus().name() == bus_name) bound.push_back(e->dev);
    }
    for (const DevicePtr& dev : bound) {
        {
            std::lock_guard dev_lock(dev->lock);
            std::lock_guard lock(model_mu_);
            if (dev->static_driver != driver) continue;
            static_unbind_locked(*dev->declared);
        }
        emit("unbind", *dev);
    }
    tree_.remove(dir);
    if (log_enabled(LogLevel::info))
        log(LogLevel::info, "code-less driver " + bus_name + "/" + driver + " gives way to the plugin driver of that name");
}

NodePtr Core::platform_root_locked() const {
    auto it = buses_.find("platform");
    return it == buses_.end() ? nullptr : it->second->devices_root;
}

// A directory the core made that Linux shows as a device without a
// subsystem may become one: devices/platform (the platform bus's root
// device in Linux), or a plain directory made for an earlier declarative
// device's path. Not one that is a device already (it has a uevent), and
// not with a subsystem: a bus device's removal takes its directory.
bool Core::adoptable_locked(const NodePtr& dir, const DeclaredDevice& spec) const {
    if (dir->kind != NodeKind::dir || !spec.bus.empty() || !spec.cls.empty()) return false;
    if (dir != platform_root_locked() && !declared_plain_.count(dir)) return false;
    Result<std::vector<DirEntry>> held = tree_.list(dir->ino);
    return held && std::none_of(held.value().begin(), held.value().end(),
                                [](const DirEntry& e) { return e.name == "uevent"; });
}

std::vector<NodePtr> Core::added_to_adopted(const DeclaredEntry& entry, const std::set<std::string>& before) {
    std::vector<NodePtr> added;
    Result<std::vector<DirEntry>> now = tree_.list(entry.dir->ino);
    if (!now) return added;
    for (const DirEntry& e : now.value())
        if (!before.count(e.name))
            if (Result<NodePtr> n = tree_.lookup(entry.dir->ino, e.name, false)) added.push_back(n.value());
    return added;
}

Result<bool> Core::add_declared_device(const DeclaredDevice& spec) {
    if (Status s = check_declared(spec); !s) return s.error();
    const std::string name = spec.name();
    auto entry = std::make_shared<DeclaredEntry>();
    entry->spec = spec;
    DevicePtr dev;
    {
        std::lock_guard lock(model_mu_);
        if (auto it = declared_.find(spec.path); it != declared_.end()) {
            if (it->second->spec.subsystem_key() == spec.subsystem_key() && !it->second->removing) return false;
            return Error::of(EEXIST, "path: a declarative device with another subsystem is at " + spec.path);
        }
        // Everything made in this section, to undo on the first failure.
        std::vector<NodePtr> made;
        std::vector<NodePtr> plain;  // the undescribed ancestors among them
        Bus* bus = nullptr;
        bool bus_made = false;
        std::set<std::string> adopted_before;  // an adopted directory's entries before
        auto fail = [&](const std::string& key, const Error& e) -> Error {
            // The device and its entry hold each other once both exist:
            // let go here, or neither is ever freed.
            entry->dev.reset();
            if (entry->adopted)
                for (const NodePtr& n : added_to_adopted(*entry, adopted_before)) tree_.remove(n);
            for (auto it = made.rbegin(); it != made.rend(); ++it) tree_.remove(*it);
            if (bus_made) {
                tree_.remove(bus->dir);
                buses_.erase(spec.bus);
            }
            return Error::of(e.code, key + ": " + e.message);
        };
        // Its subsystem, made if absent.
        if (!spec.bus.empty()) {
            auto it = buses_.find(spec.bus);
            if (it != buses_.end() && it->second->removed) return Error::of(ENOENT, "bus: bus " + spec.bus + " is going away");
            if (it == buses_.end()) {
                auto b = std::make_shared<Bus>(spec.bus, nullptr);  // the platform rule
                if (Status s = add_bus_files(*b, false); !s) return Error::of(s.error().code, "bus: " + s.error().message);
                bus = b.get();
                buses_.emplace(spec.bus, std::move(b));
                bus_made = true;
            } else {
                bus = it->second.get();
            }
            // A name is unique per bus, as in Linux: bus/<bus>/devices/<name>
            // below is the index that refuses a second one (EEXIST).
        } else if (!spec.cls.empty()) {
            Result<Bus*> cls = class_locked(spec.cls);
            if (!cls) return Error::of(cls.error().code, "class: " + cls.error().message);
            bus = cls.value();
            if (auto m = bus->members.find(name); m != bus->members.end() && !m->second.expired())
                return Error::of(EEXIST, "path: class " + spec.cls + " already has a device named " + name);
        }
        // Its ancestors: plain directories where not there.
        std::vector<std::string> parts = split_path(spec.path);
        NodePtr where = devices_dir_;
        std::string ancestor = "devices";
        for (size_t i = 1; i + 1 < parts.size(); ++i) {
            ancestor += "/" + parts[i];
            // An ancestor being removed takes its directory with it: do not
            // build below it (remove_declared_device marked it first).
            if (auto a = declared_.find(ancestor); a != declared_.end() && a->second->removing)
                return fail("path", Error::of(ENODEV, ancestor + " is being removed"));
            Result<NodePtr> next = tree_.lookup(where->ino, parts[i], false);
            if (next) {
                if (next.value()->kind != NodeKind::dir)
                    return fail("path", Error::of(ENOTDIR, tree_.path_of(*next.value()) + " is not a directory"));
                // Below a device that is not declarative (a plugin's, the
                // control plane's): its removal would take the directory
                // without the core knowing what is declared there.
                auto [first, last] = devices_by_name_.equal_range(parts[i]);
                if (std::any_of(first, last, [&](const auto& d) { return d.second->dir == next.value() && !d.second->declared; }))
                    return fail("path", Error::of(EINVAL, ancestor + " is a device that is not declarative; "
                                                                     "declarative devices go below declarative ones or plain directories"));
                where = next.value();
                continue;
            }
            Result<NodePtr> dir = tree_.add_dir(where, parts[i]);
            if (!dir) return fail("path", dir.error());
            made.push_back(dir.value());
            plain.push_back(dir.value());
            where = dir.value();
        }
        Result<NodePtr> dir = tree_.add_dir(where, name);
        if (dir) {
            made.push_back(dir.value());
            entry->dir = dir.value();
        } else {
            Result<NodePtr> there = tree_.lookup(where->ino, name, false);
            if (!there || !adoptable_locked(there.value(), spec))
                return fail("path", Error::of(dir.error().code, "something is at " + spec.path + " already"));
            entry->dir = there.value();
            entry->adopted = true;
            Result<std::vector<DirEntry>> held = tree_.list(entry->dir->ino);
            if (held)
                for (const DirEntry& e : held.value()) adopted_before.insert(e.name);
        }
        if (bus) {
            // A recorded driver's name is what a plugin driver of that name
            // matches by (platform rule): record a machine, load your
            // driver, and it binds where the recorded one was.
            dev = std::make_shared<Device>(name, *bus,
                                           std::map<std::string, std::string>(spec.properties.begin(), spec.properties.end()),
                                           spec.driver);
            dev->dir = entry->dir;
            dev->path = spec.path;
            dev->declared = entry;
            dev->tree = &tree_;
            dev->core = this;
            if (spec.devnum) {
                dev->major = spec.devnum->major;
                dev->minor = spec.devnum->minor;
                dev->block = spec.devnum->block;
            }
            entry->dev = dev;
            // uevent, power/ and (bus) nothing else: see add_device_files.
            if (Status s = add_device_files(dev); !s) return fail("path", s.error());
            const std::string sub = (bus->is_class ? "class/" : "bus/") + bus->name();
            if (Result<NodePtr> l = tree_.add_symlink(entry->dir, "subsystem", relative_link(spec.path, sub)); !l)
                return fail("subsystem", l.error());
            NodePtr listing = bus->is_class ? bus->dir : bus->devices_dir;
            const std::string listing_path = bus->is_class ? sub : sub + "/devices";
            Result<NodePtr> l = tree_.add_symlink(listing, name, relative_link(listing_path, spec.path));
            if (!l)
                return fail("path", Error::of(l.error().code, std::string(bus->is_class ? "class " : "bus ") + bus->name() +
                                                                  " already has a device named " + name));
            made.push_back(l.value());
            entry->outside.push_back(l.value());
        } else {
            // No subsystem (as devices/pci0000:00): a uevent with only the
            // recorded lines, and power/ as every device has.
            std::vector<std::pair<std::string, std::string>> props = spec.properties;
            tree_.add_attr(entry->dir, "uevent", 0644,
                           std::make_unique<CoreAttr>(
                               [props]() -> Result<std::string> {
                                   std::string out;
                                   for (const auto& [k, v] : props) out += k + "=" + v + "\n";
                                   return out;
                               },
                               // Linux sends no event for a device without a subsystem.
                               [](std::string_view) -> Status { return {}; }));
            if (Result<NodePtr> p = tree_.add_dir(entry->dir, "power"); !p) return fail("power", p.error());
        }
        if (spec.devnum) {
            const std::string devt = devt_of(*spec.devnum);
            tree_.add_attr(entry->dir, "dev", 0444,
                           std::make_unique<CoreAttr>([devt]() -> Result<std::string> { return devt + "\n"; }, nullptr));
            const NodePtr& dev_dir = spec.devnum->block ? dev_block_dir_ : dev_char_dir_;
            Result<NodePtr> dl = tree_.add_symlink(dev_dir, devt, relative_link(spec.devnum->block ? "dev/block" : "dev/char", spec.path));
            if (!dl) return fail("devnum", Error::of(dl.error().code, "device number " + devt + " is taken"));
            made.push_back(dl.value());
            entry->outside.push_back(dl.value());
        }
        // Recorded attributes and links, directories made on the way.
        auto dir_of = [&](const std::string& rel, std::string& leaf) -> Result<NodePtr> {
            std::vector<std::string> p = split_path(rel);
            leaf = p.back();
            NodePtr at = entry->dir;
            for (size_t i = 0; i + 1 < p.size(); ++i) {
                Result<NodePtr> d = tree_.ensure_dir(at, p[i]);
                if (!d) return d.error();
                at = d.value();
            }
            return at;
        };
        for (const DeclaredAttr& a : spec.attributes) {
            std::string leaf;
            Result<NodePtr> at = dir_of(a.path, leaf);
            if (!at) return fail("attributes." + a.path, at.error());
            auto value = std::make_shared<DeclaredValue>();
            value->bytes = a.value;
            Result<NodePtr> n = add_declared_attr(tree_, at.value(), leaf, a.mode, value, a.binary);
            if (!n) return fail("attributes." + a.path, n.error());
            if (at.value() == entry->dir) entry->recorded[leaf] = {value, a.mode, a.binary};
        }
        for (const auto& [path, target] : spec.links) {
            std::string leaf;
            Result<NodePtr> at = dir_of(path, leaf);
            if (!at) return fail("links." + path, at.error());
            if (Result<NodePtr> l = tree_.add_symlink(at.value(), leaf, target); !l) return fail("links." + path, l.error());
        }
        // The recorded driver, code-less, unless a plugin driver of that
        // name is on the bus: then matching gives it the device.
        if (!spec.driver.empty() &&
            std::none_of(bus->drivers.begin(), bus->drivers.end(), [&](const DriverPtr& d) { return d->name() == spec.driver; }))
            if (Status s = static_bind_locked(*entry, spec.driver); !s) return fail("driver", s.error());
        if (dev) {
            if (bus->is_class) {
                bus->members[name] = dev;
            } else {
                bus->add_device(dev);
                dev->all_pos = all_devices_.insert(all_devices_.end(), dev);
                devices_by_name_.emplace(name, dev);  // perhaps beside a device of another bus
            }
        }
        if (entry->adopted) {
            entry->adopted_nodes = added_to_adopted(*entry, adopted_before);
            declared_plain_.erase(entry->dir);  // a device now, until it goes
        }
        declared_.emplace(spec.path, entry);
        if (bus_made) declared_buses_.insert(spec.bus);
        declared_plain_.insert(plain.begin(), plain.end());
    }
    if (log_enabled(LogLevel::info)) log(LogLevel::info, "declarative device " + spec.path + " added");
    if (dev) {
        emit("add", *dev);
        if (!dev->is_class_device() && dev->bus().autoprobe) match_device(dev);  // skips a code-less binding
        retry_deferred();
    }
    return true;
}

Status Core::remove_declared_device(const std::string& path) {
    std::vector<std::shared_ptr<DeclaredEntry>> doomed;
    {
        std::lock_guard lock(model_mu_);
        auto it = declared_.find(path);
        if (it == declared_.end() || it->second->removing) return Error::of(ENODEV, "no declarative device at " + path);
        for (auto& [p, e] : declared_)
            if ((p == path || p.rfind(path + "/", 0) == 0) && !e->removing) doomed.push_back(e);
        for (auto& e : doomed) e->removing = true;
    }
    // Deepest first, as Linux tears down a subtree.
    std::sort(doomed.begin(), doomed.end(), [](const auto& a, const auto& b) { return a->spec.path > b->spec.path; });
    for (size_t i = 0; i < doomed.size(); ++i)
        if (Status s = remove_declared_entry(doomed[i]); !s) {
            // What is left stays as it was, removable again.
            std::lock_guard lock(model_mu_);
            for (size_t j = i; j < doomed.size(); ++j) doomed[j]->removing = false;
            return s;
        }
    return {};
}

Status Core::remove_declared_entry(const std::shared_ptr<DeclaredEntry>& entry) {
    if (entry->dev && !entry->dev->is_class_device()) {
        {
            std::lock_guard dev_lock(entry->dev->lock);
            std::lock_guard lock(model_mu_);
            static_unbind_locked(*entry);
        }
        // The bus device's own removal: unbinds a plugin driver, leaves the
        // bus, sends the remove event, takes the directory.
        if (Status s = remove_device(entry->dev); !s) return s;
    } else if (entry->dev) {
        {
            std::lock_guard lock(model_mu_);
            entry->dev->dead = true;
            Bus& klass = entry->dev->bus();
            if (auto it = klass.members.find(entry->dev->name());
                it != klass.members.end() && it->second.lock() == entry->dev)
                klass.members.erase(it);
        }
        emit("remove", *entry->dev);
    }
    for (const NodePtr& n : entry->outside) tree_.remove(n);
    NodePtr up = entry->dir->parent();
    if (entry->adopted) {
        for (const NodePtr& n : entry->adopted_nodes) tree_.remove(n);
        up = entry->dir;  // plain again: it goes below once empty, if ours
    } else {
        tree_.remove(entry->dir);
    }
    {
        std::lock_guard lock(model_mu_);
        if (entry->adopted && entry->dir != platform_root_locked()) declared_plain_.insert(entry->dir);
        declared_.erase(entry->spec.path);
        entry->dev.reset();  // the device holds its entry: no cycle left
        // The plain directories made for it go once empty, so the path is
        // free for a later description (one that describes them, say).
        // Under model_mu_, like every add below them.
        while (up && declared_plain_.count(up)) {
            Result<std::vector<DirEntry>> left = tree_.list(up->ino);
            if (!left || !left.value().empty()) break;
            NodePtr next = up->parent();
            tree_.remove(up);
            declared_plain_.erase(up);
            up = next;
        }
    }
    if (log_enabled(LogLevel::info)) log(LogLevel::info, "declarative device " + entry->spec.path + " removed");
    return {};
}

void Core::drop_unused_declared_buses() {
    std::lock_guard lock(model_mu_);
    for (auto it = declared_buses_.begin(); it != declared_buses_.end();) {
        auto b = buses_.find(*it);
        if (b != buses_.end() && (!b->second->devices.empty() || !b->second->drivers.empty())) {
            ++it;
            continue;
        }
        if (b != buses_.end()) {
            tree_.remove(b->second->dir);
            if (b->second->devices_root) tree_.remove(b->second->devices_root);
            buses_.erase(b);
        }
        const std::string prefix = *it + "/";
        for (auto s = static_drivers_.lower_bound(prefix); s != static_drivers_.end() && s->first.rfind(prefix, 0) == 0;)
            s = static_drivers_.erase(s);
        it = declared_buses_.erase(it);
    }
}

bool Core::hide_recorded(Device& dev, const std::string& name) {
    std::lock_guard lock(model_mu_);
    DeclaredEntry& e = *dev.declared;
    if (!e.recorded.count(name) || e.hidden.count(name)) return false;
    Result<NodePtr> n = tree_.lookup(e.dir->ino, name, false);
    if (!n) return false;
    tree_.remove(n.value());
    e.hidden.insert(name);
    return true;
}

void Core::restore_recorded(Device& dev) {
    std::lock_guard lock(model_mu_);
    DeclaredEntry& e = *dev.declared;
    for (const std::string& name : e.hidden) {
        const DeclaredEntry::Recorded& r = e.recorded.at(name);
        if (Result<NodePtr> n = add_declared_attr(tree_, e.dir, name, r.mode, r.value, r.binary); !n)
            log(LogLevel::warning, "declarative device " + e.spec.path + ": recorded " + name +
                                       " not shown again: " + n.error().message);
    }
    e.hidden.clear();
}

}  // namespace driverfs
