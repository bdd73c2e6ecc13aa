// Logging: one sink for the daemon, replaceable (stderr, syslog, tests).
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace driverfs {

enum class LogLevel { err = 3, warning = 4, info = 6, debug = 7 };

using LogSink = std::function<void(LogLevel, std::string_view)>;

// Replace the sink (default: stderr). Not thread-safe: call before serving.
void set_log_sink(LogSink sink);
void set_log_threshold(LogLevel max_level);
// Write one message; control bytes in it (NUL, newline, ...) are written
// as \xNN, so every message stays one line of text.
void log(LogLevel level, std::string_view message);
// `text` with its control bytes as \xNN: for messages that quote input.
std::string printable(std::string_view text);
// Whether a message at `level` would be written: lets hot paths skip
// building it.
bool log_enabled(LogLevel level);

}  // namespace driverfs
