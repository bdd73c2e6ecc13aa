// Logging: the default sink writes one line per message to stderr.
#include "driverfs/log.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>

namespace driverfs {
namespace {

const char* level_name(LogLevel level) {
    switch (level) {
    case LogLevel::err: return "error";
    case LogLevel::warning: return "warning";
    case LogLevel::info: return "info";
    case LogLevel::debug: return "debug";
    }
    return "?";
}

LogSink& sink() {
    static LogSink s = [](LogLevel level, std::string_view msg) {
        std::string line = std::string("driverfsd: ") + level_name(level) + ": ";
        line.append(msg);
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), stderr);
    };
    return s;
}

std::atomic<LogLevel> threshold{LogLevel::info};

}  // namespace

void set_log_sink(LogSink s) { sink() = std::move(s); }
void set_log_threshold(LogLevel max_level) { threshold = max_level; }

bool log_enabled(LogLevel level) { return static_cast<int>(level) <= static_cast<int>(threshold.load()); }

std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (unsigned char c : text) {
        if (c >= 0x20 && c != 0x7f) {
            out += static_cast<char>(c);
            continue;
        }
        char esc[5];
        std::snprintf(esc, sizeof esc, "\\x%02x", c);
        out += esc;
    }
    return out;
}

// Messages quote what users and plugins wrote (names, exception texts);
// a NUL or a newline there would cut or forge log lines.
void log(LogLevel level, std::string_view message) {
    if (!log_enabled(level)) return;
    auto control = [](unsigned char c) { return c < 0x20 || c == 0x7f; };
    if (std::none_of(message.begin(), message.end(), control)) return sink()(level, message);
    sink()(level, printable(message));
}

}  // namespace driverfs
