// Core attributes: daemon-owned show/store behind the shared file operations.
#include "core_attr.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <sstream>

#include "core/log.hpp"

namespace driverfs {

CoreAttr::~CoreAttr() {
    const auto at = reinterpret_cast<uintptr_t>(fns_), room = reinterpret_cast<uintptr_t>(inline_);
    if (at >= room && at < room + kInline) fns_->~Fns();
    else delete fns_;
}

Result<size_t> CoreAttr::show(char* page) {
    Result<std::string> text = fns_->show();
    if (!text) return text.error();
    size_t n = std::min(text.value().size(), kPageSize);
    std::memcpy(page, text.value().data(), n);
    return n;
}

Result<size_t> CoreAttr::store(std::string_view data) {
    if (Status s = fns_->store(data); !s) return s.error();
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

Status logged(Status s, std::string_view what) {
    if (!s) log(LogLevel::err, std::string(what) + ": " + s.error().message);
    return s;
}

}  // namespace driverfs
