// C++ conveniences over driverfs/plugin.h. Header-only; a plugin may use any
// part or none. Nothing here changes the ABI: every object below derives from
// (or fills) the C struct the host reads, and every callback the host sees is
// a noexcept C trampoline, so no C++ exception ever crosses the boundary.
//
// Pieces, in the order they appear:
//   parse_* / format_*   text helpers with the Linux semantics (kstrtoul,
//                        kstrtol, kstrtobool, the "a [b] c" choice list);
//                        parse_int/parse_bool read format_int/format_bool back
//   emit, guarded        the original small helpers (kept source-compatible)
//   Host, Device         the host services of this plugin, a device handle
//   Attribute            an attribute whose show/store are lambdas, or member
//                        functions of the driver's State (Attribute::member)
//   Group                an attribute group (optionally named = a subdirectory);
//                        update() has its visible_if asked again (ABI 3)
//   Driver               a driver; optional per-device State object created in
//                        probe and destroyed in remove (RAII through drvdata)
//   ClassDevice          a class device below a bound device (ABI 4), RAII
//   Module               the plugin descriptor: registers drivers in init
//
// Objects of Attribute, Group, Driver and Module are meant to live in static
// storage of the plugin (namespace scope): the host keeps pointers to them
// until exit() returns. They are neither copyable nor movable.
//
// What is RAII, and why there is no registration handle: the ABI has no
// call to unregister a driver or bus or to delete a device, so a handle
// whose destructor undid one could only pretend. What the ABI allows is
// done here:
//   - a Driver's State lives exactly as long as the binding: constructed in
//     probe before on_probe, destroyed if that refuses or throws, else at
//     unbind (unbind, delete_device, unload) after on_remove; members of
//     State (threads, fds, timers) are per-device RAII for free;
//   - Module pairs its hooks: exit runs once for every init that returned
//     0, also when a driver registration after init fails (the host calls
//     a plugin's exit only after a successful init);
//   - drivers and buses are undone by the host at unload, with every device
//     on those buses; a device added with add_device on a bus the plugin
//     does not own (platform) stays until bus/<bus>/delete_device.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "driverfs/plugin.h"

namespace driverfs::sdk {

// ---- text helpers ------------------------------------------------------------

// Drop one trailing newline, as sysfs stores usually receive "42\n".
inline std::string_view strip_newline(std::string_view s) {
    if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
    return s;
}

// sysfs_streq: equal, ignoring one trailing newline on either side.
inline bool streq(std::string_view a, std::string_view b) { return strip_newline(a) == strip_newline(b); }

// Parse a decimal integer of type T like the kernel's kstrto<type>(s, 10):
// an optional '+' (or '-' for signed T), digits, one optional trailing
// newline, nothing else. Returns 0, -EINVAL (malformed, even when the
// digits would also overflow) or -ERANGE (well formed, but does not fit T,
// or outside [min, max]).
template <class T>
int parse_int(std::string_view s, T min, T max, T* out) {
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>, "parse_int needs an integer type");
    s = strip_newline(s);
    if (!s.empty() && s.front() == '+') {
        s.remove_prefix(1);
        if (!s.empty() && (s.front() == '+' || s.front() == '-')) return -EINVAL;
    } else if (!s.empty() && s.front() == '-' && std::is_unsigned_v<T>) {
        return -EINVAL;
    }
    if (s.empty()) return -EINVAL;
    if (s.front() == '-' && (s.size() == 1 || s[1] < '0' || s[1] > '9')) return -EINVAL;
    T v{};
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
    // Malformed wins over too large: "99999999999x" is -EINVAL, whatever T.
    if (ec == std::errc::invalid_argument || end != s.data() + s.size()) return -EINVAL;
    if (ec == std::errc::result_out_of_range) return -ERANGE;
    if (v < min || v > max) return -ERANGE;
    *out = v;
    return 0;
}

// kstrtoul with a range: see parse_int.
inline int parse_ulong(std::string_view s, unsigned long min, unsigned long max, unsigned long* out) {
    return parse_int<unsigned long>(s, min, max, out);
}

