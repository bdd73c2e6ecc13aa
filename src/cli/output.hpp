// How driverfsctl prints a reply without --json: one function per kind of
// result (tables for list and driver-stats, a tree for devices).
#pragma once

#include <string>

#include "control/protocol.hpp"

namespace driverfs::cli::output {

using protocol::json;

// j[key] as text: strings as they are, other values as JSON, "" if absent.
std::string str(const json& j, const char* key);

void print_list(const json& result);
void print_devices(const json& result);
void print_stats(const json& result);
void print_driver_stats(const json& result);
// One log record: "TIME LEVEL: MESSAGE", or its JSON object on one line.
void print_log_record(const json& rec, bool as_json);
void print_event(const json& ev, bool as_json);

}  // namespace driverfs::cli::output
