// The dispatcher: one parsed request -> core calls -> one reply line.
// Pure of sockets, so every command is unit-testable; may block (unload
// drains), so the server runs it off its I/O thread.
#pragma once

#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/core.hpp"
#include "core/log.hpp"
#include "control/protocol.hpp"

namespace driverfs::control {

// A Uevent as the protocol shows it.
nlohmann::json event_to_json(const Uevent& ev);
// A log record as the protocol shows it: seq, time (UTC, ISO 8601 with
// microseconds), level name, message.
nlohmann::json log_record_to_json(const LogRecord& rec);
// The "after" of a log request its row checked: absent is 0.
uint64_t log_after(const nlohmann::json& body);

class Dispatcher {
public:
    explicit Dispatcher(Core& core) : core_(core) {}

    // Run a request (one that streams excepted: the server serves those) and
    // return the reply line, without its newline. Never throws.
    std::string handle(const protocol::Request& req);
    // parse_request + handle: one request line in, one reply line out.
    std::string handle_line(std::string_view line);

private:
    // The fields checked against the command's row (control/commands.hpp),
    // then its handler (handlers.cpp): the result object, or an Error for
    // the reply's "error".
    Result<nlohmann::json> run(const protocol::Request& req);

    Core& core_;
    std::mutex apply_mu_;  // one apply at a time: its rollback must see only its own changes
};

}  // namespace driverfs::control
