// Fuzz target: the attribute-write parsers of the plugin SDK
// (include/driverfs/plugin.hpp): parse_int/ulong/long/uint, parse_bool,
// parse_choice with format_choices, emit. The first input byte picks the
// helper (and a range); the rest is what a writer would store. Properties:
//  - parse_int<T> agrees with an independent reference parser of the
//    kstrto* grammar ([+|-]digits, one optional trailing newline): same
//    verdict (0, -EINVAL, -ERANGE) and, on success, the same value, inside
//    [min, max]; the value printed and parsed again is the same value; a
//    failed parse leaves the output untouched;
//  - parse_bool only looks at the first two characters, never at the rest;
//  - parse_choice returns -EINVAL or the first index whose name equals the
//    text (one trailing newline ignored), and finds every name that
//    format_choices printed;
//  - emit never writes past its buffer and returns a length that fits.
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "check.hpp"
#include "driverfs/plugin.hpp"

namespace sdk = driverfs::sdk;

namespace {

// The kstrto* grammar, written independently of parse_int: digits are
// accumulated in 128 bits and saturate, so any length is judged right.
template <class T>
int reference_parse(std::string_view s, T min, T max, T* out) {
    if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
    bool neg = false;
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        neg = s.front() == '-';
        if (neg && std::is_unsigned_v<T>) return -EINVAL;
        s.remove_prefix(1);
    }
    if (s.empty()) return -EINVAL;
    unsigned __int128 mag = 0;
    const unsigned __int128 cap = static_cast<unsigned __int128>(1) << 100;
    for (char c : s) {
        if (c < '0' || c > '9') return -EINVAL;
        if (mag < cap) mag = mag * 10 + static_cast<unsigned>(c - '0');
    }
    __int128 v = neg ? -static_cast<__int128>(mag) : static_cast<__int128>(mag);
    if (mag >= cap) return -ERANGE;
    if (v < static_cast<__int128>(std::numeric_limits<T>::min()) ||
        v > static_cast<__int128>(std::numeric_limits<T>::max()))
        return -ERANGE;
    if (v < static_cast<__int128>(min) || v > static_cast<__int128>(max)) return -ERANGE;
    *out = static_cast<T>(v);
    return 0;
}

template <class T>
void check_int(std::string_view text, T min, T max) {
    if (min > max) std::swap(min, max);
    const T sentinel = static_cast<T>(min ^ 0x5a);
    T got = sentinel, want = sentinel;
    const int rc = sdk::parse_int<T>(text, min, max, &got);
    const int ref = reference_parse<T>(text, min, max, &want);
    FUZZ_CHECK(rc == ref, "parse_int agrees with the reference on the verdict");
    if (rc != 0) {
        FUZZ_CHECK(got == sentinel, "a failed parse leaves the output alone");
        return;
    }
    FUZZ_CHECK(got == want, "parse_int agrees with the reference on the value");
    FUZZ_CHECK(got >= min && got <= max, "the value is in range");
    T again = sentinel;
    const std::string printed = std::to_string(got) + "\n";
    FUZZ_CHECK(sdk::parse_int<T>(printed, min, max, &again) == 0 && again == got, "print/parse round trip");
}

// A range for type T from input bytes (so ranges get fuzzed too).
template <class T>
T take(std::string_view& s, T fallback) {
    if (s.size() < sizeof(T)) return fallback;
    T v;
    std::memcpy(&v, s.data(), sizeof(T));
    s.remove_prefix(sizeof(T));
    return v;
}

template <class T>
void check_int_ranged(std::string_view s, bool ranged) {
    T min = std::numeric_limits<T>::min(), max = std::numeric_limits<T>::max();
    if (ranged) {
        min = take<T>(s, min);
        max = take<T>(s, max);
    }
    check_int<T>(s, min, max);
}

void check_bool(std::string_view s) {
    bool v = false;
    const int rc = sdk::parse_bool(s, &v);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL, "parse_bool returns 0 or -EINVAL");
    FUZZ_CHECK(!(s.empty() && rc == 0), "an empty buffer is not a bool");
    if (s.size() > 2) {
        bool w = !v;
        const int rc2 = sdk::parse_bool(s.substr(0, 2), &w);
        FUZZ_CHECK(rc2 == rc && (rc != 0 || w == v), "parse_bool looks at two characters at most");
    }
    if (rc == 0) {
        bool back = !v;
        FUZZ_CHECK(sdk::parse_bool(v ? "1\n" : "0\n", &back) == 0 && back == v, "1/0 round trip");
    }
}

