// The control socket: a Unix stream socket served by its own io_context
// thread; requests run on a small worker pool so a draining unload never
// stalls other clients or monitor streams. FUSE threads never touch it.
#pragma once

#include <memory>
#include <string>

#include "core/core.hpp"
#include "core/error.hpp"

namespace driverfs::control {

class Server {
public:
    // `path`: the socket to create. Nothing happens until start().
    Server(Core& core, std::string path);
    ~Server();  // stop()
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Create the socket's directory (0700) if missing, bind the socket
    // (0600; a stale socket nobody answers on is replaced, a live one is
    // EADDRINUSE) and start the threads. Call before FUSE starts its threads:
    // ours block the signals the mount loop handles.
    Status start();
    // Accept no more connections and refuse new requests (ESHUTDOWN); wait
    // for the running ones. Monitors and log followers stay connected, so
    // what the shutdown after this publishes still reaches them.
    // Idempotent.
    void stop_requests();
    // stop_requests(), then send every connection what is queued for it
    // (at most 0.5 s for clients that do not read), close them, join the
    // threads, remove the socket. Idempotent.
    void stop();

    const std::string& path() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace driverfs::control
