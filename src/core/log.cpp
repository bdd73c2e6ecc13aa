// Logging: the stderr sink (the default) and the ring of recent messages.
// Every message written also goes to the ring that `driverfsctl log` reads.
#include "core/log.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <string>

namespace driverfs {
namespace {

LogSink& sink() {
    static LogSink s = [](LogLevel level, std::string_view msg) {
        std::string line = std::string("driverfsd: ") + log_level_name(level) + ": ";
        line.append(msg);
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), stderr);
    };
    return s;
}

std::atomic<LogLevel> threshold{LogLevel::info};

// The ring and its followers. mu guards all of it; a message is added and
// handed to the followers under one hold of mu, so the order followers see
// is the ring's order, and log_follow()'s backlog ends exactly where its
// first on_record() begins.
struct Ring {
    std::mutex mu;
    std::deque<LogRecord> records;
    size_t bytes = 0;
    uint64_t last_seq = 0;
    uint64_t next_follower = 1;
    std::map<uint64_t, std::function<void(const LogRecord&)>> followers;

    void add(LogLevel level, std::string message) {
        std::lock_guard lock(mu);
        bytes += message.size();
        records.push_back(LogRecord{++last_seq, std::chrono::system_clock::now(), level, std::move(message)});
        while (records.size() > kLogRingRecords || (bytes > kLogRingBytes && records.size() > 1)) {
            bytes -= records.front().message.size();
            records.pop_front();
        }
        for (auto& [id, fn] : followers) fn(records.back());
    }

    // mu held.
    std::vector<LogRecord> after_locked(uint64_t after) const {
        // seq is dense, so the first wanted record is found by arithmetic.
        std::vector<LogRecord> out;
        if (records.empty() || after >= last_seq) return out;
        const uint64_t first = records.front().seq;
        size_t skip = after < first ? 0 : static_cast<size_t>(after - first + 1);
        out.assign(records.begin() + static_cast<std::ptrdiff_t>(skip), records.end());
        return out;
    }
};

// Never destroyed: a plugin's stray thread may still log while the
// daemon's static objects are being destroyed at exit.
Ring& ring() {
    static Ring* r = new Ring;
    return *r;
}

}  // namespace

const char* log_level_name(LogLevel level) {
    switch (level) {
    case LogLevel::err: return "error";
    case LogLevel::warning: return "warning";
    case LogLevel::info: return "info";
    case LogLevel::debug: return "debug";
    }
    return "?";
}

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
    std::string text = std::none_of(message.begin(), message.end(), control) ? std::string(message)
                                                                            : printable(message);
    sink()(level, text);
    ring().add(level, std::move(text));
}

std::vector<LogRecord> log_records(uint64_t after) {
    Ring& r = ring();
    std::lock_guard lock(r.mu);
    return r.after_locked(after);
}

uint64_t log_follow(uint64_t after, std::vector<LogRecord>& backlog, std::function<void(const LogRecord&)> on_record) {
    Ring& r = ring();
    std::lock_guard lock(r.mu);
    backlog = r.after_locked(after);
    const uint64_t id = r.next_follower++;
    r.followers.emplace(id, std::move(on_record));
    return id;
}

void log_unfollow(uint64_t id) {
    Ring& r = ring();
    std::lock_guard lock(r.mu);
    r.followers.erase(id);
}

}  // namespace driverfs
