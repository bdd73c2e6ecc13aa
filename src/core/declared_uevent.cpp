// The uevent file and event keys of declarative devices: the kernel's lines, then what udev adds.
// Locking: DeviceModel::model_mu_, as declared.hpp says.
#include "declared.hpp"
#include "core/device_model.hpp"

namespace driverfs {

std::string declared_uevent_text(const DeclaredDevice& spec, const std::string& driver) {
    // As Linux's dev_uevent: the device number first, then DEVTYPE and
    // DRIVER, then what the subsystem adds (here: the recorded properties).
    std::string out;
    if (spec.devnum) {
        out += "MAJOR=" + std::to_string(spec.devnum->major) + "\nMINOR=" + std::to_string(spec.devnum->minor) + "\n";
        out += "DEVNAME=" + (spec.devnode.empty() ? spec.name() : spec.devnode) + "\n";
    } else if (!spec.devnode.empty()) {
        out += "DEVNAME=" + spec.devnode + "\n";
    }
    for (const auto& [k, v] : spec.properties)
        if (k == "DEVTYPE") out += k + "=" + v + "\n";
    if (!driver.empty()) out += "DRIVER=" + driver + "\n";
    for (const auto& [k, v] : spec.properties) {
        if (k == "DEVTYPE" || k == "DRIVER" || k == "MAJOR" || k == "MINOR" || (k == "DEVNAME" && out.find("DEVNAME=") != std::string::npos))
            continue;  // the core's own lines win
        out += k + "=" + v + "\n";
    }
    return out;
}

std::string DeviceModel::declared_uevent(const Device& dev) {
    std::string driver;
    {
        std::lock_guard lock(model_mu_);
        driver = dev.driver ? dev.driver->name() : dev.static_driver;
    }
    return declared_uevent_text(dev.declared->spec, driver);
}

void DeviceModel::declared_event_env(const Device& dev, std::map<std::string, std::string>& env) {
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

}  // namespace driverfs
