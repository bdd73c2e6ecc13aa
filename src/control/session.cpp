// One control socket client: peer check, request lines, ordered replies, streams, a lossless close.
// The streams are the commands whose row of the table says so (monitor, log -f).
#include "session.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string_view>

#include "control/commands.hpp"

namespace driverfs::control {

namespace proto = driverfs::protocol;

namespace {

// Replies and events queued for one client beyond this mean it stopped
// reading: it is dropped rather than let the daemon's memory grow.
constexpr size_t kMaxQueued = 8 * 1024 * 1024;

void log_info(const std::string& m) { driverfs::log(LogLevel::info, m); }
void log_warning(const std::string& m) { driverfs::log(LogLevel::warning, m); }

}  // namespace

Session::Session(Server::Impl& srv, stream::socket sock)
    : srv_(srv), sock_(std::move(sock)), buf_(proto::kMaxLine + 1), linger_(srv.io) {}

Session::~Session() { unsubscribe(); }

void Session::start() {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(sock_.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        close();
        return;
    }
    if (cred.uid != 0 && cred.uid != geteuid()) {
        log_info("control: refused a client with uid " + std::to_string(cred.uid) + " (pid " +
                 std::to_string(cred.pid) + ")");
        send(proto::error_line(nullptr, EACCES,
                               "permission denied: uid " + std::to_string(cred.uid) +
                                   " may not use this socket (only uid " + std::to_string(geteuid()) +
                                   " and root)"));
        close_after_write_ = true;
        return;
    }
    read();
}

void Session::close() {
    if (closed_) return;
    closed_ = true;
    unsubscribe();
    linger_.cancel();
    boost::system::error_code ec;
    sock_.shutdown(stream::socket::shutdown_both, ec);
    sock_.close(ec);
    srv_.sessions.erase(shared_from_this());
    if (srv_.finishing && srv_.sessions.empty()) srv_.io.stop();  // the last one flushed
}

void Session::finish() {
    finishing_ = true;
    if (!writing_) close();
}

void Session::send(std::string line) {
    if (closed_) return;
    line += '\n';
    queued_ += line.size();
    if (queued_ > kMaxQueued) {
        log_warning("control: dropping a client that stopped reading");
        close();
        return;
    }
    out_.push_back(std::move(line));
    if (!writing_) write_next();
}


void Session::write_next() {
    if (out_.empty()) {
        writing_ = false;
        if (finishing_) {
            close();
        } else if (close_after_write_) {
            linger_close();
        }
        return;
    }
    writing_ = true;
    auto self = shared_from_this();
    asio::async_write(sock_, asio::buffer(out_.front()), [self](boost::system::error_code ec, size_t n) {
        if (self->closed_) return;
        if (ec) {
            self->close();
            return;
        }
        self->queued_ -= n;
        self->out_.pop_front();
        self->write_next();
    });
}

// Closing a Unix socket with unread input makes the peer's next read
// fail with ECONNRESET, losing our last line: say EOF, discard what the
// client still sends until it hangs up (at most 2 s), then close.
void Session::linger_close() {
    boost::system::error_code ec;
    sock_.shutdown(stream::socket::shutdown_send, ec);
    auto self = shared_from_this();
    linger_.expires_after(std::chrono::seconds(2));
    linger_.async_wait([self](boost::system::error_code) { self->close(); });
    drain();
}

void Session::drain() {
    auto self = shared_from_this();
    sock_.async_read_some(asio::buffer(scratch_), [self](boost::system::error_code ec, size_t) {
        if (self->closed_) return;
        if (ec) {
            self->close();
            return;
        }
        self->drain();
    });
}

void Session::read() {
    if (closed_ || close_after_write_) return;
    auto self = shared_from_this();
    asio::async_read_until(sock_, buf_, '\n', [self](boost::system::error_code ec, size_t n) {
        if (self->closed_) return;
        if (ec == asio::error::not_found) {
            // No newline within the limit: answer, then hang up.
            self->send(proto::error_line(nullptr, EMSGSIZE,
                                         "request line longer than " + std::to_string(proto::kMaxLine) +
                                             " bytes; closing the connection"));
            self->close_after_write_ = true;
            return;
        }
        if (ec) {  // EOF or reset: a request in flight still completes, its reply is dropped
            self->close();
            return;
        }
        std::string line(asio::buffers_begin(self->buf_.data()), asio::buffers_begin(self->buf_.data()) + n - 1);
        self->buf_.consume(n);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        self->handle(std::move(line));
    });
}

void Session::handle(std::string line) {
    if (line.find_first_not_of(" \t") == std::string::npos) {
        read();  // blank lines are ignored
        return;
    }
    auto parsed = proto::parse_request(line);
    if (auto* f = std::get_if<proto::Failure>(&parsed)) {
        send(proto::error_line(f->id, f->code, f->message));
        read();
        return;
    }
    proto::Request req = std::get<proto::Request>(std::move(parsed));
    if (srv_.refusing) {
        send(proto::error_line(req.id, ESHUTDOWN, "driverfsd is shutting down: no new requests"));
        read();
        return;
    }
    if (proto::streams(*proto::find_command(req.cmd), req.body)) {  // parse_request found the row
        stream(req);
        read();
        return;
    }
    // Core calls may block (an unload drains): off the I/O thread, and
    // this client's next request is read once this one is answered.
    auto self = shared_from_this();
    asio::post(*srv_.pool, [self, req = std::move(req)] {
        std::string reply = self->srv_.dispatcher.handle(req);
        asio::post(self->srv_.io, [self, reply = std::move(reply)]() mutable {
            self->send(std::move(reply));
            self->read();
        });
    });
}

void Session::stream(const proto::Request& req) {
    using Serve = void (Session::*)(const proto::Request&);
    struct Row {
        std::string_view name;
        Serve serve;
    };
    static constexpr Row kStreams[] = {{"monitor", &Session::monitor}, {"log", &Session::follow_log}};
    // Every row of the command table that streams has one server here.
    static_assert([] {
        for (const proto::Command& cmd : proto::kCommands) {
            size_t n = 0;
            for (const Row& r : kStreams) n += r.name == cmd.name;
            if (n != (cmd.stream_key && !cmd.local ? 1u : 0u)) return false;
        }
        return true;
    }());
    for (const Row& r : kStreams)
        if (r.name == req.cmd) (this->*r.serve)(req);
}

// The fields of a request that streams, checked against its row as the
// dispatcher checks the others: false once the refusal is sent.
bool Session::fields_ok(const proto::Request& req) {
    auto err = proto::check_fields(*proto::find_command(req.cmd), req.body);
    if (err) send(proto::error_line(req.id, EINVAL, *err));
    return !err;
}

void Session::monitor(const proto::Request& req) {
    const nlohmann::json& id = req.id;
    if (sub_) {
        send(proto::error_line(id, EALREADY, "this connection already monitors"));
        return;
    }
    if (!fields_ok(req)) return;
    EventQueue& q = srv_.core.events();
    send(proto::result_line(id, nlohmann::json{{"monitoring", true}, {"last_seqnum", q.last_seqnum()}}));
    // Called under the queue's delivery lock on the publisher's thread:
    // copy the event and post it, nothing more.
    std::weak_ptr<Session> weak = shared_from_this();
    asio::io_context& io = srv_.io;
    sub_ = q.subscribe([weak, &io, id](const Uevent& ev) {
        asio::post(io, [weak, id, ev] {
            if (auto s = weak.lock()) s->send(proto::event_line(id, event_to_json(ev)));
        });
    });
}

void Session::follow_log(const proto::Request& req) {
    if (log_follower_) {
        send(proto::error_line(req.id, EALREADY, "this connection already follows the log"));
        return;
    }
    if (!fields_ok(req)) return;
    // Runs on the logging thread under the ring's lock: copy and post.
    // Posted records run on this (the I/O) thread after this function,
    // so they follow the backlog sent below.
    std::weak_ptr<Session> weak = shared_from_this();
    asio::io_context& io = srv_.io;
    std::vector<LogRecord> backlog;
    const nlohmann::json id = req.id;
    log_follower_ = log_follow(log_after(req.body), backlog, [weak, &io, id](const LogRecord& rec) {
        asio::post(io, [weak, id, rec] {
            if (auto s = weak.lock()) s->send(log_line(id, rec));
        });
    });
    send(proto::result_line(id, nlohmann::json{{"following", true}}));
    for (const LogRecord& rec : backlog) send(log_line(id, rec));
}

std::string Session::log_line(const nlohmann::json& id, const LogRecord& rec) {
    return nlohmann::json{{"id", id}, {"log", log_record_to_json(rec)}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Session::unsubscribe() {
    if (sub_) {
        srv_.core.events().unsubscribe(*sub_);
        sub_.reset();
    }
    if (log_follower_) {
        log_unfollow(*log_follower_);
        log_follower_.reset();
    }
}

}  // namespace driverfs::control
