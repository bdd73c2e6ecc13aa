// Logging: one replaceable sink for the daemon (stderr, syslog, tests) and a ring of recent messages.
// The ring is bounded; `driverfsctl log` reads it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace driverfs {

enum class LogLevel { err = 3, warning = 4, info = 6, debug = 7 };

using LogSink = std::function<void(LogLevel, std::string_view)>;

// Replace the sink (default: stderr). Not thread-safe: call before serving.
void set_log_sink(LogSink sink);
void set_log_threshold(LogLevel max_level);
// Write one message; control bytes in it (NUL, newline, ...) are written
// as \xNN, so every message stays one line of text. Every message written
// is also kept in the ring below.
void log(LogLevel level, std::string_view message);
// `text` with its control bytes as \xNN: for messages that quote input.
std::string printable(std::string_view text);
// Whether a message at `level` would be written: lets hot paths skip
// building it.
bool log_enabled(LogLevel level);
// "error", "warning", "info", "debug".
const char* log_level_name(LogLevel level);

// One message as the ring keeps it; `seq` counts from 1 over the daemon's
// life, so a reader can ask for what came after the last one it saw.
struct LogRecord {
    uint64_t seq = 0;
    std::chrono::system_clock::time_point time;
    LogLevel level = LogLevel::info;
    std::string message;  // printable: no control bytes
};

// The ring keeps the newest kLogRingRecords messages, fewer if their text
// passes kLogRingBytes: like the kernel's log buffer, old messages go first.
inline constexpr size_t kLogRingRecords = 2048;
inline constexpr size_t kLogRingBytes = 1024 * 1024;

// Messages with seq > after still in the ring, oldest first.
std::vector<LogRecord> log_records(uint64_t after);

// Follow the log: `backlog` gets the records with seq > after, and `on_record`
// every later one, with no gap or repeat between the two. `on_record` runs
// on the logging thread with the ring's lock held, so it must not log or
// block: copy the record and hand it on. Returns the id for log_unfollow().
uint64_t log_follow(uint64_t after, std::vector<LogRecord>& backlog,
                    std::function<void(const LogRecord&)> on_record);
// After this returns, `on_record` of that id runs no more.
void log_unfollow(uint64_t id);

}  // namespace driverfs
