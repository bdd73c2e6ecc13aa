// The uevent queue: numbering, backlog and delivery to subscribers.
#include "core/events.hpp"

namespace driverfs {

uint64_t EventQueue::publish(Uevent ev) {
    std::lock_guard lock(mu_);
    ev.seqnum = next_seq_++;
    for (auto& [id, fn] : subscribers_) fn(ev);
    backlog_.push_back(std::move(ev));
    if (backlog_.size() > kBacklog) backlog_.pop_front();
    return backlog_.back().seqnum;
}

uint64_t EventQueue::subscribe(Subscriber fn) {
    std::lock_guard lock(mu_);
    uint64_t id = next_sub_++;
    subscribers_.emplace(id, std::move(fn));
    return id;
}

void EventQueue::unsubscribe(uint64_t id) {
    std::lock_guard lock(mu_);
    subscribers_.erase(id);
}

std::vector<Uevent> EventQueue::since(uint64_t after) const {
    std::lock_guard lock(mu_);
    std::vector<Uevent> out;
    for (const Uevent& ev : backlog_)
        if (ev.seqnum > after) out.push_back(ev);
    return out;
}

uint64_t EventQueue::last_seqnum() const {
    std::lock_guard lock(mu_);
    return next_seq_ - 1;
}

}  // namespace driverfs
