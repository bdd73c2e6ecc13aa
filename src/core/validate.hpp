// The one set of input rules (names, properties, plugin references) that every way into the core checks.
// The config validator, the control dispatcher, the tree's control files and
// the host services all call these, so that what one accepts the others do too.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace driverfs {

// Names of devices, drivers, buses and class devices: 1-64 of
// [A-Za-z0-9_.:-], not . or .. (what udev rules and sysfs paths can hold).
bool valid_object_name(std::string_view s);
// valid_object_name as a Status: EINVAL "'NAME' is not a KIND name (the rule)".
Status check_object_name(std::string_view kind, std::string_view name);

// Plugin (module) names: 1-64 of [A-Za-z0-9_.-], not . or ..; a plugin
// name is also a file name in the plugin directory.
bool valid_plugin_name(std::string_view s);
// What `load` takes: a path (it holds a '/') or a plugin name. EINVAL for an
// empty one, a NUL byte (the system calls would act on a shorter name) or a
// name that breaks valid_plugin_name.
Status check_plugin_ref(std::string_view name_or_path);

// A device property as the uevent file shows it, one KEY=VALUE per line:
// EINVAL for an empty key, a key with '=' or white space, or a control
// character (NUL, newline, ...) in either, which would forge other lines.
Status check_property(std::string_view key, std::string_view value);
// words[first..] as KEY=VALUE pairs (the last of a key wins); EINVAL naming
// the first word with no '=' or nothing before it. The pairs are checked
// with check_property where a device is created.
Result<std::map<std::string, std::string>> parse_properties(const std::vector<std::string>& words, size_t first);

}  // namespace driverfs
