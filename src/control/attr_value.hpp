// How an attribute value is written in a device description (driverfs(5), DEVICE DESCRIPTION FILES):
// text when it is a page or less of NUL-free UTF-8, else base64. Shared by the
// .umockdev importer and `driverfsctl record`, so both write the same form.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "control/description_json.hpp"

namespace driverfs::control {

inline constexpr size_t kMaxTextAttr = 4096;     // a page, as sysfs show()
inline constexpr size_t kMaxBinaryAttr = 65536;  // the schema's bound for base64 values

// Base64 (RFC 4648, with padding); the result is ASCII, safe in a JSON string.
inline std::string base64_encode(std::string_view bytes) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const unsigned v = static_cast<unsigned char>(bytes[i]) << 16 | static_cast<unsigned char>(bytes[i + 1]) << 8 |
                           static_cast<unsigned char>(bytes[i + 2]);
        out += kAlphabet[v >> 18 & 63];
        out += kAlphabet[v >> 12 & 63];
        out += kAlphabet[v >> 6 & 63];
        out += kAlphabet[v & 63];
    }
    if (const size_t rest = bytes.size() - i; rest > 0) {
        unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
        if (rest == 2) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
        out += kAlphabet[v >> 18 & 63];
        out += kAlphabet[v >> 12 & 63];
        out += rest == 2 ? kAlphabet[v >> 6 & 63] : '=';
        out += '=';
    }
    return out;
}

// True for bytes a JSON string can carry as they are and a person would call
// text: well-formed UTF-8 (nlohmann::json refuses to dump anything else) and
// no NUL (a sysfs text attribute never has one).
inline bool is_text(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        size_t len;
        unsigned cp;
        if (c == 0) return false;
        if (c < 0x80) { ++i; continue; }
        if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
        else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
        else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
        else return false;
        if (i + len > s.size()) return false;
        for (size_t k = 1; k < len; ++k) {
            const unsigned char d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xC0) != 0x80) return false;
            cp = cp << 6 | (d & 0x3F);
        }
        // Overlong forms, surrogates and values past Unicode are not UTF-8.
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

// The schema form of one attribute: a bare string for text with mode 0444,
// {"value", "mode"} for text with another mode, {"base64", "mode"} otherwise.
// The caller keeps values over kMaxBinaryAttr out (they cannot be served).
inline DescriptionJson attribute_value(std::string_view bytes, const std::string& mode) {
    if (bytes.size() <= kMaxTextAttr && is_text(bytes)) {
        if (mode == "0444") return std::string(bytes);
        return DescriptionJson{{"value", std::string(bytes)}, {"mode", mode}};
    }
    return DescriptionJson{{"base64", base64_encode(bytes)}, {"mode", mode}};
}

}  // namespace driverfs::control
