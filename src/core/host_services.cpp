// The services table lent to plugins: C entry points into the plugin lifecycle and the device model.
#include "host_services.hpp"

#include <string>

#include "core/call_tracker.hpp"
#include "core/device.hpp"
#include "core/device_model.hpp"
#include "core/log.hpp"
#include "core/plugin_lifecycle.hpp"
#include "core/plugin_loader.hpp"
#include "core/validate.hpp"

namespace driverfs {
namespace {

// No C++ exception may cross back into plugin code: every entry point here
// is noexcept and turns failures into return values.

// A core call's Status as the ABI returns it: 0 or -errno, and -ENOMEM
// where memory ran out on the way.
template <class Call>
int abi_status(Call&& call) noexcept {
    try {
        Status s = call();
        return s ? 0 : -s.error().code;
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    }
}

int host_register_driver(dfs_plugin* self, const dfs_driver* drv) noexcept {
    if (!self) return -EINVAL;
    Plugin* plugin = Plugin::from(self);
    return abi_status([&] { return plugin->lifecycle->stage_driver(*plugin, drv); });
}

const char* host_device_name(const dfs_device* dev) noexcept {
    return dev ? Device::from(dev)->name().c_str() : nullptr;
}

const char* host_device_property(const dfs_device* dev, const char* key) noexcept {
    if (!dev || !key) return nullptr;
    try {
        return Device::from(dev)->property(key);
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
}

void host_set_drvdata(dfs_device* dev, void* data) noexcept {
    if (dev) Device::from(dev)->drvdata.store(data, std::memory_order_release);
}

void* host_get_drvdata(const dfs_device* dev) noexcept {
    return dev ? Device::from(dev)->drvdata.load(std::memory_order_acquire) : nullptr;
}

void host_log(dfs_plugin* self, int level, const char* message) noexcept {
    try {
        std::string who = self ? "plugin " + Plugin::from(self)->name() + ": " : "plugin: ";
        LogLevel l = level <= DFS_LOG_ERR ? LogLevel::err
                     : level == DFS_LOG_WARNING ? LogLevel::warning
                     : level <= DFS_LOG_INFO ? LogLevel::info
                                             : LogLevel::debug;
        log(l, who + (message ? message : "(null)"));
    } catch (...) {
        // Logging must never fail the plugin; a lost log line is the lesser harm.
    }
}

void host_notify(dfs_device* dev, const char* attr) noexcept {
    if (!dev || !attr) return;
    try {
        Device* d = Device::from(dev);
        if (!d->tree || !d->dir) return;
        // `attr` may name an attribute of a named group: "group/attr".
        NodePtr node = d->dir;
        std::string_view rest = attr;
        while (node && !rest.empty()) {
            size_t slash = rest.find('/');
            Result<NodePtr> next = d->tree->lookup(node->ino, rest.substr(0, slash), false);
            node = next ? next.value() : nullptr;
            rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
        }
        if (!node || node->kind != NodeKind::attr) return;
        d->tree->notify_changed(*node);
        // From a plugin's own thread the change is visible to the very next
        // read once notify returns. Inside a callback waiting could deadlock
        // (the kernel may hold the page that callback is filling); a write
        // that ran the callback syncs before it replies instead.
        if (!CallScope::inside_callback()) d->tree->sync_changes();
    } catch (const std::bad_alloc&) {
    }
}

int host_register_bus(dfs_plugin* self, const dfs_bus* bus) noexcept {
    if (!self) return -EINVAL;
    Plugin* plugin = Plugin::from(self);
    return abi_status([&] { return plugin->lifecycle->stage_bus(*plugin, bus); });
}

int host_add_device(dfs_plugin* self, const char* bus, const char* name, const char* const* props) noexcept {
    if (!self || !bus || !name) return -EINVAL;
    Plugin* plugin = Plugin::from(self);
    try {
        std::vector<std::string> words;
        for (const char* const* p = props; p && *p; ++p) words.emplace_back(*p);
        Result<std::map<std::string, std::string>> properties = parse_properties(words, 0);
        if (!properties) {
            log(LogLevel::warning, "plugin " + plugin->name() + ": add_device " + name + ": " + properties.error().message);
            return -properties.error().code;
        }
        Status s = plugin->lifecycle->plugin_add_device(*plugin, bus, name, std::move(properties.value()));
        if (!s) log(LogLevel::warning, "plugin " + plugin->name() + ": add_device " + name + ": " + s.error().message);
        return s ? 0 : -s.error().code;
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    }
}

int host_update_group(dfs_device* dev, const dfs_attribute_group* group) noexcept {
    if (!dev || !group) return -EINVAL;
    Device* d = Device::from(dev);
    if (!d->model) return -ENODEV;
    return abi_status([&] { return d->model->update_group(*d, group); });
}

const dfs_driver* host_device_driver(const dfs_device* dev) noexcept {
    if (!dev) return nullptr;
    const Device* d = Device::from(dev);
    try {
        if (!d->model) return nullptr;
        DriverPtr drv = d->model->driver_of(*d);
        // The caller runs code of that driver, so it is pinned and mapped.
        return drv ? drv->stub().driver() : nullptr;
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
}

dfs_device* host_device_parent(const dfs_device* dev) noexcept {
    // Fixed at creation: no lock.
    return dev ? Device::from(dev)->parent.get() : nullptr;
}

int host_class_device_create(dfs_plugin* self, dfs_device* parent, const dfs_class_device* info, void* drvdata,
                             dfs_device** out) noexcept {
    if (!out) return -EINVAL;
    *out = nullptr;
    if (!self) return -EINVAL;
    Plugin* plugin = Plugin::from(self);
    Device* p = parent ? Device::from(parent) : nullptr;
    try {
        Result<DevicePtr> made = plugin->model->create_class_device(*plugin, p, info, drvdata);
        if (!made) {
            log(LogLevel::warning, "class_device_create" + (p ? " below " + p->name() : std::string()) + ": " +
                                       made.error().message);
            return -made.error().code;
        }
        // The core keeps it (in its parent's class_devices) until destroyed.
        *out = made.value().get();
        return 0;
    } catch (const std::bad_alloc&) {
        return -ENOMEM;
    }
}

int host_class_device_destroy(dfs_device* cdev) noexcept {
    if (!cdev) return -EINVAL;
    Device* d = Device::from(cdev);
    if (!d->model) return -ENODEV;
    return abi_status([&] { return d->model->destroy_class_device(*d); });
}

const dfs_host kHost = {
    sizeof(dfs_host),
    DRIVERFS_ABI_VERSION,
    host_register_driver,
    host_device_name,
    host_device_property,
    host_set_drvdata,
    host_get_drvdata,
    host_log,
    host_notify,
    host_register_bus,
    host_add_device,
    host_update_group,
    host_device_driver,
    host_device_parent,
    host_class_device_create,
    host_class_device_destroy,
};

}  // namespace

const dfs_host& host_services() { return kHost; }

}  // namespace driverfs
