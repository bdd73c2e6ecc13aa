// Device description files: validate a JSON tree description fully, then
// apply it to the core all or nothing (driverfsd --config, driverfsctl apply).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/description_json.hpp"

#include "core/core.hpp"
#include "core/device_description.hpp"
#include "core/error.hpp"

namespace driverfs::control {

struct DeviceSpec {
    std::string bus, name, parent;  // parent: empty if none
    std::map<std::string, std::string> properties;
    std::string where;  // JSON path of the entry, for messages
};

struct ConfigSpec {
    std::vector<std::string> plugins;
    std::vector<DeviceSpec> devices;  // in file order; parents before children
    // "devices": declarative devices, in file order (ancestors first), and
    // the JSON path of each ("$.devices[3]") for messages.
    std::vector<DeclaredDevice> declared;
    std::vector<std::string> declared_where;
};

// Check the whole description; EINVAL naming the JSON path of the first
// error ("$.buses.platform.devices[1].parent: ..."). Touches nothing.
Result<ConfigSpec> parse_config(const DescriptionJson& doc);
// Parse a description given as text, JSON or a .umockdev dump (told apart
// by looks_like_umockdev); `name` (the file's) starts every message.
Result<ConfigSpec> parse_config_text(std::string_view text, const std::string& name);
// Read and parse a file (ENOENT/EACCES/EINVAL with the file name).
Result<ConfigSpec> load_config_file(const std::string& path);

// What apply did: plugins already loaded and devices already present (same
// name, same bus) are skipped, so applying the same file twice is harmless.
struct ApplyReport {
    std::vector<std::string> loaded, plugins_present, added, devices_present;
    std::vector<std::string> declared_added, declared_present;  // paths of declarative devices
};

// Load the plugins, then add the devices in order. On the first failure
// everything this call did is undone (devices removed newest first, plugins
// unloaded) and the error names the JSON path of the entry that failed.
// Callers serialize applies (the core itself serializes each call).
Result<ApplyReport> apply_config(Core& core, const ConfigSpec& spec);

nlohmann::json to_json(const ApplyReport& report);

}  // namespace driverfs::control
