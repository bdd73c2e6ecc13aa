// The .umockdev importer: translate a umockdev-record device dump into the
// "devices" description of driverfs(5), DEVICE DESCRIPTION FILES. Pure: no files, no core.
#pragma once

#include <string>
#include <string_view>

#include "control/description_json.hpp"

#include "core/error.hpp"

namespace driverfs::control {

// True if `text` looks like a .umockdev dump rather than JSON: its first line
// that is neither blank nor a '#' comment begins with "P:".
bool looks_like_umockdev(std::string_view text);

// Translate a whole dump to {"devices": [...]}, every described ancestor before
// its descendants (umockdev-record writes a device first, then its parents).
// `file_name` only labels messages. Errors are EINVAL, "FILE:LINE: what is
// wrong", for the first bad line; nothing is returned then.
Result<DescriptionJson> umockdev_to_description(std::string_view text, const std::string& file_name);

}  // namespace driverfs::control
