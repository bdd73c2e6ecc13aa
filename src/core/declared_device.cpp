// Adding a declarative device to the tree: its subsystem, ancestors, files, links, device number, driver.
// Locking: DeviceModel::model_mu_, as declared.hpp says.
#include <algorithm>

#include "core_attr.hpp"
#include "declared.hpp"
#include "core/device_model.hpp"
#include "core/log.hpp"

namespace driverfs {

namespace {

std::string devt_of(const DeclaredDevnum& n) { return std::to_string(n.major) + ":" + std::to_string(n.minor); }

}  // namespace

NodePtr DeviceModel::platform_root_locked() const {
    auto it = buses_.find("platform");
    return it == buses_.end() ? nullptr : it->second->devices_root;
}

// A directory the core made that Linux shows as a device without a
// subsystem may become one: devices/platform (the platform bus's root
// device in Linux), or a plain directory made for an earlier declarative
// device's path. Not one that is a device already (it has a uevent), and
// not with a subsystem: a bus device's removal takes its directory.
bool DeviceModel::adoptable_locked(const NodePtr& dir, const DeclaredDevice& spec) const {
    if (dir->kind != NodeKind::dir || !spec.bus.empty() || !spec.cls.empty()) return false;
    if (dir != platform_root_locked() && !declared_plain_.count(dir)) return false;
    Result<std::vector<DirEntry>> held = tree_.list(dir->ino);
    return held && std::none_of(held.value().begin(), held.value().end(),
                                [](const DirEntry& e) { return e.name == "uevent"; });
}

std::vector<NodePtr> DeviceModel::added_to_adopted(const DeclaredEntry& entry, const std::set<std::string>& before) {
    std::vector<NodePtr> added;
    Result<std::vector<DirEntry>> now = tree_.list(entry.dir->ino);
    if (!now) return added;
    for (const DirEntry& e : now.value())
        if (!before.count(e.name))
            if (Result<NodePtr> n = tree_.lookup(entry.dir->ino, e.name, false)) added.push_back(n.value());
    return added;
}

Result<bool> DeviceModel::add_declared_device(const DeclaredDevice& spec) {
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
            dev->model = this;
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
            // No subsystem (as devices/pci0000:00): never bound, so its
            // uevent is fixed; and power/ as every device has.
            tree_.add_attr(entry->dir, "uevent", 0644,
                           std::make_unique<CoreAttr>(
                               [text = declared_uevent_text(spec, "")]() -> Result<std::string> { return text; },
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

}  // namespace driverfs
