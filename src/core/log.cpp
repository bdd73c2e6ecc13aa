// Logging: the default sink writes one line per message to stderr.
#include "driverfs/log.hpp"

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

void log(LogLevel level, std::string_view message) {
    if (!log_enabled(level)) return;
    sink()(level, message);
}

}  // namespace driverfs
