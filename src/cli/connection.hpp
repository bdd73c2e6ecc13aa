// driverfsctl's line-oriented connection to the daemon's control socket,
// shared by its one-shot commands, its streams and top.
#pragma once

#include <string>

#include "control/protocol.hpp"

namespace driverfs::cli {

class Conn {
public:
    Conn() = default;
    ~Conn();
    Conn(const Conn&) = delete;
    Conn& operator=(const Conn&) = delete;

    // 0, or the errno with a message in `err` that says what to check.
    int open(const std::string& path, std::string& err);
    bool send_line(const std::string& line);
    // One line without its newline; false at end of stream (or a line
    // longer than the protocol allows).
    bool read_line(std::string& line);

private:
    int fd_ = -1;
    std::string buf_;
};

// Read one reply line as a JSON object: 0, or the errno with a message in
// `err` (ECONNRESET: the daemon hung up; EPROTO: not a JSON object).
int read_reply(Conn& c, protocol::json& reply, std::string& err);

}  // namespace driverfs::cli
