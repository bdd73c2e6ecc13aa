// One client of the control socket (Session): its requests, their replies, its streams.
// Its peer check, the request lines it sends, their replies in order, and
// the monitor and log streams it asked for. Every member runs on the
// server's I/O thread, except the dispatch of a request, which runs on the
// worker pool and posts its reply back.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/log.hpp"
#include "control/protocol.hpp"
#include "server_impl.hpp"

namespace driverfs::control {

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(Server::Impl& srv, stream::socket sock);
    ~Session();

    // Check the peer (root or our own uid), then read requests.
    void start();
    void close();
    // Shutdown: send what is queued (a monitor's last events), then close,
    // without lingering for a client that will not hang up on its own.
    void finish();
    // Queue a line; drop the client if it has stopped reading.
    void send(std::string line);

private:
    void write_next();
    void linger_close();
    void drain();
    void read();
    void handle(std::string line);
    // A request whose row streams: the server of its command below.
    void stream(const protocol::Request& req);
    bool fields_ok(const protocol::Request& req);
    void monitor(const protocol::Request& req);
    // The records after "after" still in the ring, then each new one as the
    // daemon logs it, as {"id": ID, "log": RECORD} lines.
    void follow_log(const protocol::Request& req);
    static std::string log_line(const nlohmann::json& id, const LogRecord& rec);
    void unsubscribe();

    Server::Impl& srv_;
    stream::socket sock_;
    asio::streambuf buf_;
    std::deque<std::string> out_;
    size_t queued_ = 0;
    bool writing_ = false;
    bool closed_ = false;
    bool close_after_write_ = false;
    bool finishing_ = false;
    std::optional<uint64_t> sub_;
    std::optional<uint64_t> log_follower_;
    asio::steady_timer linger_;
    std::array<char, 4096> scratch_;
};

}  // namespace driverfs::control
