// The command table: every command driverfsctl and driverfsd know, one row each.
// A row says what the request carries (fields with their types and how
// driverfsctl fills them from its words), the --help line, how driverfsctl
// prints the reply and whether the command streams. driverfsd checks the
// fields from the row before its handler runs (src/control/handlers.cpp, one
// function per daemon row, which the build checks); driverfsctl builds the
// request, its usage errors, --help and output from the same row. Adding a
// command is one row here and one handler there.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "control/reply_text.hpp"

namespace driverfs::protocol {

// What a request field holds; the daemon refuses another type with EINVAL
// naming the field.
enum class Type {
    name,        // a non-empty string, required
    text,        // a string, optional
    seconds,     // a number, more than 0 and at most 3600, optional
    flag,        // true or false, optional
    seq,         // a whole number >= 0 (the seq of a log record), optional
    properties,  // an object of strings, optional
    document,    // any JSON, optional (the handler says when it is needed)
};

// Where driverfsctl takes a field from.
enum class Form {
    word,        // the next positional word
    path,        // the next positional word, made absolute if it holds a '/'
                 // (the daemon's working directory is /)
    rest,        // the remaining words, each KEY=VALUE
    file,        // the next word names a file: its bytes here, its name in "file"
    option,      // the value of `option` (--opt VALUE or --opt=VALUE)
    flag,        // true when `option` or `short_option` is given
    none,        // not from the command line
};

struct Param {
    const char* key;  // the request field
    Type type;
    Form form;
    const char* option = nullptr;        // "--timeout"
    const char* short_option = nullptr;  // "-f"
};

// How the reply is printed: `print` the result without --json (nullptr:
// nothing). A command that answers with a sequence prints it item by item
// with `print_item` (one JSON object a line with --json): the result's array
// `items`, then, where it streams, the `stream_key` object of each line that
// follows, until the daemon hangs up.
struct Command {
    std::string_view name;
    std::span<const Param> params;  // checked in this order
    const char* synopsis;           // "unload NAME [--timeout[=]SECS]"
    const char* help;               // --help ("" the synopsis alone); nullptr: on the line of the row before
    PrintResult print = nullptr;
    const char* items = nullptr;
    PrintItem print_item = nullptr;
    const char* stream_key = nullptr;  // nullptr: answers once
    const char* stream_if = nullptr;   // the flag field that asks for the stream; nullptr: always
    bool local = false;                // run by driverfsctl itself; the daemon does not know it
};

namespace rows {

inline constexpr Param kLoad[] = {{"plugin", Type::name, Form::path}};
inline constexpr Param kUnload[] = {{"module", Type::name, Form::word},
                                    {"timeout", Type::seconds, Form::option, "--timeout"}};
inline constexpr Param kAddDevice[] = {{"bus", Type::name, Form::word},
                                       {"name", Type::name, Form::word},
                                       {"parent", Type::text, Form::option, "--parent"},
                                       {"properties", Type::properties, Form::rest}};
inline constexpr Param kRemoveDevice[] = {{"name", Type::name, Form::word}};
inline constexpr Param kBind[] = {{"bus", Type::name, Form::word},
                                  {"driver", Type::name, Form::word},
                                  {"device", Type::name, Form::word}};
inline constexpr Param kSetAttribute[] = {{"path", Type::name, Form::word},
                                          {"value", Type::text, Form::word},
                                          {"no_newline", Type::flag, Form::flag, "--no-newline", "-n"}};
inline constexpr Param kLog[] = {{"follow", Type::flag, Form::flag, "--follow", "-f"},
                                 {"after", Type::seq, Form::none}};
inline constexpr Param kApply[] = {{"text", Type::text, Form::file},
                                   {"file", Type::text, Form::none},
                                   {"config", Type::document, Form::none}};

}  // namespace rows

// In the order --help lists them.
inline constexpr Command kCommands[] = {
    {"load", rows::kLoad, "load PATH|NAME", "load a driver plugin"},
    {"unload", rows::kUnload, "unload NAME [--timeout[=]SECS]", "unload a plugin (drains running calls)"},
    {"list", {}, "list", "loaded and known modules (like lsmod)", print_list},
    {"devices", {}, "devices", "the device tree with drivers and state", print_devices},
    {"add-device", rows::kAddDevice, "add-device BUS NAME [KEY=VALUE...] [--parent[=]DEV]", ""},
    {"remove-device", rows::kRemoveDevice, "remove-device NAME|PATH",
     "remove a device and its children; a PATH\n(devices/...) names a declarative device"},
    {"bind", rows::kBind, "bind BUS DRIVER DEVICE", "bind a device to a driver"},
    {"unbind", rows::kBind, "unbind BUS DRIVER DEVICE", "unbind it"},
    {"set-attribute", rows::kSetAttribute, "set-attribute PATH VALUE [-n|--no-newline]",
     "what a described device's attribute shows from\nnow on, whatever its mode (hardware changing);\n"
     "VALUE and a newline, as echo writes (-n: none)"},
    {"suspend", {}, "suspend", "system suspend / resume of every device"},
    {"resume", {}, "resume", nullptr},
    {"purge", {}, "purge", "free inactive driver stubs", print_purge},
    {"stats", {}, "stats", "core counters", print_stats},
    {"driver-stats", {}, "driver-stats", "per-driver calls, errors, in_flight, refused, slowest",
     print_driver_stats},
    {"top", {}, "top [--interval SECS] [--count N]", "driver-stats refreshed, with calls/s (like top)",
     nullptr, nullptr, nullptr, nullptr, nullptr, true},
    {"monitor", {}, "monitor", "print events as they happen (until interrupted)", nullptr, nullptr,
     print_event, "event"},
    {"log", rows::kLog, "log [-f|--follow]",
     "the daemon's recent messages (the newest 2048,\n1 MiB of text at most);\n"
     "-f: then each new one (until interrupted)",
     nullptr, "records", print_log_record, "log", "follow"},
    {"apply", rows::kApply, "apply FILE", "apply a device description (JSON or .umockdev)", print_apply},
    {"record", {}, "record [--no-parents] SYSPATH...",
     "print real sysfs devices as a description\n(no daemon needed; record --help)", nullptr, nullptr,
     nullptr, nullptr, nullptr, true},
    {"ping", {}, "ping", "check that the daemon answers", print_ping},
};

// The row named `name` (local ones too), or nullptr.
constexpr const Command* find_command(std::string_view name) {
    for (const Command& c : kCommands)
        if (c.name == name) return &c;
    return nullptr;
}

// Does this request ask for a stream of lines after its reply? The socket
// server serves those itself; the dispatcher answers only the others.
bool streams(const Command& cmd, const json& body);

// The fields of `cmd` type-checked in row order: nullopt, or the message
// naming the first bad field (the daemon's EINVAL).
std::optional<std::string> check_fields(const Command& cmd, const json& body);

}  // namespace driverfs::protocol
