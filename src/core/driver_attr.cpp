// Driver attributes: pin, call the plugin's show/store/read/write, contain
// its faults, unpin.
#include "driver_attr.hpp"

#include <exception>

#include "abi.hpp"
#include "driverfs/call_tracker.hpp"
#include "driverfs/log.hpp"

namespace driverfs {
namespace {

// Pin the driver's stub and check that it still publishes the registration
// the node was made for. The generation check is belt and braces: unload
// removes (deactivates) driver nodes before the stub can be reused, so a
// node of an older load can no longer be pinned; if it ever were, its
// attribute pointer would point into an unmapped object, so refuse rather
// than trust the order.
Result<Pin> pin_registration(const Driver& drv) {
    Stub& stub = drv.stub();
    Pin pin(stub.active());
    if (!pin || stub.generation() != drv.generation())
        return Error::of(ENODEV, "driver " + drv.name() + " is unloading or gone");
    return pin;
}

// Run one attribute callback with its faults contained: an exception is EIO
// plus a log line, a negative return its errno, and a count above `limit`
// (more than was asked for) EIO plus a log line.
template <class Fn>
Result<size_t> call_attr(const Driver& drv, const std::string& what, size_t limit, Fn&& fn) {
    ssize_t rc;
    {
        CallScope scope(drv.stub(), what);
        try {
            rc = fn();
        } catch (const std::exception& e) {
            log(LogLevel::err, "driver " + drv.name() + ": " + what + " threw: " + e.what());
            return Error::of(EIO, what + " threw");
        } catch (...) {
            log(LogLevel::err, "driver " + drv.name() + ": " + what + " threw a non-standard exception");
            return Error::of(EIO, what + " threw");
        }
    }
    if (rc < 0) return Error::of(errno_from_plugin(rc), what + " failed");
    if (static_cast<size_t>(rc) > limit) {
        log(LogLevel::err, "driver " + drv.name() + ": " + what + " returned " + std::to_string(rc) +
                               " where at most " + std::to_string(limit) + " was possible");
        return Error::of(EIO, what + " returned a bad length");
    }
    return static_cast<size_t>(rc);
}

}  // namespace

DriverAttr::DriverAttr(DriverPtr driver, const dfs_attribute* attr, DevicePtr device, std::string name)
    : driver_(std::move(driver)), attr_(attr), device_(std::move(device)), name_(std::move(name)),
      // A version-2 plugin's attribute ends before `flags`: never cacheable.
      cacheable_(DFS_HAS_FIELD(attr, dfs_attribute, flags) && (attr->flags & DFS_ATTR_CACHEABLE) &&
                 DFS_HAS_FIELD(attr, dfs_attribute, show) && attr->show) {}

Status DriverAttr::validate() {
    Result<Pin> pin = pin_registration(*driver_);
    if (!pin) return pin.error();
    return {};
}

Result<size_t> DriverAttr::show(char* page) {
    Result<Pin> pin = pin_registration(*driver_);
    if (!pin) return pin.error();
    if (!DFS_HAS_FIELD(attr_, dfs_attribute, show) || !attr_->show) return Error::of(EACCES, name_ + " has no show");
    return call_attr(*driver_, "show " + name_ + " of " + device_->name(), kPageSize,
                     [&] { return attr_->show(device_.get(), attr_, page, kPageSize); });
}

Result<size_t> DriverAttr::store(std::string_view data) {
    Result<Pin> pin = pin_registration(*driver_);
    if (!pin) return pin.error();
    if (!DFS_HAS_FIELD(attr_, dfs_attribute, store) || !attr_->store)
        return Error::of(EACCES, name_ + " has no store");
    return call_attr(*driver_, "store " + name_ + " of " + device_->name(), data.size(),
                     [&] { return attr_->store(device_.get(), attr_, data.data(), data.size()); });
}

Status DriverBinAttr::validate() {
    Result<Pin> pin = pin_registration(*driver_);
    if (!pin) return pin.error();
    return {};
}

// As sysfs binary files: a read at or past the end is 0 bytes and a longer
// one is cut at the end; a write at or past the end is EFBIG.
Result<size_t> DriverBinAttr::read_at(char* out, size_t count, size_t offset) {
    if (offset >= length_) return size_t{0};
    count = std::min(count, length_ - offset);
    Result<Pin> pin = pin_registration(*driver_);
    if (!pin) return pin.error();
    if (!attr_->read) return Error::of(EACCES, name_ + " has no read");
    return call_attr(*driver_, "read " + name_ + " of " + device_->name(), count,
                     [&] { return attr_->read(device_.get(), attr_, out, offset, count); });
}

Result<size_t> DriverBinAttr::write_at(std::string_view data, size_t offset) {
    if (offset >= length_) return Error::of(EFBIG, "write at " + std::to_string(offset) + " past the end of " + name_);
    data = data.substr(0, length_ - offset);
    Result<Pin> pin = pin_registration(*driver_);
    if (!pin) return pin.error();
    if (!attr_->write) return Error::of(EACCES, name_ + " has no write");
    return call_attr(*driver_, "write " + name_ + " of " + device_->name(), data.size(),
                     [&] { return attr_->write(device_.get(), attr_, data.data(), offset, data.size()); });
}

}  // namespace driverfs
