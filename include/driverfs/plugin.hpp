// C++ conveniences over driverfs/plugin.h. Header-only; a plugin may use any
// part or none. Nothing here changes the ABI.
#pragma once

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>

#include "driverfs/plugin.h"

namespace driverfs::sdk {

// Parse an unsigned decimal like the kernel's kstrtoul(buf, 10): digits, one
// optional trailing newline, nothing else. Returns 0 or a negative errno
// (-EINVAL malformed, -ERANGE out of [min, max]).
inline int parse_uint(const char* buf, size_t len, unsigned long min, unsigned long max,
                      unsigned long* out) {
    std::string_view s(buf, len);
    if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
    if (s.empty()) return -EINVAL;
    unsigned long v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
    if (ec == std::errc::result_out_of_range) return -ERANGE;
    if (ec != std::errc() || end != s.data() + s.size()) return -EINVAL;
    if (v < min || v > max) return -ERANGE;
    *out = v;
    return 0;
}

// snprintf into a show() page, returning the length as show() must.
template <class... Args>
ssize_t emit(char* buf, size_t cap, const char* fmt, Args... args) {
    int n = std::snprintf(buf, cap, fmt, args...);
    if (n < 0) return -EIO;
    return static_cast<size_t>(n) >= cap ? static_cast<ssize_t>(cap - 1) : n;
}

// Run `fn` and turn any exception into -EIO, so none crosses the C ABI.
template <class Fn>
auto guarded(Fn&& fn) noexcept -> decltype(fn()) {
    try {
        return fn();
    } catch (...) {
        return -EIO;
    }
}

}  // namespace driverfs::sdk
