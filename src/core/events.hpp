// The uevent queue: every add/remove/bind/unbind/change, numbered, for its subscribers.
// The control plane streams it (driverfsctl monitor); tests read it back.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace driverfs {

struct Uevent {
    uint64_t seqnum = 0;     // 1, 2, ... in the order they happened
    std::string action;      // add, remove, bind, unbind, change, load, unload
    std::string devpath;     // path in the tree: devices/platform/led0, module/led
    std::string subsystem;   // bus name, or "module"
    std::map<std::string, std::string> env;  // DRIVER=, MODALIAS=, properties, synthetic KEY=VALUE
};

// Publishers call publish() from any thread. Subscribers are called in
// seqnum order, on the publisher's thread, with the queue's delivery lock
// held: they must only hand the event over (post to an io_context, push to a
// queue), never block or call back into the core.
class EventQueue {
public:
    using Subscriber = std::function<void(const Uevent&)>;

    static constexpr size_t kBacklog = 1024;  // kept for late readers

    uint64_t publish(Uevent ev);
    // Returns an id for unsubscribe().
    uint64_t subscribe(Subscriber fn);
    void unsubscribe(uint64_t id);
    // Events with seqnum > after still in the backlog, oldest first.
    std::vector<Uevent> since(uint64_t after) const;
    uint64_t last_seqnum() const;

private:
    mutable std::mutex mu_;  // guards everything below; held while delivering
    uint64_t next_seq_ = 1;
    uint64_t next_sub_ = 1;
    std::deque<Uevent> backlog_;
    std::map<uint64_t, Subscriber> subscribers_;
};

}  // namespace driverfs
