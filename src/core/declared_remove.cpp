// Removing declarative devices: a subtree deepest first, the plain directories made for it, unused buses.
// Locking: DeviceModel::model_mu_, as declared.hpp says.
#include <algorithm>

#include "declared.hpp"
#include "core/device_model.hpp"
#include "core/log.hpp"

namespace driverfs {

Status DeviceModel::remove_declared_device(const std::string& path) {
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

Status DeviceModel::remove_declared_entry(const std::shared_ptr<DeclaredEntry>& entry) {
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

void DeviceModel::drop_unused_declared_buses() {
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

}  // namespace driverfs