// kstrtol with a range: see parse_int.
inline int parse_long(std::string_view s, long min, long max, long* out) {
    return parse_int<long>(s, min, max, out);
}

// Parse an unsigned decimal like the kernel's kstrtoul(buf, 10) (the
// original helper; same as parse_ulong on a buffer).
inline int parse_uint(const char* buf, size_t len, unsigned long min, unsigned long max, unsigned long* out) {
    return parse_ulong(std::string_view(buf, len), min, max, out);
}

// Exactly the kernel's kstrtobool: only the first character counts (the
// first two for "on"/"off"): 1 y Y t T "on" -> true; 0 n N f F "of" -> false;
// anything else (including an empty buffer) -EINVAL. So "yes", "true\n" and
// "no" work, as they do in Linux.
inline int parse_bool(std::string_view s, bool* out) {
    if (s.empty()) return -EINVAL;
    switch (s[0]) {
        case '1': case 'y': case 'Y': case 't': case 'T':
            *out = true;
            return 0;
        case '0': case 'n': case 'N': case 'f': case 'F':
            *out = false;
            return 0;
        case 'o': case 'O':
            if (s.size() < 2) return -EINVAL;
            if (s[1] == 'n' || s[1] == 'N') { *out = true; return 0; }
            if (s[1] == 'f' || s[1] == 'F') { *out = false; return 0; }
            return -EINVAL;
        default:
            return -EINVAL;
    }
}

// What a show() gives for an integer: decimal and a newline, the text
// parse_int reads back to the same value (for any T and any value inside
// the range given to it).
template <class T>
std::string format_int(T value) {
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>, "format_int needs an integer type");
    // digits10 misses one digit of the maximum; then a sign and the newline.
    char buf[std::numeric_limits<T>::digits10 + 3];
    char* end = std::to_chars(buf, buf + sizeof buf - 1, value).ptr;
    *end++ = '\n';
    return std::string(buf, end);
}

// "1\n" or "0\n", as Linux's device_show_bool prints a bool attribute;
// parse_bool reads both back.
inline std::string format_bool(bool value) { return value ? "1\n" : "0\n"; }

// The Linux choice list, as led's trigger file shows it: the names separated
// by one space, the selected one in brackets, a newline at the end:
// "none [timer] heartbeat\n". selected out of range: nothing bracketed.
inline std::string format_choices(std::span<const char* const> names, size_t selected) {
    std::string out;
    for (size_t i = 0; i < names.size(); ++i) {
        if (i) out += ' ';
        if (i == selected) out += '[';
        out += names[i];
        if (i == selected) out += ']';
    }
    out += '\n';
    return out;
}

// Which of `names` the written text selects (sysfs_streq: one trailing
// newline ignored): its index, or -EINVAL.
inline int parse_choice(std::string_view s, std::span<const char* const> names) {
    for (size_t i = 0; i < names.size(); ++i)
        if (streq(s, names[i])) return static_cast<int>(i);
    return -EINVAL;
}

// snprintf into a show() page, returning the length as show() must.
template <class... Args>
ssize_t emit(char* buf, size_t cap, const char* fmt, Args... args) {
    int n = std::snprintf(buf, cap, fmt, args...);
    if (n < 0) return -EIO;
    return static_cast<size_t>(n) >= cap ? static_cast<ssize_t>(cap - 1) : n;
}

// Run `fn` and turn any exception into -EIO, so none crosses the C ABI.
template <class Fn>
auto guarded(Fn&& fn) noexcept -> decltype(fn()) {
    try {
        return fn();
    } catch (...) {
        return -EIO;
    }
}

// Throw from a callback (or a State constructor) to return -code from it
// without a log line: throw sdk::Errno(ENODEV).
struct Errno {
    int code;
    explicit Errno(int c) : code(c) {}
};

// ---- host services ---------------------------------------------------------------

// The host table and plugin handle of this plugin, set by Module's init
// (or by hand with Host::attach in a plugin that does not use Module).
// Each plugin .so has its own copy: plugins are built with hidden visibility
// and -fno-gnu-unique.
struct Host {
    static inline const dfs_host* table = nullptr;
    static inline dfs_plugin* self = nullptr;
    static void attach(dfs_plugin* p, const dfs_host* h) { self = p, table = h; }
    // A log line through the host ("plugin NAME: message"); never throws.
    static void log(int level, const std::string& msg) noexcept {
        if (table && table->log) table->log(self, level, msg.c_str());
    }
    // Does the host offer field `off`+`len` of dfs_host (newer services)?
    static bool has(size_t end) { return table && table->size >= end; }
};

