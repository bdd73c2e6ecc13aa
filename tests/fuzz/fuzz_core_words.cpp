// Fuzz target: the line parsers behind bus/*/new_device ("NAME [KEY=VALUE
// ...]") and devices/*/uevent ("ACTION [UUID] [KEY=VALUE ...]") in
// src/core/core_attr.cpp (split_words) and src/core/validate.cpp
// (parse_properties, valid_object_name).
// Properties, beyond not crashing:
//  - words are non-empty and hold no white space; joining them with one
//    space and splitting again gives the same words;
//  - parse_properties accepts exactly when every word from the first on has
//    a '=' that is not its first character, and then maps each key to the
//    value of its last occurrence; the map written back as KEY=VALUE words
//    parses to the same map; a refusal is EINVAL naming the bad word;
//  - valid_object_name accepts exactly 1-64 of [A-Za-z0-9_.:-], not . or ..
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "check.hpp"
#include "core_attr.hpp"
#include "core/validate.hpp"

using namespace driverfs;

namespace {

bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

bool name_ok(std::string_view s) {
    if (s.empty() || s.size() > 64 || s == "." || s == "..") return false;
    for (char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                        c == '-' || c == '.' || c == ':';
        if (!ok) return false;
    }
    return true;
}

void check_properties(const std::vector<std::string>& words, size_t first) {
    auto props = parse_properties(words, first);
    size_t bad = words.size();
    for (size_t i = first; i < words.size() && bad == words.size(); ++i) {
        const size_t eq = words[i].find('=');
        if (eq == 0 || eq == std::string::npos) bad = i;
    }
    if (bad != words.size()) {
        FUZZ_CHECK(!props, "a word without KEY= is refused");
        FUZZ_CHECK(props.error().code == EINVAL, "the refusal is EINVAL");
        FUZZ_CHECK(props.error().message.find("'" + words[bad] + "'") != std::string::npos,
                   "the refusal names the first bad word");
        return;
    }
    FUZZ_CHECK(static_cast<bool>(props), "KEY=VALUE words are accepted");
    std::map<std::string, std::string> want;
    for (size_t i = first; i < words.size(); ++i) {
        const size_t eq = words[i].find('=');
        want[words[i].substr(0, eq)] = words[i].substr(eq + 1);
    }
    FUZZ_CHECK(props.value() == want, "each key maps to its last value");
    std::vector<std::string> back;
    for (const auto& [k, v] : props.value()) back.push_back(k + "=" + v);
    auto again = parse_properties(back, 0);
    FUZZ_CHECK(again && again.value() == props.value(), "map -> words -> map round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const std::vector<std::string> words = split_words(text);
    std::string joined;
    for (const std::string& w : words) {
        FUZZ_CHECK(!w.empty(), "no empty word");
        for (char c : w) FUZZ_CHECK(!space(c), "no white space inside a word");
        joined += (joined.empty() ? "" : " ") + w;
    }
    FUZZ_CHECK(split_words(joined) == words, "join/split round trip");
    size_t nonspace = 0, inwords = 0;
    for (char c : text) nonspace += !space(c);
    for (const std::string& w : words) inwords += w.size();
    FUZZ_CHECK(nonspace == inwords, "every non-space byte lands in a word");

    FUZZ_CHECK(chomp(text).size() + (!text.empty() && text.back() == '\n') == text.size(), "chomp drops one newline");
    FUZZ_CHECK(valid_object_name(text) == name_ok(text), "valid_object_name is the documented rule");
    for (const std::string& w : words) FUZZ_CHECK(valid_object_name(w) == name_ok(w), "valid_object_name on a word");

    check_properties(words, 1);  // new_device: NAME, then properties
    check_properties(words, 2);  // uevent: ACTION UUID, then properties
    return 0;
}
