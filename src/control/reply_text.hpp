// How driverfsctl prints a reply: one function per kind of result, named by the command table.
// Tables for list and driver-stats, a tree for devices.
#pragma once

#include "control/protocol.hpp"

namespace driverfs::protocol {

// A result as text (without --json).
using PrintResult = void (*)(const json& result);
// One item of a sequence (a log record, an event): as text, or as one line of JSON.
using PrintItem = void (*)(const json& item, bool as_json);

void print_list(const json& result);
void print_devices(const json& result);
void print_stats(const json& result);
void print_driver_stats(const json& result);
void print_purge(const json& result);
void print_ping(const json& result);
// What an apply did: loaded, added, already present.
void print_apply(const json& result);
// One log record: "TIME LEVEL: MESSAGE", or its JSON object on one line.
void print_log_record(const json& rec, bool as_json);
void print_event(const json& ev, bool as_json);

}  // namespace driverfs::protocol
