// The .umockdev importer's middle: one device's paragraph of a dump as read, between the two halves.
// umockdev_read.cpp turns the text into these (every line checked, escapes
// undone); umockdev.cpp turns these into the description's "devices" array.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attr_value.hpp"
#include "core/device_description.hpp"
#include "core/error.hpp"

namespace driverfs::control {

// One paragraph, as read.
struct UmockdevDump {
    size_t line = 0;  // of its P:
    std::string path;  // "devices/..."
    std::vector<std::pair<std::string, std::string>> env;  // E:, in order
    std::map<std::string, size_t> env_line;
    std::map<std::string, std::string> text_attrs;  // A:, unescaped
    std::map<std::string, std::string> bin_attrs;   // H:, decoded
    std::map<std::string, size_t> attr_line;
    std::map<std::string, std::string> links;  // L:
    std::optional<std::string> node;           // N:
    std::vector<std::string> devlinks;         // S:, as "/dev/..."
};

// Every message of the importer: EINVAL "FILE:LINE: what is wrong".
inline Error umockdev_error(const std::string& file, size_t line, const std::string& what) {
    return Error::of(EINVAL, file + ":" + std::to_string(line) + ": " + what);
}

// A relative path the tree can hold (the core's rule for declared devices,
// check_relative_path) that is also text a JSON string can carry.
inline bool good_relative(std::string_view s) { return is_text(s) && check_relative_path(s); }

// The paragraphs of a whole dump, in the file's order; the first bad line
// is an umockdev_error naming `file` and that line.
Result<std::vector<UmockdevDump>> read_umockdev_dump(std::string_view text, const std::string& file);

}  // namespace driverfs::control
