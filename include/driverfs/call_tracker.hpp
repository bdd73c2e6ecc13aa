// In-flight call records: who is running which driver callback right now.
#pragma once

#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace driverfs {

class Stub;

struct RunningCall {
    std::string driver;  // stub name
    std::string what;    // "show brightness on led0", "probe led0", ...
    pid_t tid;           // kernel thread id, as in /proc/<pid>/task/<tid>
};

// Marks the calling thread as running a callback of `stub` for its lifetime,
// so that an unload that times out can say exactly what it is waiting for.
// Cost: one uncontended lock of a per-thread mutex on entry and exit; it is
// kept off ActiveRef::pin() so the pin stays a single atomic op.
class CallScope {
public:
    CallScope(const Stub& stub, std::string_view what);
    ~CallScope();
    CallScope(const CallScope&) = delete;
    CallScope& operator=(const CallScope&) = delete;

    // Is this thread inside a driver callback? Such a thread must not wait
    // on the kernel: it may be serving the very request the kernel waits on.
    static bool inside_callback();

private:
    const Stub* saved_stub_;
    std::string saved_what_;
};

// Calls of `stub` running on any thread now.
std::vector<RunningCall> running_calls(const Stub& stub);

}  // namespace driverfs
