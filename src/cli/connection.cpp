// The control socket connection driverfsctl uses (connection.hpp).
#include "connection.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace driverfs::cli {

Conn::~Conn() {
    if (fd_ >= 0) close(fd_);
}

int Conn::open(const std::string& path, std::string& err) {
    sockaddr_un sa{};
    if (path.size() >= sizeof sa.sun_path) {
        err = "socket path too long (" + std::to_string(path.size()) + " bytes, at most " +
              std::to_string(sizeof sa.sun_path - 1) + "): " + path;
        return ENAMETOOLONG;
    }
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        const int e = errno;
        err = std::string("socket: ") + std::strerror(e);
        return e;
    }
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.c_str(), path.size());
    if (connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        const int e = errno;
        err = "cannot connect to " + path + ": " + std::strerror(e) +
              (e == ENOENT || e == ECONNREFUSED ? " (is driverfsd running? see --socket/--mount)" : "");
        return e;
    }
    return 0;
}

bool Conn::send_line(const std::string& line) {
    std::string data = line + "\n";
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        off += static_cast<size_t>(n);
    }
    return true;
}

bool Conn::read_line(std::string& line) {
    for (;;) {
        if (auto nl = buf_.find('\n'); nl != std::string::npos) {
            line = buf_.substr(0, nl);
            buf_.erase(0, nl + 1);
            return true;
        }
        if (buf_.size() > protocol::kMaxLine) return false;
        char chunk[65536];
        ssize_t n = ::read(fd_, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        buf_.append(chunk, static_cast<size_t>(n));
    }
}

int read_reply(Conn& c, protocol::json& reply, std::string& err) {
    std::string line;
    if (!c.read_line(line)) {
        err = "the daemon closed the connection without answering";
        return ECONNRESET;
    }
    reply = protocol::json::parse(line, nullptr, false);
    if (reply.is_discarded() || !reply.is_object()) {
        err = "the daemon sent something that is not a JSON object: " + line.substr(0, 200);
        return EPROTO;
    }
    return 0;
}

}  // namespace driverfs::cli
