// The notifier thread: the only place that sends cache notifications.
#include "fs.hpp"

namespace driverfs::fuse {

void Notifier::start(fuse_session* se) {
    std::lock_guard lock(mu_);
    se_ = se;
    running_ = true;
    thread_ = std::thread([this] { run(); });
}

void Notifier::stop() {
    {
        std::lock_guard lock(mu_);
        if (!running_) return;
        running_ = false;
    }
    cv_.notify_all();
    thread_.join();
    std::lock_guard lock(mu_);
    for (Event& e : queue_)
        if (auto* p = std::get_if<Poll>(&e)) fuse_pollhandle_destroy(p->ph);
    queue_.clear();
    // Nothing will be sent any more: release every waiter.
    sent_ = pushed_;
    sent_cv_.notify_all();
}

uint64_t Notifier::push(Event e) {
    uint64_t ticket;
    {
        std::lock_guard lock(mu_);
        if (!running_) {
            if (auto* p = std::get_if<Poll>(&e)) fuse_pollhandle_destroy(p->ph);
            return 0;
        }
        queue_.push_back(std::move(e));
        ticket = ++pushed_;
    }
    cv_.notify_one();
    return ticket;
}

uint64_t Notifier::last_ticket() {
    std::lock_guard lock(mu_);
    return pushed_;
}

bool Notifier::wait(uint64_t ticket, std::chrono::milliseconds timeout) {
    if (ticket == 0) return true;
    std::unique_lock lock(mu_);
    return sent_cv_.wait_for(lock, timeout, [&] { return sent_ >= ticket; });
}

void Notifier::run() {
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait(lock, [this] { return !running_ || !queue_.empty(); });
        if (!running_) return;
        Event e = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        // Errors are expected and harmless: -ENOENT when the kernel never
        // cached the entry or inode (libfuse stays quiet about that one),
        // -ENOTCONN while unmounting. A delete is refused with -ENOTEMPTY
        // (and libfuse prints "fuse: writing device: Directory not empty")
        // when the directory still has a cached child; NodeTree::remove
        // announces children first and finds nothing below a removed
        // directory so that this does not happen. Were it to, the kernel has
        // already unhashed the entry before refusing, so a lookup still
        // comes here and finds it gone.
        if (auto* d = std::get_if<Delete>(&e)) {
            fuse_lowlevel_notify_delete(se_, d->parent, d->child, d->name.c_str(), d->name.size());
        } else if (auto* i = std::get_if<InvalEntry>(&e)) {
            fuse_lowlevel_notify_inval_entry(se_, i->parent, i->name.c_str(), i->name.size());
        } else if (auto* n = std::get_if<InvalInode>(&e)) {
            // Offset 0, length 0: every cached page, and the attributes
            // (st_size) with them.
            fuse_lowlevel_notify_inval_inode(se_, n->ino, 0, 0);
        } else if (auto* p = std::get_if<Poll>(&e)) {
            fuse_lowlevel_notify_poll(p->ph);
            fuse_pollhandle_destroy(p->ph);
        }
        lock.lock();
        ++sent_;
        sent_cv_.notify_all();
    }
}

}  // namespace driverfs::fuse
