// The control socket server: accept, check peer credentials, read lines,
// dispatch off the I/O thread, write replies and monitor streams.
#include "server.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "dispatcher.hpp"
#include "driverfs/log.hpp"
#include "driverfs/protocol.hpp"

namespace driverfs::control {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;
namespace proto = driverfs::protocol;

namespace {

// Replies and events queued for one client beyond this mean it stopped
// reading: it is dropped rather than let the daemon's memory grow.
constexpr size_t kMaxQueued = 8 * 1024 * 1024;
constexpr size_t kWorkers = 4;
// How long stop() waits for clients to take their last lines.
constexpr auto kFlushDeadline = std::chrono::milliseconds(500);

class Session;

}  // namespace

struct Server::Impl {
    Impl(Core& c, std::string p) : core(c), dispatcher(c), path(std::move(p)) {}

    Core& core;
    Dispatcher dispatcher;
    std::string path;
    asio::io_context io;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
    std::optional<stream::acceptor> acceptor;
    std::optional<asio::thread_pool> pool;
    std::thread thread;
    std::set<std::shared_ptr<Session>> sessions;  // I/O thread only
    bool refusing = false;                         // I/O thread only: stop_requests() was called
    bool finishing = false;                        // I/O thread only: stop() flushes the sessions
    std::optional<asio::steady_timer> flush_deadline;
    bool started = false, requests_stopped = false, stopped = false;

    void accept();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(Server::Impl& srv, stream::socket sock)
        : srv_(srv), sock_(std::move(sock)), buf_(proto::kMaxLine + 1), linger_(srv.io) {}

    ~Session() { unsubscribe(); }

