// Core attributes: daemon-owned show/store behind the shared file operations.
#include "core_attr.hpp"

#include <algorithm>
#include <cstring>
#include <sstream>

#include "driverfs/log.hpp"

namespace driverfs {

Result<size_t> CoreAttr::show(char* page) {
    if (!show_) return Error::of(EACCES, "write-only attribute");
    Result<std::string> text = show_();
    if (!text) return text.error();
    size_t n = std::min(text.value().size(), kPageSize);
    std::memcpy(page, text.value().data(), n);
    return n;
}

Result<size_t> CoreAttr::store(std::string_view data) {
    if (!store_) return Error::of(EACCES, "read-only attribute");
    if (Status s = store_(data); !s) return s.error();
    return data.size();
}

std::string_view chomp(std::string_view s) {
    if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
    return s;
}

std::vector<std::string> split_words(std::string_view s) {
    std::vector<std::string> out;
    std::istringstream in{std::string(s)};
    for (std::string w; in >> w;) out.push_back(std::move(w));
    return out;
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

bool valid_object_name(std::string_view s) {
    if (s.empty() || s.size() > 64 || s == "." || s == "..") return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':'))
            return false;
    return true;
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

Status logged(Status s, std::string_view what) {
    if (!s) log(LogLevel::err, std::string(what) + ": " + s.error().message);
    return s;
}

}  // namespace driverfs