// A device handle (a dfs_device*, not owned).
class Device {
public:
    explicit Device(dfs_device* d) : raw_(d) {}
    dfs_device* raw() const { return raw_; }
    const char* name() const { return Host::table->device_name(raw_); }
    // A KEY=VALUE property given when the device was created, or nullptr.
    const char* property(const char* key) const { return Host::table->device_property(raw_, key); }
    // Wake pollers of attribute `attr` ("group/attr" inside a named group).
    void notify(const char* attr) const { Host::table->notify(raw_, attr); }
    // Ask `group` (a Group of this device's driver) is_visible again and
    // have the host add or remove its files to match: dfs_host's
    // update_group, as Linux's sysfs_update_group. Call it after changing
    // what a visible_if reads, e.g. from the store of a `trigger` file. Never
    // throws; 0 or a negative errno: -ENOSYS from a host older than ABI 3,
    // -ENODEV if the device is not bound (inside probe too: the host asks
    // every group after probe returns) or the group is not its driver's.
    int update_group(const dfs_attribute_group& group) const noexcept {
        if (!Host::has(offsetof(dfs_host, update_group) + sizeof Host::table->update_group) ||
            !Host::table->update_group)
            return -ENOSYS;
        return Host::table->update_group(raw_, &group);
    }
    // The parent device (for a class device: the device it was made
    // below); Device(nullptr) for a top-level device or before ABI 4.
    Device parent() const {
        if (!Host::has(offsetof(dfs_host, device_parent) + sizeof Host::table->device_parent)) return Device(nullptr);
        return Device(Host::table->device_parent(raw_));
    }
    // The per-device State a Driver created in probe (see Driver::state);
    // throws Errno(ENODEV) when there is none (inside a callback: -ENODEV).
    template <class State>
    State& state() const {
        void* p = Host::table->get_drvdata(raw_);
        if (!p) throw Errno(ENODEV);
        return *static_cast<State*>(p);
    }

private:
    dfs_device* raw_;
};

namespace detail {
inline std::string where(dfs_device* dev) {
    return dev ? std::string(" of ") + Host::table->device_name(dev) : std::string();
}
// Contain a callback: Errno -> -code, any other exception -> -EIO and a log
// line naming `what` and the device.
template <class Fn>
long contain(const char* what, const char* attr, dfs_device* dev, Fn&& fn) noexcept {
    try {
        return static_cast<long>(fn());
    } catch (const Errno& e) {
        return e.code > 0 ? -e.code : -EIO;
    } catch (const std::exception& e) {
        try {
            Host::log(DFS_LOG_ERR, std::string(what) + " " + attr + where(dev) + " threw: " + e.what());
        } catch (...) {
        }
    } catch (...) {
        try {
            Host::log(DFS_LOG_ERR, std::string(what) + " " + attr + where(dev) + " threw a non-standard exception");
        } catch (...) {
        }
    }
    return -EIO;
}
}  // namespace detail

// ---- attributes ----------------------------------------------------------------

namespace detail {
// A show (Arg = std::string&) or store (Arg = std::string_view) that is a
// member function of a Driver's per-device State. State is named by the
// caller, never deduced: a member inherited from a base of State then still
// runs on the State object probe made, and any other signature than the
// lambdas' (a const member is fine) does not compile.
template <class State, class Arg>
struct MemberFn {
    std::function<int(Device, Arg)> fn;
    MemberFn(std::nullptr_t) {}
    MemberFn(int (State::*f)(Arg)) : fn(on_state(f)) {}
    MemberFn(int (State::*f)(Arg) const) : fn(on_state(f)) {}

private:
    template <class F>
    static std::function<int(Device, Arg)> on_state(F f) {
        if (!f) return {};
        return [f](Device d, Arg a) { return (d.state<State>().*f)(a); };
    }
};
}  // namespace detail

