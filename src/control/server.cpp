// The control socket server: bind the socket, accept clients (session.cpp
// serves each), stop in two steps (refuse requests, then flush and close).
#include "server.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>

#include "server_impl.hpp"
#include "session.hpp"

namespace driverfs::control {

namespace {

constexpr size_t kWorkers = 4;
// How long stop() waits for clients to take their last lines.
constexpr auto kFlushDeadline = std::chrono::milliseconds(500);

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
