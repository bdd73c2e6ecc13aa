// The command table's checks: does a request stream, are its fields of their row's types.
#include "control/commands.hpp"

namespace driverfs::protocol {

namespace {

std::string in_quotes(std::string_view key) { return "\"" + std::string(key) + "\""; }

// The message for a bad `p`, or "" when it is absent or of its type.
std::string check_field(const Param& p, const json& body) {
    std::string err;
    auto it = body.find(p.key);
    const bool absent = it == body.end() || it->is_null();
    switch (p.type) {
        case Type::name:
            if (auto v = get_string(body, p.key, true, err); v && v->empty())
                return in_quotes(p.key) + " must not be empty";
            return err;
        case Type::text:
            get_string(body, p.key, false, err);
            return err;
        case Type::seconds:
            if (auto t = get_number(body, p.key, false, err); t && !(*t > 0 && *t <= 3600))
                return in_quotes(p.key) + " is seconds, more than 0 and at most 3600";
            return err;
        case Type::flag:
            return absent || it->is_boolean() ? "" : in_quotes(p.key) + " must be true or false";
        case Type::seq:
            if (absent || it->is_number_unsigned() || (it->is_number_integer() && it->get<long long>() >= 0))
                return "";
            return in_quotes(p.key) + " must be a whole number >= 0 (a seq of an earlier record)";
        case Type::properties:
            if (absent) return "";
            if (!it->is_object()) return in_quotes(p.key) + " must be an object of strings";
            for (const auto& [k, v] : it->items())
                if (!v.is_string()) return in_quotes(std::string(p.key) + "." + k) + " must be a string";
            return "";
        case Type::document:
            return "";
    }
    return "";
}

}  // namespace

bool streams(const Command& cmd, const json& body) {
    if (!cmd.stream_key) return false;
    if (!cmd.stream_if) return true;
    auto it = body.find(cmd.stream_if);
    return it != body.end() && it->is_boolean() && it->get<bool>();
}

std::optional<std::string> check_fields(const Command& cmd, const json& body) {
    for (const Param& p : cmd.params)
        if (std::string err = check_field(p, body); !err.empty()) return err;
    return std::nullopt;
}

}  // namespace driverfs::protocol
