// The control protocol's lines: what driverfsd's socket and driverfsctl both speak.
// One JSON object per line each way. Nothing here knows the core; the
// daemon's dispatcher (src/control/) turns requests into core calls.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

namespace driverfs::protocol {

using json = nlohmann::json;

// Longest request or reply line, newline excluded. A longer request line is
// answered with EMSGSIZE and the connection is closed. An apply carries a
// whole description (a recording of 400 real devices is 340 KB of JSON, so
// 10,000 are some 8 MB); a session's buffer grows only as far as the line it
// is given, and only peers the socket admits can send one.
constexpr size_t kMaxLine = 32 * 1024 * 1024;

// A request that parsed: `id` is echoed in the reply (any JSON scalar);
// `body` is the whole object, its fields checked by the dispatcher.
struct Request {
    json id;
    std::string cmd;
    json body;
};

// A refused request: errno, message, and the id if one could be read (null
// otherwise), so the reply still echoes it.
struct Failure {
    json id;
    int code;
    std::string message;
};

// Parse one line (without its newline). Errors: EINVAL for malformed JSON, a
// non-object, a missing or non-string "cmd", an "id" that is an object or
// array; EMSGSIZE for a line over kMaxLine; ENOSYS for a command the daemon
// does not know (not in the command table, control/commands.hpp, or local there).
std::variant<Request, Failure> parse_request(std::string_view line);

// Reply lines (no trailing newline).
std::string result_line(const json& id, const json& result);
std::string error_line(const json& id, int code, std::string_view message);
std::string event_line(const json& id, const json& event);

// Field access with the type checked; the message names the field.
// Each returns nullopt-and-sets `err` when present with the wrong type;
// absent optional fields give nullopt with `err` empty.
std::optional<std::string> get_string(const json& body, const char* key, bool required, std::string& err);
std::optional<double> get_number(const json& body, const char* key, bool required, std::string& err);

// Errno name for messages ("ENOENT"); the number if unknown.
std::string errno_name(int code);

// The mount id of a mount point: its absolute path escaped as
// `systemd-escape --path` does ("/mnt/a b" -> "mnt-a\x20b", "/" -> "-").
std::string mount_id(std::string_view abs_path);
// Where driverfsd listens by default for a mount point (absolute path):
// /run/driverfs/<id>.sock for root, else $XDG_RUNTIME_DIR/driverfs/<id>.sock,
// else /tmp/driverfs-<uid>/<id>.sock.
std::string default_socket_path(std::string_view abs_mountpoint, unsigned euid, const char* xdg_runtime_dir);

}  // namespace driverfs::protocol
