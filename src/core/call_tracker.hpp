// In-flight call records: who is running which driver callback right now.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace driverfs {

class Device;
class Driver;
class Stub;

// Which callback a tracked call runs.
enum class CallOp : uint8_t { show, store, read, write, probe, remove, suspend, resume, shutdown, is_visible, match };

// What a call is doing, kept as references to things that outlive the call
// and formatted only when someone asks (running_calls, a log line): tracking
// a call must cost no allocation, since every read of an attribute is one.
struct CallDesc {
    CallOp op;
    std::string_view name;         // show/store/read/write/is_visible: the attribute
    const Device* dev = nullptr;   // the device called for (all but is_visible)
    const Driver* peer = nullptr;  // match: the driver the device is matched with

    // "show brightness of led0", "probe led0", "match dev0 with drv", ...
    std::string text() const;
};

// CallDesc::text() from names instead of objects: `dev` and `peer` are the
// device's and the peer driver's names (a copy kept after the call, as the
// slowest call of DriverStats).
std::string call_text(CallOp op, std::string_view name, std::string_view dev, std::string_view peer);

struct RunningCall {
    std::string driver;  // stub name
    std::string what;    // CallDesc::text()
    pid_t tid;           // kernel thread id, as in /proc/<pid>/task/<tid>
};

// Marks the calling thread as running a callback of `stub` for its lifetime,
// so that an unload that times out can say exactly what it is waiting for.
// `what` must outlive the scope; the scope keeps a pointer, no copy.
// Cost: one uncontended lock of a per-thread mutex on entry and exit; it is
// kept off ActiveRef::pin() so the pin stays a single atomic op.
class CallScope {
public:
    CallScope(const Stub& stub, const CallDesc& what);
    ~CallScope();
    CallScope(const CallScope&) = delete;
    CallScope& operator=(const CallScope&) = delete;

    // Is this thread inside a driver callback? Such a thread must not wait
    // on the kernel: it may be serving the very request the kernel waits on.
    static bool inside_callback();

private:
    const Stub* saved_stub_;
    const CallDesc* saved_what_;
};

// Calls of `stub` running on any thread now.
std::vector<RunningCall> running_calls(const Stub& stub);

}  // namespace driverfs
