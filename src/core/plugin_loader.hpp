// Plugin objects: finding, vetting, mapping and unmapping a plugin's .so.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/driver.hpp"
#include "core/error.hpp"
#include "driverfs/plugin.h"

// The opaque handle a plugin gets in init() is the Plugin itself.
struct dfs_plugin {};

namespace driverfs {

class DeviceModel;
class PluginLifecycle;

// A mapped private copy of a plugin file.
struct SharedObject {
    void* handle = nullptr;
    int memfd = -1;
    std::string source;   // the file it was copied from
    std::string mapped;   // the path dlopen saw (/proc/self/fd/N)

    SharedObject() = default;
    SharedObject(const SharedObject&) = delete;
    SharedObject& operator=(const SharedObject&) = delete;
    ~SharedObject();
};

// NAME -> DIR/NAME.so or DIR/NAME/NAME.so; anything with a '/' is a path.
Result<std::string> resolve_plugin(const std::string& name_or_path, const std::string& plugin_dir);

// Refuse files that are not regular, or that another user could rewrite
// (the file or its directory writable by group or others, or not owned by
// us or root).
Status check_plugin_file(const std::string& path);

// Copy the file into an anonymous memfd and dlopen that copy, so a later
// reload of a rebuilt file runs the new code and a file being overwritten is
// never mapped. The file must not change while it is copied.
Result<std::unique_ptr<SharedObject>> map_private_copy(const std::string& path);

// Look up the entry symbol and vet the descriptor it returns.
Result<const dfs_plugin_desc*> plugin_descriptor(const SharedObject& so);

// dlclose, then check the object really left memory. Returns an Error (the
// object stays resident) when glibc kept it (STB_GNU_UNIQUE, NODELETE).
Status unmap(std::unique_ptr<SharedObject> so);

// One loaded plugin. Lives from load until unload finished.
class Plugin : public dfs_plugin {
public:
    Plugin(std::string name, std::unique_ptr<SharedObject> so, const dfs_plugin_desc* desc)
        : name_(std::move(name)), source_(so->source), so_(std::move(so)), desc_(desc) {}

    static Plugin* from(dfs_plugin* p) { return static_cast<Plugin*>(p); }

    const std::string& name() const { return name_; }
    const dfs_plugin_desc& desc() const { return *desc_; }
    const std::string& source() const { return source_; }
    // The mapping, for unmap(); null once taken (unloaded, or deliberately
    // leaked because a call was still running in it at shutdown).
    std::unique_ptr<SharedObject> take_object() { return std::move(so_); }

    // The host that loaded it, for dfs_host's calls: the lifecycle stages
    // its registrations, the model serves its devices.
    PluginLifecycle* lifecycle = nullptr;
    DeviceModel* model = nullptr;
    // Filled by register_driver() during init(); committed after init returns.
    bool in_init = false;
    std::vector<const dfs_driver*> staged;
    std::vector<const dfs_bus*> staged_buses;
    struct StagedDevice {
        std::string bus, name;
        std::map<std::string, std::string> properties;
    };
    std::vector<StagedDevice> staged_devices;  // created once the plugin is live
    Error staging_error;  // first refused registration, code 0 if none
    // Buses this plugin registered, by name, and the stubs their match()
    // calls are pinned through.
    std::vector<std::pair<std::string, StubRef>> buses;
    // Appended at commit under DeviceModel::model_mu_ (plugin threads may look
    // here meanwhile: class_device_create), never shrunk while loaded.
    std::vector<DriverPtr> drivers;

private:
    const std::string name_;
    const std::string source_;
    std::unique_ptr<SharedObject> so_;
    const dfs_plugin_desc* desc_;
};

}  // namespace driverfs
