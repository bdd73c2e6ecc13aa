// Driver attributes: pin, call the plugin's show/store, contain its faults, unpin.
#include "driver_attr.hpp"

#include <exception>

#include "abi.hpp"
#include "driverfs/call_tracker.hpp"
#include "driverfs/log.hpp"

namespace driverfs {

Result<Pin> DriverAttr::pin_driver() {
    Stub& stub = driver_->stub();
    Pin pin(stub.active());
    // The generation check is belt and braces: unload removes (deactivates)
    // this node before the stub can be reused, so a node of an older load can
    // no longer be pinned; if it ever were, its attr_ would point into an
    // unmapped object, so refuse rather than trust the order.
    if (!pin || stub.generation() != driver_->generation())
        return Error::of(ENODEV, "driver " + driver_->name() + " is unloading or gone");
    return pin;
}

Status DriverAttr::validate() {
    Result<Pin> pin = pin_driver();
    if (!pin) return pin.error();
    return {};
}

Result<size_t> DriverAttr::show(char* page) {
    Result<Pin> pin = pin_driver();
    if (!pin) return pin.error();
    if (!DFS_HAS_FIELD(attr_, dfs_attribute, show) || !attr_->show)
        return Error::of(EACCES, name_ + " has no show");
    ssize_t rc;
    {
        CallScope scope(driver_->stub(), "show " + name_ + " of " + device_->name());
        try {
            rc = attr_->show(device_.get(), attr_, page, kPageSize);
        } catch (const std::exception& e) {
            log(LogLevel::err, "driver " + driver_->name() + ": show " + name_ + " threw: " + e.what());
            return Error::of(EIO, "show threw");
        } catch (...) {
            log(LogLevel::err, "driver " + driver_->name() + ": show " + name_ + " threw a non-standard exception");
            return Error::of(EIO, "show threw");
        }
    }
    if (rc < 0) return Error::of(errno_from_plugin(rc), "show failed");
    if (static_cast<size_t>(rc) > kPageSize) {
        log(LogLevel::err, "driver " + driver_->name() + ": show " + name_ + " returned " + std::to_string(rc) +
                               ", more than a page");
        return Error::of(EIO, "show returned a bad length");
    }
    return static_cast<size_t>(rc);
}

Result<size_t> DriverAttr::store(std::string_view data) {
    Result<Pin> pin = pin_driver();
    if (!pin) return pin.error();
    if (!DFS_HAS_FIELD(attr_, dfs_attribute, store) || !attr_->store)
        return Error::of(EACCES, name_ + " has no store");
    ssize_t rc;
    {
        CallScope scope(driver_->stub(), "store " + name_ + " of " + device_->name());
        try {
            rc = attr_->store(device_.get(), attr_, data.data(), data.size());
        } catch (const std::exception& e) {
            log(LogLevel::err, "driver " + driver_->name() + ": store " + name_ + " threw: " + e.what());
            return Error::of(EIO, "store threw");
        } catch (...) {
            log(LogLevel::err, "driver " + driver_->name() + ": store " + name_ + " threw a non-standard exception");
            return Error::of(EIO, "store threw");
        }
    }
    if (rc < 0) return Error::of(errno_from_plugin(rc), "store failed");
    if (static_cast<size_t>(rc) > data.size()) {
        log(LogLevel::err, "driver " + driver_->name() + ": store " + name_ + " returned " + std::to_string(rc) +
                               " for a " + std::to_string(data.size()) + "-byte write");
        return Error::of(EIO, "store returned a bad length");
    }
    return static_cast<size_t>(rc);
}

}  // namespace driverfs