// An attribute file. show appends the value text to `out` (newline
// included) and returns 0 or a negative errno; store gets the written text
// and returns 0 (the whole write is consumed) or a negative errno. A
// `visible` predicate (used when the attribute is in a Group) decides at
// bind time, and again at every update_group of the group, whether the
// file exists on a device.
class Attribute : public dfs_attribute {
public:
    using ShowFn = std::function<int(Device, std::string&)>;
    using StoreFn = std::function<int(Device, std::string_view)>;
    using VisibleFn = std::function<bool(Device)>;
    using ModeFn = std::function<uint32_t(Device)>;

    Attribute(const char* name, uint32_t mode, ShowFn show, StoreFn store = {})
        : dfs_attribute{sizeof(dfs_attribute), DRIVERFS_ABI_VERSION, name, mode,
                        show ? &show_tramp : nullptr, store ? &store_tramp : nullptr, 0},
          show_(std::move(show)), store_(std::move(store)) {}
    Attribute(const Attribute&) = delete;
    Attribute& operator=(const Attribute&) = delete;

    // An attribute whose show and store are member functions of the State
    // its Driver made with state<State>() (nullptr for none), called on the
    // device's State; with no State bound they give -ENODEV:
    //   Attribute level = Attribute::member<Led>("level", 0644, &Led::show_level, &Led::store_level);
    // State must be the very type given to Driver::state, as for Device::state.
    // Exceptions are contained as for lambdas: the same trampolines run both.
    template <class State>
    static Attribute member(const char* name, uint32_t mode, detail::MemberFn<State, std::string&> show,
                            detail::MemberFn<State, std::string_view> store = nullptr) {
        return Attribute(name, mode, std::move(show.fn), std::move(store.fn));
    }

    // Let readers be served from the kernel page cache (DFS_ATTR_CACHEABLE).
    // Only for a value that changes through store() or with a notify() when
    // it changes otherwise; a host older than ABI 3 ignores the flag.
    Attribute& cacheable() {
        flags |= DFS_ATTR_CACHEABLE;
        return *this;
    }

    // Only create this attribute on devices for which fn is true (in a Group).
    Attribute& visible_if(VisibleFn fn) {
        visible_ = std::move(fn);
        return *this;
    }

    // The file's mode on each device, as the kernel's is_visible returns it:
    // 0 for no file, else permission bits (say 0444 where a value is only
    // read and 0644 where it can be set). Replaces visible_if and `mode`
    // for devices of a Group; the attribute's store must still refuse what
    // a 0444 file cannot take, since root may write it anyway.
    Attribute& mode_for(ModeFn fn) {
        mode_for_ = std::move(fn);
        return *this;
    }

    // Group's is_visible trampoline.
    static uint32_t visible_tramp(dfs_device* dev, const dfs_attribute* a) noexcept {
        auto* self = static_cast<const Attribute*>(a);
        long r = detail::contain("is_visible", a->name, dev, [&]() -> long {
            if (self->mode_for_) return self->mode_for_(Device(dev)) & 07777;
            return !self->visible_ || self->visible_(Device(dev)) ? static_cast<long>(self->mode) : 0;
        });
        return r > 0 ? static_cast<uint32_t>(r) : 0;
    }

private:
    static ssize_t show_tramp(dfs_device* dev, const dfs_attribute* a, char* buf, size_t cap) noexcept {
        auto* self = static_cast<const Attribute*>(a);
        return detail::contain("show", a->name, dev, [&]() -> long {
            std::string out;
            if (int rc = self->show_(Device(dev), out); rc < 0) return rc;
            size_t n = std::min(out.size(), cap);
            std::memcpy(buf, out.data(), n);
            return static_cast<long>(n);
        });
    }
    static ssize_t store_tramp(dfs_device* dev, const dfs_attribute* a, const char* buf, size_t len) noexcept {
        auto* self = static_cast<const Attribute*>(a);
        return detail::contain("store", a->name, dev, [&]() -> long {
            if (int rc = self->store_(Device(dev), std::string_view(buf, len)); rc < 0) return rc;
            return static_cast<long>(len);
        });
    }

