// What the control server and its sessions share: the socket's io_context,
// the worker pool and the set of live sessions. Private to src/control.
#pragma once

#include <boost/asio.hpp>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "dispatcher.hpp"
#include "server.hpp"

namespace driverfs::control {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

class Session;

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

}  // namespace driverfs::control
