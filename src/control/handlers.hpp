// The daemon's side of the command table (control/commands.hpp): one handler per row it answers.
// Private to src/control.
#pragma once

#include <mutex>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/core.hpp"

namespace driverfs::control {

// What a handler works on.
struct HandlerContext {
    Core& core;
    std::mutex& apply_mu;  // one apply at a time: its rollback must see only its own changes
};

// A request's fields were checked against its row before the handler runs;
// what is left to it is what a type cannot say (a known bus, a valid
// property name). Returns the result object or the error of the reply.
using Handler = Result<nlohmann::json> (*)(HandlerContext& ctx, const nlohmann::json& body);

// The handler of the row `name`; nullptr for a row the daemon does not
// answer through the dispatcher (a local one, or one that always streams).
Handler find_handler(std::string_view name);

}  // namespace driverfs::control