    ShowFn show_;
    StoreFn store_;
    VisibleFn visible_;
    ModeFn mode_for_;
};

// A NULL-terminated list of attributes, as dfs_driver.dev_attrs and groups take.
class AttributeList {
public:
    AttributeList(std::initializer_list<const Attribute*> attrs) { add(attrs); }
    void add(std::initializer_list<const Attribute*> attrs) {
        if (!ptrs_.empty()) ptrs_.pop_back();
        for (const Attribute* a : attrs) ptrs_.push_back(a);
        ptrs_.push_back(nullptr);
    }
    void add(const Attribute* a) { add({a}); }
    const dfs_attribute* const* data() const { return ptrs_.data(); }

private:
    std::vector<const dfs_attribute*> ptrs_;
};

// An attribute group: name nullptr = in the device directory, else a
// subdirectory. Each Attribute's visible_if is evaluated at bind time and
// by update(): call it when what a visible_if depends on has changed.
class Group : public dfs_attribute_group {
public:
    Group(const char* name, std::initializer_list<const Attribute*> attrs)
        : dfs_attribute_group{sizeof(dfs_attribute_group), DRIVERFS_ABI_VERSION, name, nullptr,
                              &Attribute::visible_tramp},
          list_(attrs) {
        this->attrs = list_.data();
    }
    Group(const Group&) = delete;
    Group& operator=(const Group&) = delete;
    void add(const Attribute* a) {
        list_.add(a);
        this->attrs = list_.data();
    }
    // Re-evaluate visible_if on `dev` and add or remove files to match
    // (Device::update_group): 0, or -ENOSYS from a host older than ABI 3.
    int update(Device dev) const noexcept { return dev.update_group(*this); }

private:
    AttributeList list_;
};

// ---- drivers -------------------------------------------------------------------

// A driver. probe/remove are optional lambdas; state<State>() adds a
// per-device State object: probe constructs State(Device) (throw Errno to
// refuse the device) and stores it as drvdata, remove runs on_remove and
// then deletes it (its destructor is the place to stop per-device threads).
// Any number of Drivers per plugin: one probe/remove trampoline serves
// them all, asking the host which driver it runs for (device_driver, ABI 4).
class Driver : public dfs_driver {
public:
    using ProbeFn = std::function<int(Device)>;
    using RemoveFn = std::function<void(Device)>;

    Driver(const char* name, const char* bus = "platform");
    // Construct and configure in one statement, for a namespace-scope driver:
    //   Driver led("led", "platform", [](Driver& d) { d.attributes({&a}).state<Led>(); });
    Driver(const char* name, const char* bus, const std::function<void(Driver&)>& setup) : Driver(name, bus) {
        setup(*this);
    }
    Driver(const Driver&) = delete;
    Driver& operator=(const Driver&) = delete;

    // Device names / `compatible` values this driver takes (default: its name).
    Driver& compatible(std::initializer_list<const char*> names) {
        compat_.assign(names.begin(), names.end());
        compat_.push_back(nullptr);
        dfs_driver::compatible = compat_.data();
        return *this;
    }
    Driver& attributes(std::initializer_list<const Attribute*> attrs) {
        attrs_.add(attrs);
        dev_attrs = attrs_.data();
        return *this;
    }
    Driver& groups(std::initializer_list<const Group*> gs) { return groups(std::span(gs.begin(), gs.size())); }
    Driver& groups(std::span<const Group* const> gs) {
        groups_.assign(gs.begin(), gs.end());
        groups_.push_back(nullptr);
        dfs_driver::groups = groups_.data();
        return *this;
    }
    Driver& class_of(const char* cls) {
        class_name = cls;
        return *this;
    }
    Driver& on_probe(ProbeFn fn) {
        probe_fn_ = std::move(fn);
        return *this;
    }
    Driver& on_remove(RemoveFn fn) {
        remove_fn_ = std::move(fn);
        return *this;
    }
    template <class State>
    Driver& state() {
        make_ = [](Device d) -> void* { return new State(d); };
        destroy_ = [](void* p) { delete static_cast<State*>(p); };
        return *this;
    }