    void start() {
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

    void close() {
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

    // Shutdown: send what is queued (a monitor's last events), then close,
    // without lingering for a client that will not hang up on its own.
    void finish() {
        finishing_ = true;
        if (!writing_) close();
    }

    // Queue a line; drop the client if it has stopped reading.
    void send(std::string line) {
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

private:
    void log_info(const std::string& m) { driverfs::log(LogLevel::info, m); }
    void log_warning(const std::string& m) { driverfs::log(LogLevel::warning, m); }

    void write_next() {
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
    void linger_close() {
        boost::system::error_code ec;
        sock_.shutdown(stream::socket::shutdown_send, ec);
        auto self = shared_from_this();
        linger_.expires_after(std::chrono::seconds(2));
        linger_.async_wait([self](boost::system::error_code) { self->close(); });
        drain();
    }

    void drain() {
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

    void read() {
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

    void handle(std::string line) {
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
        if (req.cmd == "monitor") {
            monitor(req.id);
            read();
            return;
        }
        if (auto f = req.body.find("follow"); req.cmd == "log" && f != req.body.end() && f->is_boolean() &&
                                               f->get<bool>()) {
            follow_log(req);
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

    void monitor(const nlohmann::json& id) {
        if (sub_) {
            send(proto::error_line(id, EALREADY, "this connection already monitors"));
            return;
        }
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

    // The records after "after" still in the ring, then each new one as the
    // daemon logs it, as {"id": ID, "log": RECORD} lines.
    void follow_log(const proto::Request& req) {
        if (log_follower_) {
            send(proto::error_line(req.id, EALREADY, "this connection already follows the log"));
            return;
        }
        Result<uint64_t> after = log_after(req.body);
        if (!after) {
            send(proto::error_line(req.id, after.error().code, after.error().message));
            return;
        }
        // Runs on the logging thread under the ring's lock: copy and post.
        // Posted records run on this (the I/O) thread after this function,
        // so they follow the backlog sent below.
        std::weak_ptr<Session> weak = shared_from_this();
        asio::io_context& io = srv_.io;
        std::vector<LogRecord> backlog;
        const nlohmann::json id = req.id;
        log_follower_ = log_follow(after.value(), backlog, [weak, &io, id](const LogRecord& rec) {
            asio::post(io, [weak, id, rec] {
                if (auto s = weak.lock()) s->send(log_line(id, rec));
            });
        });
        send(proto::result_line(id, nlohmann::json{{"following", true}}));
        for (const LogRecord& rec : backlog) send(log_line(id, rec));
    }

    static std::string log_line(const nlohmann::json& id, const LogRecord& rec) {
        return nlohmann::json{{"id", id}, {"log", log_record_to_json(rec)}}.dump(
            -1, ' ', false, nlohmann::json::error_handler_t::replace);
    }

    void unsubscribe() {
        if (sub_) {
            srv_.core.events().unsubscribe(*sub_);
            sub_.reset();
        }
        if (log_follower_) {
            log_unfollow(*log_follower_);
            log_follower_.reset();
        }
    }

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

Error sys_error(int e, const std::string& what) { return Error::of(e, what + ": " + std::strerror(e)); }

// Is something answering on this socket path?
bool socket_alive(const std::string& path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    bool alive = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(fd);
    return alive;
}

}  // namespace

void Server::Impl::accept() {
    acceptor->async_accept([this](boost::system::error_code ec, stream::socket sock) {
        if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
        if (!ec) {
            auto s = std::make_shared<Session>(*this, std::move(sock));
            sessions.insert(s);
            s->start();
        }
        accept();
    });
}

Server::Server(Core& core, std::string path) : impl_(std::make_unique<Impl>(core, std::move(path))) {}

Server::~Server() { stop(); }

const std::string& Server::path() const { return impl_->path; }

Status Server::start() {
    Impl& m = *impl_;
    const std::string& path = m.path;
    if (path.empty() || path.size() >= sizeof(sockaddr_un{}.sun_path))
        return Error::of(ENAMETOOLONG, "control socket path '" + path + "' is empty or longer than " +
                                           std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) +
                                           " bytes (use --control PATH)");
    const auto slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) {
        const std::string dir = path.substr(0, slash);
        if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
            return sys_error(errno, "cannot create control socket directory " + dir);
    }
    struct stat st;
    if (lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) return Error::of(EEXIST, path + " exists and is not a socket");
        if (socket_alive(path)) return Error::of(EADDRINUSE, "another daemon listens on " + path);
        unlink(path.c_str());
    }
    try {
        m.acceptor.emplace(m.io);
        m.acceptor->open(stream());
        // Owner-only from the start: no moment where others could connect.
        mode_t old = umask(0177);
        boost::system::error_code ec;
        m.acceptor->bind(stream::endpoint(path), ec);
        umask(old);
        if (ec) return Error::of(ec.value(), "cannot bind control socket " + path + ": " + ec.message());
        chmod(path.c_str(), 0600);
        m.acceptor->listen();
    } catch (const boost::system::system_error& e) {
        return Error::of(e.code().value(), "control socket " + path + ": " + e.what());
    }
    // Our threads must not take the signals the FUSE loop waits for.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    m.pool.emplace(kWorkers);
    m.guard.emplace(m.io.get_executor());
    m.accept();
    m.thread = std::thread([&m] { m.io.run(); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    m.started = true;
    return {};
}

void Server::stop_requests() {
    Impl& m = *impl_;
    if (!m.started || m.requests_stopped) return;
    m.requests_stopped = true;
    // Once this handler ran, no session posts to the pool (handle() checks
    // `refusing` on the same thread), so the join below waits for the
    // requests already running and nothing else.
    std::promise<void> refusing;
    asio::post(m.io, [&m, &refusing] {
        boost::system::error_code ec;
        m.acceptor->close(ec);
        m.refusing = true;
        refusing.set_value();
    });
    refusing.get_future().wait();
    m.pool->join();  // requests already running finish (an unload drains)
}

void Server::stop() {
    Impl& m = *impl_;
    if (!m.started || m.stopped) return;
    stop_requests();
    m.stopped = true;
    // Everything published so far was posted before this: each session
    // sends what it queued, then closes. The I/O thread stops once the last
    // one did, or at the deadline for clients that do not read.
    asio::post(m.io, [&m] {
        m.finishing = true;
        if (m.sessions.empty()) {
            m.io.stop();
            return;
        }
        m.flush_deadline.emplace(m.io, kFlushDeadline);
        m.flush_deadline->async_wait([&m](boost::system::error_code ec) {
            if (!ec) m.io.stop();
        });
        for (const auto& s : std::set<std::shared_ptr<Session>>(m.sessions)) s->finish();
    });
    m.thread.join();
    m.guard.reset();
    // Close what is left (clients that did not read in time); then drop
    // every session (their destructors unsubscribe from the core's events).
    for (const auto& s : std::set<std::shared_ptr<Session>>(m.sessions)) s->close();
    m.sessions.clear();
    m.flush_deadline.reset();
    m.io.restart();
    m.io.poll();  // run nothing new: sessions are closed; frees queued handlers
    unlink(m.path.c_str());
}

}  // namespace driverfs::control