// Input: names separated by '|', then '#', then the written text.
void check_choice(std::string_view s) {
    const size_t hash = s.find('#');
    const std::string_view list = s.substr(0, hash);
    const std::string_view text = hash == std::string_view::npos ? std::string_view() : s.substr(hash + 1);
    std::vector<std::string> names;
    for (size_t start = 0;;) {
        const size_t bar = list.find('|', start);
        names.emplace_back(list.substr(start, bar - start));
        if (bar == std::string_view::npos || names.size() == 16) break;
        start = bar + 1;
    }
    std::vector<const char*> ptrs;
    for (const std::string& n : names) ptrs.push_back(n.c_str());
    // c_str() stops at a NUL: compare with what the helpers see.
    std::vector<std::string_view> seen(ptrs.begin(), ptrs.end());

    const int idx = sdk::parse_choice(text, ptrs);
    if (idx >= 0) {
        FUZZ_CHECK(static_cast<size_t>(idx) < ptrs.size(), "the index is in range");
        FUZZ_CHECK(sdk::streq(text, seen[idx]), "the chosen name equals the text");
        for (int j = 0; j < idx; ++j) FUZZ_CHECK(!sdk::streq(text, seen[j]), "the first match is chosen");
    } else {
        FUZZ_CHECK(idx == -EINVAL, "no match is -EINVAL");
        for (std::string_view n : seen) FUZZ_CHECK(!sdk::streq(text, n), "a matching name was missed");
    }
    const size_t selected = text.empty() ? ptrs.size() : static_cast<unsigned char>(text[0]) % (ptrs.size() + 1);
    const std::string shown = sdk::format_choices(ptrs, selected);
    FUZZ_CHECK(!shown.empty() && shown.back() == '\n', "the list ends with a newline");
    if (selected < ptrs.size())
        FUZZ_CHECK(shown.find("[" + std::string(seen[selected]) + "]") != std::string::npos, "the selection is bracketed");
    for (size_t i = 0; i < seen.size(); ++i) {
        const int found = sdk::parse_choice(seen[i], ptrs);
        FUZZ_CHECK(found >= 0 && found <= static_cast<int>(i) && sdk::streq(seen[found], seen[i]),
                   "every name is found as written");
        // With the newline echo adds; not for a name that ends in one itself
        // (sysfs_streq strips only one newline per side, as Linux does).
        if (!seen[i].empty() && seen[i].back() == '\n') continue;
        const int found_nl = sdk::parse_choice(std::string(seen[i]) + "\n", ptrs);
        FUZZ_CHECK(found_nl == found, "every name is found with a trailing newline");
    }
}

void check_emit(std::string_view s) {
    const size_t cap = s.empty() ? 1 : 1 + static_cast<unsigned char>(s[0]) % 64;
    const std::string arg(s.substr(s.empty() ? 0 : 1));
    std::vector<char> page(cap);  // exact size: ASan sees any write past it
    const ssize_t n = sdk::emit(page.data(), cap, "%s", arg.c_str());
    FUZZ_CHECK(n >= 0 && static_cast<size_t>(n) < cap, "emit fits the buffer and leaves room for the NUL");
    FUZZ_CHECK(page[static_cast<size_t>(n)] == '\0', "emit terminates the text");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const uint8_t selector = data[0];
    const std::string_view s(reinterpret_cast<const char*>(data) + 1, size - 1);
    const bool ranged = selector & 0x80;
    switch (selector & 0x0f) {
        case 0: check_int_ranged<long>(s, ranged); break;
        case 1: check_int_ranged<unsigned long>(s, ranged); break;
        case 2: check_int_ranged<int>(s, ranged); break;
        case 3: check_int_ranged<unsigned>(s, ranged); break;
        case 4: check_int_ranged<int8_t>(s, ranged); break;
        case 5: check_int_ranged<uint8_t>(s, ranged); break;
        case 6: check_int_ranged<short>(s, ranged); break;
        case 7: {
            unsigned long a = 0, b = 0;
            const int r1 = sdk::parse_ulong(s, 0, ULONG_MAX, &a);
            const int r2 = sdk::parse_uint(s.data(), s.size(), 0, ULONG_MAX, &b);
            FUZZ_CHECK(r1 == r2 && a == b, "parse_uint is parse_ulong on a buffer");
            long c = 0, d = 0;
            FUZZ_CHECK(sdk::parse_long(s, LONG_MIN, LONG_MAX, &c) == sdk::parse_int<long>(s, LONG_MIN, LONG_MAX, &d) &&
                           c == d,
                       "parse_long is parse_int<long>");
            break;
        }
        case 8: check_bool(s); break;
        case 9: check_choice(s); break;
        case 10: check_emit(s); break;
        default: check_int_ranged<long long>(s, ranged); break;
    }
    return 0;
}