    // The probe/remove trampolines call these.
    int do_probe(dfs_device* dev) noexcept {
        return static_cast<int>(detail::contain("probe", name, dev, [&]() -> long {
            void* st = make_ ? make_(Device(dev)) : nullptr;
            if (st) Host::table->set_drvdata(dev, st);
            int rc = 0;
            try {
                rc = probe_fn_ ? probe_fn_(Device(dev)) : 0;
            } catch (...) {
                undo(dev, st);
                throw;
            }
            if (rc != 0) undo(dev, st);
            return rc;
        }));
    }
    void do_remove(dfs_device* dev) noexcept {
        detail::contain("remove", name, dev, [&] {
            if (remove_fn_) remove_fn_(Device(dev));
            return 0;
        });
        void* st = Host::table->get_drvdata(dev);
        if (st && destroy_) {
            Host::table->set_drvdata(dev, nullptr);
            detail::contain("remove (state destructor)", name, dev, [&] {
                destroy_(st);
                return 0;
            });
        }
    }

private:
    static Driver* of(dfs_device* dev) noexcept;
    static int probe_tramp(dfs_device* dev) noexcept;
    static void remove_tramp(dfs_device* dev) noexcept;
    void undo(dfs_device* dev, void* st) {
        if (!st) return;
        Host::table->set_drvdata(dev, nullptr);
        destroy_(st);
    }

    std::vector<const char*> compat_;
    AttributeList attrs_{};
    std::vector<const dfs_attribute_group*> groups_;
    ProbeFn probe_fn_;
    RemoveFn remove_fn_;
    void* (*make_)(Device) = nullptr;
    void (*destroy_)(void*) = nullptr;
};

inline Driver::Driver(const char* drv_name, const char* bus_name)
    : dfs_driver{sizeof(dfs_driver), DRIVERFS_ABI_VERSION, drv_name, bus_name, nullptr, &probe_tramp, &remove_tramp,
                 nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr} {}

// Every Driver of this SDK is a Driver object, so the dfs_driver the host
// names is one (host ABI 4 at least, which a plugin of this header requires).
inline Driver* Driver::of(dfs_device* dev) noexcept {
    const dfs_driver* d = Host::table->device_driver(dev);
    return d ? static_cast<Driver*>(const_cast<dfs_driver*>(d)) : nullptr;
}
inline int Driver::probe_tramp(dfs_device* dev) noexcept {
    Driver* d = of(dev);
    return d ? d->do_probe(dev) : -ENODEV;
}
inline void Driver::remove_tramp(dfs_device* dev) noexcept {
    if (Driver* d = of(dev)) d->do_remove(dev);
}

// ---- class devices ----------------------------------------------------------------

// A class device (ABI 4; Linux's device_create with groups): a directory
// devices/.../<parent>/<class>/<name> linked from class/<class>/<name>,
// whose attribute callbacks get this class device, and whose
// Device::state<State>() is the `state` given here. Made below a device in
// probe (a State constructor is the usual place) or while it is bound;
// destroyed with this object, and by the host at unbind at the latest.
// Move-only.
class ClassDevice {
public:
    struct Options {
        std::initializer_list<const Group*> groups = {};
        void* state = nullptr;
        std::vector<std::string> props = {};  // "KEY=VALUE"
        uint32_t major = 0, minor = 0;        // device number; major 0: none
        bool block = false;
    };

    ClassDevice() = default;
    // `name` may hold one "%d": the lowest free number in the class.
    // Throws Errno with the host's errno when it cannot be made (from a
    // State constructor, probe then refuses the device with it).
    ClassDevice(Device parent, const char* class_name, const char* name, const Options& opt) {
        create(parent.raw(), nullptr, class_name, name, opt);
    }
    // A class device of no device, devices/virtual/<class>/<name>, whose
    // callbacks run for `owner` (a Driver of this plugin); callable once
    // init returned. It lasts until destroyed or the plugin unloads: one
    // kept in static storage must be reset() in the Module's exit hook,
    // since the host destroys what is left once exit() returns, before the
    // static destructors run.
    ClassDevice(const Driver& owner, const char* class_name, const char* name, const Options& opt) {
        create(nullptr, &owner, class_name, name, opt);
    }
    ClassDevice(ClassDevice&& o) noexcept : raw_(std::exchange(o.raw_, nullptr)) {}
    ClassDevice& operator=(ClassDevice&& o) noexcept {
        if (this != &o) {
            reset();
            raw_ = std::exchange(o.raw_, nullptr);
        }
        return *this;
    }
    ~ClassDevice() { reset(); }

