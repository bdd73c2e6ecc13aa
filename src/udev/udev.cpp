// The udev front end: a worker thread that sends each uevent to udev's listeners and its database.
// Each goes out as a libudev netlink message and is mirrored into the database.
#include "udev.hpp"

#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "core/log.hpp"
#include "message.hpp"

namespace driverfs::udev {

namespace {

constexpr uint32_t kUdevGroup = 2;  // libudev listeners; 1 is the kernel's

// A message sent here reaches every libudev listener of this network
// namespace. In the host's namespace those are the desktop, the session
// manager, Xorg...: they would act on simulated devices. So netlink runs only
// in a private namespace (driverfs-run makes one; `unshare -n` does too).
Status netlink_is_private() {
    char self[64] = {}, init[64] = {};
    ssize_t a = readlink("/proc/self/ns/net", self, sizeof self - 1);
    ssize_t b = readlink("/proc/1/ns/net", init, sizeof init - 1);
    // Not allowed to look at pid 1 (an unprivileged user, a user namespace):
    // then we cannot send to the host's listeners either, as the kernel
    // wants CAP_NET_BROADCAST over the namespace's owner for multicast.
    if (b < 0 && (errno == EACCES || errno == EPERM)) return {};
    if (a < 0 || b < 0)
        return Error::of(errno, std::string("--udev-netlink: cannot compare network namespaces with pid 1's (") +
                                    std::strerror(errno) + "); run inside driverfs-run or unshare -n");
    if (std::strcmp(self, init) == 0)
        return Error::of(EPERM,
                         "--udev-netlink refused in the host's network namespace: every libudev listener of "
                         "this machine would see the simulated devices; run inside driverfs-run or `unshare -n`");
    return {};
}

Result<int> open_netlink() {
    if (Status s = netlink_is_private(); !s) return s.error();
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
    if (fd < 0) return Error::of(errno, std::string("--udev-netlink: socket(NETLINK_KOBJECT_UEVENT): ") + std::strerror(errno));
    sockaddr_nl self{};
    self.nl_family = AF_NETLINK;  // nl_pid 0: the kernel picks a port
    if (bind(fd, reinterpret_cast<sockaddr*>(&self), sizeof self) != 0) {
        int e = errno;
        close(fd);
        return Error::of(e, std::string("--udev-netlink: bind: ") + std::strerror(e));
    }
    return fd;
}

}  // namespace

Result<std::unique_ptr<FrontEnd>> FrontEnd::start(EventQueue& events, Options opts) {
    std::optional<Database> db;
    if (!opts.database.empty()) {
        Result<Database> d = Database::open(opts.database);
        if (!d) return d.error();
        db.emplace(std::move(d.value()));
    }
    int sock = -1;
    if (opts.netlink) {
        Result<int> s = open_netlink();
        if (!s) return s.error();
        sock = s.value();
    }
    return std::unique_ptr<FrontEnd>(new FrontEnd(events, std::move(opts), sock, std::move(db)));
}

FrontEnd::FrontEnd(EventQueue& events, Options opts, int sock, std::optional<Database> db)
    : events_(events), opts_(std::move(opts)), sock_(sock), db_(std::move(db)) {
    worker_ = std::thread([this] { run(); });
    // The queue delivers under its own lock: only hand the event over.
    subscription_ = events_.subscribe([this](const Uevent& ev) {
        std::lock_guard lock(mu_);
        queue_.push_back(ev);
        cv_.notify_all();
    });
}

FrontEnd::~FrontEnd() {
    events_.unsubscribe(subscription_);
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        cv_.notify_all();
    }
    worker_.join();
    if (sock_ >= 0) close(sock_);
}

void FrontEnd::wait_idle() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void FrontEnd::run() {
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        // Events still queued at stop are dropped: nobody is left to read them.
        if (stopping_) return;
        Uevent ev = std::move(queue_.front());
        queue_.pop_front();
        busy_ = true;
        lock.unlock();
        deliver(ev);
        lock.lock();
        busy_ = false;
        cv_.notify_all();
    }
}

void FrontEnd::deliver(const Uevent& ev) {
    Properties props = udev_properties(ev);
    if (props.empty()) return;
    if (sock_ >= 0) {
        std::string msg = encode_monitor_message(props);
        if (msg.size() > kMaxMonitorMessage) {
            log(LogLevel::warning, "udev: event " + std::to_string(ev.seqnum) + " for " + ev.devpath + " is " +
                                       std::to_string(msg.size()) + " bytes, more than libudev reads (" +
                                       std::to_string(kMaxMonitorMessage) + "): not sent");
        } else {
            sockaddr_nl to{};
            to.nl_family = AF_NETLINK;
            to.nl_groups = kUdevGroup;
            ssize_t n = sendto(sock_, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
            // ECONNREFUSED: nobody listens, which is normal.
            if (n < 0 && errno != ECONNREFUSED && !warned_send_) {
                warned_send_ = true;
                log(LogLevel::warning, std::string("udev: netlink send failed (") + std::strerror(errno) +
                                           "); listeners miss events until it works again");
            }
        }
    }
    if (db_ && ev.subsystem != "module") {
        if (Status s = db_->apply(props); !s) log(LogLevel::warning, "udev: " + s.error().message);
    }
}

}  // namespace driverfs::udev
