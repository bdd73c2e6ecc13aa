// The udev front end: turns the core's uevents into what udev's users read.
// That is libudev netlink messages (multicast group 2) and a udev database directory.
// It sits on the core's EventQueue, like the control plane's monitor, and
// knows nothing of FUSE or the control socket.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "database.hpp"
#include "core/error.hpp"
#include "core/events.hpp"

namespace driverfs::udev {

struct Options {
    bool netlink = false;   // send libudev messages on NETLINK_KOBJECT_UEVENT group 2
    std::string database;   // keep a udev database here; empty: none
};

class FrontEnd {
public:
    // Opens the socket and the database and subscribes to events. Refuses
    // netlink in the host's network namespace (see netlink_is_private()).
    static Result<std::unique_ptr<FrontEnd>> start(EventQueue& events, Options opts);
    ~FrontEnd();
    FrontEnd(const FrontEnd&) = delete;
    FrontEnd& operator=(const FrontEnd&) = delete;

    // Returns once every event published before the call has been sent and
    // written: the daemon calls it before its mount appears, so a program
    // started on the mount finds the database complete.
    void wait_idle();

private:
    FrontEnd(EventQueue& events, Options opts, int sock, std::optional<Database> db);
    void run();
    void deliver(const Uevent& ev);

    EventQueue& events_;
    const Options opts_;
    const int sock_;  // -1 without netlink
    std::optional<Database> db_;
    uint64_t subscription_ = 0;
    bool warned_send_ = false;  // worker only: one log line, not one per event

    std::mutex mu_;  // guards the fields below
    std::condition_variable cv_;
    std::deque<Uevent> queue_;
    bool busy_ = false;
    bool stopping_ = false;
    std::thread worker_;
};

}  // namespace driverfs::udev