    explicit operator bool() const { return raw_ != nullptr; }
    Device device() const { return Device(raw_); }
    const char* name() const { return Host::table->device_name(raw_); }
    void notify(const char* attr) const { Host::table->notify(raw_, attr); }
    // Destroy it now (see dfs_host's class_device_destroy).
    void reset() noexcept {
        if (raw_) Host::table->class_device_destroy(std::exchange(raw_, nullptr));
    }
    // Forget it without destroying it: for a handle the host destroys
    // itself (a class device of no device left to the unload).
    void release() noexcept { raw_ = nullptr; }

private:
    void create(dfs_device* parent, const dfs_driver* owner, const char* class_name, const char* name,
                const Options& opt) {
        std::vector<const dfs_attribute_group*> groups(opt.groups.begin(), opt.groups.end());
        groups.push_back(nullptr);
        std::vector<const char*> props;
        for (const std::string& p : opt.props) props.push_back(p.c_str());
        props.push_back(nullptr);
        dfs_class_device info{sizeof(dfs_class_device), DRIVERFS_ABI_VERSION, class_name, name, opt.major,
                              opt.minor, opt.block ? DFS_CLASS_DEVICE_BLOCK : 0u, groups.data(), props.data(),
                              owner};
        dfs_device* out = nullptr;
        int rc = Host::table->class_device_create(Host::self, parent, &info, opt.state, &out);
        if (rc != 0) throw Errno(-rc);
        raw_ = out;
    }

    dfs_device* raw_ = nullptr;
};

// ---- the plugin descriptor ------------------------------------------------------

// The plugin: name, version, its drivers (registered in this order at init),
// optional init/exit hooks (init runs before the drivers are registered:
// the place to register a bus or add devices through Host::table; exit runs
// at unload, after every device was unbound, or at once if registering a
// driver fails after init returned 0). Declare one per plugin and export it with
// DRIVERFS_PLUGIN(module_object).
class Module : public dfs_plugin_desc {
public:
    using InitFn = std::function<int()>;
    using ExitFn = std::function<void()>;

    Module(const char* mod_name, const char* mod_version, std::initializer_list<Driver*> drivers,
           InitFn init_fn = {}, ExitFn exit_fn = {})
        : dfs_plugin_desc{sizeof(dfs_plugin_desc), DRIVERFS_ABI_VERSION, mod_name, mod_version, &init_tramp,
                          &exit_tramp},
          drivers_(drivers), init_fn_(std::move(init_fn)), exit_fn_(std::move(exit_fn)) {
        instance() = this;
    }
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

private:
    static Module*& instance() {
        static Module* m = nullptr;
        return m;
    }
    static int init_tramp(dfs_plugin* self, const dfs_host* host) noexcept {
        Host::attach(self, host);
        Module* m = instance();
        bool hooked = false;
        long rc = detail::contain("init", m->name, nullptr, [&]() -> long {
            if (m->init_fn_)
                if (int rc = m->init_fn_(); rc != 0) return rc;
            hooked = true;
            for (Driver* d : m->drivers_)
                if (int rc = host->register_driver(self, d); rc != 0) return rc;
            return 0;
        });
        // A failed init gets no exit() from the host: undo the hook here, or
        // what it started (a thread, a file) would outlive the unmapped code.
        if (rc != 0 && hooked) exit_tramp(self);
        return static_cast<int>(rc);
    }
    static void exit_tramp(dfs_plugin*) noexcept {
        Module* m = instance();
        detail::contain("exit", m->name, nullptr, [&] {
            if (m->exit_fn_) m->exit_fn_();
            return 0;
        });
    }

    std::vector<Driver*> drivers_;
    InitFn init_fn_;
    ExitFn exit_fn_;
};

}  // namespace driverfs::sdk
