// Control protocol: parse request lines, build reply lines (no sockets, no core).
#include "control/protocol.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "control/commands.hpp"

namespace driverfs::protocol {

std::variant<Request, Failure> parse_request(std::string_view line) {
    if (line.size() > kMaxLine)
        return Failure{nullptr, EMSGSIZE, "request line longer than " + std::to_string(kMaxLine) + " bytes"};
    json j = json::parse(line.begin(), line.end(), nullptr, false);
    if (j.is_discarded()) return Failure{nullptr, EINVAL, "malformed JSON"};
    if (!j.is_object()) return Failure{nullptr, EINVAL, "a request must be a JSON object"};
    json id = nullptr;
    if (auto it = j.find("id"); it != j.end()) {
        if (it->is_object() || it->is_array())
            return Failure{nullptr, EINVAL, "\"id\" must be a number, string or null"};
        id = *it;
    }
    auto cmd = j.find("cmd");
    if (cmd == j.end()) return Failure{id, EINVAL, "missing \"cmd\""};
    if (!cmd->is_string()) return Failure{id, EINVAL, "\"cmd\" must be a string"};
    std::string name = cmd->get<std::string>();
    if (const Command* c = find_command(name); !c || c->local) return Failure{id, ENOSYS, "unknown command '" + name + "'"};
    return Request{std::move(id), std::move(name), std::move(j)};
}

std::string result_line(const json& id, const json& result) {
    return json{{"id", id}, {"result", result}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string error_line(const json& id, int code, std::string_view message) {
    json err{{"errno", code}, {"name", errno_name(code)}, {"message", std::string(message)}};
    return json{{"id", id}, {"error", err}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string event_line(const json& id, const json& event) {
    return json{{"id", id}, {"event", event}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

// The field `key` if it holds the type `want` accepts; `kind` names that type
// in the message.
template <typename T>
std::optional<T> get_field(const json& body, const char* key, bool required, std::string& err,
                           bool (json::*want)() const noexcept, const char* kind) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) {
        if (required) err = std::string("missing \"") + key + "\"";
        return std::nullopt;
    }
    if (!((*it).*want)()) {
        err = std::string("\"") + key + "\" must be " + kind;
        return std::nullopt;
    }
    return it->get<T>();
}

}  // namespace

std::optional<std::string> get_string(const json& body, const char* key, bool required, std::string& err) {
    return get_field<std::string>(body, key, required, err, &json::is_string, "a string");
}

std::optional<double> get_number(const json& body, const char* key, bool required, std::string& err) {
    return get_field<double>(body, key, required, err, &json::is_number, "a number");
}

std::string errno_name(int code) {
    if (const char* n = strerrorname_np(code)) return n;
    return std::to_string(code);
}

std::string mount_id(std::string_view path) {
    while (!path.empty() && path.front() == '/') path.remove_prefix(1);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    if (path.empty()) return "-";
    std::string out;
    for (size_t i = 0; i < path.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(path[i]);
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                           c == '_' || c == ':' || (c == '.' && !out.empty());
        if (c == '/') {
            if (!out.empty() && out.back() == '-' && i > 0 && path[i - 1] == '/') continue;  // "a//b"
            out += '-';
        } else if (plain) {
            out += static_cast<char>(c);
        } else {
            char buf[5];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    return out;
}

std::string default_socket_path(std::string_view mountpoint, unsigned euid, const char* xdg) {
    std::string dir;
    if (euid == 0)
        dir = "/run/driverfs";
    else if (xdg && *xdg == '/')
        dir = std::string(xdg) + "/driverfs";
    else
        dir = "/tmp/driverfs-" + std::to_string(euid);
    return dir + "/" + mount_id(mountpoint) + ".sock";
}

}  // namespace driverfs::protocol
