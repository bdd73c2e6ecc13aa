// Core attributes: daemon-owned show/store behind the shared file operations.
#include "core_attr.hpp"

#include <cstring>

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

}  // namespace driverfs
