// The input rules every way into the core checks: names, properties, plugin references.
#include "driverfs/validate.hpp"

#include <algorithm>
#include <cctype>

#include "driverfs/log.hpp"

namespace driverfs {

namespace {

bool valid_name_of(std::string_view s, std::string_view punctuation) {
    if (s.empty() || s.size() > 64 || s == "." || s == "..") return false;
    return std::all_of(s.begin(), s.end(), [&](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || punctuation.find(c) != std::string_view::npos;
    });
}

}  // namespace

bool valid_object_name(std::string_view s) { return valid_name_of(s, "_.:-"); }

Status check_object_name(std::string_view kind, std::string_view name) {
    if (valid_object_name(name)) return {};
    return Error::of(EINVAL, "'" + printable(name) + "' is not a " + std::string(kind) +
                                 " name (1-64 of A-Z a-z 0-9 _ . : -)");
}

bool valid_plugin_name(std::string_view s) { return valid_name_of(s, "_.-"); }

Status check_plugin_ref(std::string_view name_or_path) {
    if (name_or_path.empty()) return Error::of(EINVAL, "no plugin named: write a plugin name or path");
    if (name_or_path.find('\0') != std::string_view::npos)
        return Error::of(EINVAL, "a plugin name or path cannot hold a NUL byte");
    if (name_or_path.find('/') == std::string_view::npos && !valid_plugin_name(name_or_path))
        return Error::of(EINVAL, "'" + std::string(name_or_path) + "' is not a plugin name (letters, digits, _ . -)");
    return {};
}

Status check_property(std::string_view key, std::string_view value) {
    auto control = [](unsigned char c) { return c < 0x20 || c == 0x7f; };
    if (key.empty() || key.find_first_of("= ") != std::string_view::npos ||
        std::any_of(key.begin(), key.end(), control))
        return Error::of(EINVAL, "'" + printable(key) + "' is not a property name (no '=', spaces or control characters)");
    if (std::any_of(value.begin(), value.end(), control))
        return Error::of(EINVAL, "the value of property " + std::string(key) + " holds a control character");
    return {};
}

Result<std::map<std::string, std::string>> parse_properties(const std::vector<std::string>& words, size_t first) {
    std::map<std::string, std::string> props;
    for (size_t i = first; i < words.size(); ++i) {
        size_t eq = words[i].find('=');
        if (eq == 0 || eq == std::string::npos) return Error::of(EINVAL, "'" + words[i] + "' is not KEY=VALUE");
        props[words[i].substr(0, eq)] = words[i].substr(eq + 1);
    }
    return props;
}

}  // namespace driverfs
