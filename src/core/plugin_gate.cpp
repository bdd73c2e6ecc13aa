// The one gate into plugin code: the only file that calls a plugin's function pointers.
#include "plugin_gate.hpp"

#include <chrono>
#include <exception>

#include "abi.hpp"
#include "core/call_tracker.hpp"
#include "core/log.hpp"
#include "core/plugin_loader.hpp"

namespace driverfs {
namespace {

// Run `fn` (plugin code) with its exceptions turned into a value: nullopt,
// and `thrown` says "threw: ..." for the caller's log line and message.
template <class Fn>
auto contained(Fn&& fn, std::string& thrown) -> std::optional<decltype(fn())> {
    try {
        return fn();
    } catch (const std::exception& e) {
        thrown = std::string("threw: ") + e.what();
    } catch (...) {
        thrown = "threw a non-standard exception";
    }
    return std::nullopt;
}

// `fn` runs inside a CallScope of `stub` naming `desc`; a throw is nullopt,
// with `thrown` saying what. The call is counted in drv's statistics (calls, its time, a throw as an
// error) whatever the stub it runs under: `stub` is drv's, or a bus's for
// match. A failing return value is counted by the caller that judges it.
template <class Fn>
auto tracked_in(const Stub& stub, const Driver& drv, const CallDesc& desc, std::string& thrown, Fn&& fn) {
    DriverStats& stats = drv.stats();
    stats.begin();
    const auto start = std::chrono::steady_clock::now();
    auto rc = [&] {
        CallScope scope(stub, desc);
        return contained(std::forward<Fn>(fn), thrown);
    }();
    stats.end(desc, std::chrono::steady_clock::now() - start, !rc);
    return rc;
}

// A tracked call of drv: a throw is nullopt and a log line. Nothing is
// formatted unless it throws.
template <class Fn>
auto tracked(const Driver& drv, const CallDesc& desc, Fn&& fn) {
    std::string thrown;
    auto rc = tracked_in(drv.stub(), drv, desc, thrown, std::forward<Fn>(fn));
    if (!rc) log(LogLevel::err, "driver " + drv.name() + ": " + desc.text() + " " + thrown);
    return rc;
}

// An attribute callback's ssize_t as a count of at most `limit` bytes.
Result<size_t> attr_result(const Driver& drv, const CallDesc& desc, std::optional<ssize_t> rc, size_t limit) {
    if (!rc) return Error::of(EIO, desc.text() + " threw");
    if (*rc < 0 || static_cast<size_t>(*rc) > limit) drv.stats().failed();
    if (*rc < 0)
        return Error::of(errno_from_plugin(*rc, "driver " + drv.name() + ": " + desc.text()), desc.text() + " failed");
    if (static_cast<size_t>(*rc) > limit) {
        log(LogLevel::err, "driver " + drv.name() + ": " + desc.text() + " returned " + std::to_string(*rc) +
                               " where at most " + std::to_string(limit) + " was possible");
        return Error::of(EIO, desc.text() + " returned a bad length");
    }
    return static_cast<size_t>(*rc);
}

// A driver callback's int: a throw is -EIO, a failure's errno is clamped.
Returned int_result(const Driver& drv, const CallDesc& desc, std::optional<int> rc) {
    Returned r{rc.value_or(-EIO), 0};
    if (rc && *rc != 0) drv.stats().failed();  // a throw was counted by tracked()
    if (r.raw != 0) r.err = errno_from_plugin(r.raw, "driver " + drv.name() + ": " + desc.text());
    return r;
}

// A driver callback of dev returning int; absent (null) is success.
Returned int_call(const Driver& drv, CallOp op, Device& dev, int (*fn)(dfs_device*)) {
    if (!fn) return {};
    const CallDesc desc{op, {}, &dev};
    return int_result(drv, desc, tracked(drv, desc, [&] { return fn(&dev); }));
}

// A driver callback of dev returning nothing; absent (null) is nothing to do.
void void_call(const Driver& drv, CallOp op, Device& dev, void (*fn)(dfs_device*)) {
    if (!fn) return;
    const CallDesc desc{op, {}, &dev};
    tracked(drv, desc, [&] {
        fn(&dev);
        return true;
    });
}

}  // namespace

Result<DriverGate> DriverGate::enter(const Driver& drv) {
    Stub& stub = drv.stub();
    Pin pin(stub.active());
    if (!pin || stub.generation() != drv.generation()) {
        drv.stats().refused();
        return Error::of(ENODEV, "driver " + drv.name() + " is unloading or gone");
    }
    return DriverGate(drv, std::move(pin));
}

Result<size_t> DriverGate::show(Device& dev, const dfs_attribute* attr, std::string_view name, char* page,
                                size_t cap) const {
    if (!DFS_HAS_FIELD(attr, dfs_attribute, show) || !attr->show)
        return Error::of(EACCES, std::string(name) + " has no show");
    const CallDesc desc{CallOp::show, name, &dev};
    return attr_result(*drv_, desc, tracked(*drv_, desc, [&] { return attr->show(&dev, attr, page, cap); }), cap);
}

Result<size_t> DriverGate::store(Device& dev, const dfs_attribute* attr, std::string_view name,
                                 std::string_view data) const {
    if (!DFS_HAS_FIELD(attr, dfs_attribute, store) || !attr->store)
        return Error::of(EACCES, std::string(name) + " has no store");
    const CallDesc desc{CallOp::store, name, &dev};
    return attr_result(*drv_, desc,
                       tracked(*drv_, desc, [&] { return attr->store(&dev, attr, data.data(), data.size()); }),
                       data.size());
}

Result<size_t> DriverGate::read(Device& dev, const dfs_bin_attribute* attr, std::string_view name, char* out,
                                size_t offset, size_t count) const {
    if (!attr->read) return Error::of(EACCES, std::string(name) + " has no read");
    const CallDesc desc{CallOp::read, name, &dev};
    return attr_result(*drv_, desc, tracked(*drv_, desc, [&] { return attr->read(&dev, attr, out, offset, count); }),
                       count);
}

Result<size_t> DriverGate::write(Device& dev, const dfs_bin_attribute* attr, std::string_view name,
                                 std::string_view data, size_t offset) const {
    if (!attr->write) return Error::of(EACCES, std::string(name) + " has no write");
    const CallDesc desc{CallOp::write, name, &dev};
    return attr_result(*drv_, desc,
                       tracked(*drv_, desc, [&] { return attr->write(&dev, attr, data.data(), offset, data.size()); }),
                       data.size());
}

Returned DriverGate::probe(Device& dev) const {
    const dfs_driver* ops = this->ops();
    if (!DFS_HAS_FIELD(ops, dfs_driver, probe) || !ops->probe) return {};
    const CallDesc desc{CallOp::probe, {}, &dev};
    std::optional<int> rc = tracked(*drv_, desc, [&] { return ops->probe(&dev); });
    // Linux's deferral code is kernel-private, not an errno: the caller's.
    if (rc == -DFS_EPROBE_DEFER) return {*rc, DFS_EPROBE_DEFER};
    return int_result(*drv_, desc, rc);
}

void DriverGate::remove(Device& dev) const {
    const dfs_driver* ops = this->ops();
    void_call(*drv_, CallOp::remove, dev, DFS_HAS_FIELD(ops, dfs_driver, remove) ? ops->remove : nullptr);
}

Returned DriverGate::suspend(Device& dev) const {
    const dfs_driver* ops = this->ops();
    return int_call(*drv_, CallOp::suspend, dev, DFS_HAS_FIELD(ops, dfs_driver, suspend) ? ops->suspend : nullptr);
}

Returned DriverGate::resume(Device& dev) const {
    const dfs_driver* ops = this->ops();
    return int_call(*drv_, CallOp::resume, dev, DFS_HAS_FIELD(ops, dfs_driver, resume) ? ops->resume : nullptr);
}

void DriverGate::shutdown(Device& dev) const {
    const dfs_driver* ops = this->ops();
    void_call(*drv_, CallOp::shutdown, dev, DFS_HAS_FIELD(ops, dfs_driver, shutdown) ? ops->shutdown : nullptr);
}

std::optional<uint32_t> DriverGate::is_visible(Device& dev, const dfs_attribute_group* group,
                                               const dfs_attribute* attr) const {
    const CallDesc desc{CallOp::is_visible, attr->name, &dev};
    std::optional<uint32_t> mode = tracked(*drv_, desc, [&] { return group->is_visible(&dev, attr) & 07777; });
    if (mode == 0u) return std::nullopt;
    return mode;
}

bool gate_bus_match(Stub& stub, uint32_t generation, const dfs_bus* bus, const Device& dev, const Driver& drv) {
    Pin pin(stub.active());
    if (!pin || stub.generation() != generation) return false;
    const CallDesc desc{CallOp::match, {}, &dev, &drv};
    // Counted as a call of the driver matched: the bus has no statistics of
    // its own, and a refusal here is the bus's, not the driver's.
    std::string thrown;
    std::optional<bool> matched =
        tracked_in(stub, drv, desc, thrown, [&] { return bus->match(&dev, drv.name().c_str()) != 0; });
    if (!matched) log(LogLevel::err, stub.name() + ": " + desc.text() + " " + thrown + "; treated as no match");
    return matched.value_or(false);
}

Result<const dfs_plugin_desc*> gate_plugin_entry(dfs_entry_fn entry, const std::string& source) {
    std::string thrown;
    std::optional<const dfs_plugin_desc*> desc = contained([&] { return entry(); }, thrown);
    if (!desc) return Error::of(EIO, source + ": " + DRIVERFS_ENTRY_SYMBOL + "() " + thrown);
    return *desc;
}

Status gate_plugin_init(Plugin& plugin, const dfs_host* host) {
    std::string thrown;
    std::optional<int> rc = contained([&] { return plugin.desc().init(&plugin, host); }, thrown);
    if (!rc) {
        log(LogLevel::err, "plugin " + plugin.name() + ": init " + thrown);
        return Error::of(EIO, "init " + thrown);
    }
    if (*rc == 0) return {};
    return Error::of(errno_from_plugin(*rc, "plugin " + plugin.name() + ": init"), "returned " + std::to_string(*rc));
}

void gate_plugin_exit(Plugin& plugin) {
    if (!DFS_HAS_FIELD(&plugin.desc(), dfs_plugin_desc, exit) || !plugin.desc().exit) return;
    std::string thrown;
    auto done = contained(
        [&] {
            plugin.desc().exit(&plugin);
            return true;
        },
        thrown);
    if (!done) log(LogLevel::err, "plugin " + plugin.name() + ": exit " + thrown);
}

}  // namespace driverfs
