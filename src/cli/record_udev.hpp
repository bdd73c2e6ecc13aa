// `driverfsctl record`'s reading of udev's database (/run/udev/data) and the line format it shares with uevent files.
#pragma once

#include <string>
#include <vector>

#include "control/description_json.hpp"

namespace driverfs::cli {

// The non-empty lines of `text`: "KEY=VALUE" (a uevent file) or "T:REST"
// (a udev database entry).
std::vector<std::string> lines_of(const std::string& text);

// A device's udev database entry (`text`, the file's bytes) into its
// description `dev`: udev's properties under "udev" (with TAGS,
// CURRENT_TAGS and USEC_INITIALIZED as udevadm shows them), its /dev links
// under "devlinks". Lines that are not text are left out.
void add_udev_entry(const std::string& text, control::DescriptionJson& dev);

}  // namespace driverfs::cli
