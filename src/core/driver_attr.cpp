// Driver attributes: show/store/read/write through the plugin gate, and show()'s guarded page.
#include "driver_attr.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <random>

#include "abi.hpp"
#include "core/call_tracker.hpp"
#include "core/log.hpp"
#include "core/plugin_loader.hpp"
#include "plugin_gate.hpp"

namespace driverfs {
namespace {

// The page a plugin's show() writes into, followed by a guard zone.
//
// show() gets `kPageSize` bytes of capacity and a C plugin can still write
// more (an sprintf, an off-by-one NUL). The caller's page is a stack buffer
// in the daemon, so the plugin never sees it: it writes here, the guard zone
// of kGuard canary bytes behind the page is checked after every call, and
// only a clean call's bytes are copied out. A changed canary means the call
// wrote past the page: its output is discarded and the read fails (EIO).
//
// The limit of the guarantee: an overrun that stays inside the guard zone
// is detected and contained. A longer one runs into a PROT_NONE page right
// behind the guard and faults: the daemon dies on the spot (SIGSEGV) rather
// than go on with memory the plugin corrupted; a write that skips over the
// guard (buf[5000] = 0) lands in that page too. A stray write that stores
// the very byte the canary holds at that place goes unnoticed (the canary
// is random per process with odd bytes: NUL and newline never match, any
// other single byte 1 time in 128). Writes before the page are not caught.
//
// One per thread (FUSE workers run shows in parallel), made on first use,
// unmapped at thread exit. Only the owning thread touches it.
class GuardedPage {
public:
    static constexpr size_t kGuard = 256;

    GuardedPage() {
        const size_t pg = static_cast<size_t>(sysconf(_SC_PAGESIZE));
        rw_len_ = (AttrOps::kPageSize + kGuard + pg - 1) / pg * pg;
        map_len_ = rw_len_ + pg;
        void* m = mmap(nullptr, map_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return;
        base_ = static_cast<char*>(m);
        if (mprotect(base_ + rw_len_, pg, PROT_NONE) != 0) {
            munmap(base_, map_len_);
            base_ = nullptr;
            return;
        }
        // Page and guard end exactly where the inaccessible page starts.
        page_ = base_ + rw_len_ - kGuard - AttrOps::kPageSize;
    }
    ~GuardedPage() {
        if (base_) munmap(base_, map_len_);
    }
    GuardedPage(const GuardedPage&) = delete;
    GuardedPage& operator=(const GuardedPage&) = delete;

    // Null if the mapping could not be made.
    char* page() const { return page_; }
    // Write the canary into the guard zone: before every call.
    void arm() { std::memcpy(guard(), canary().data(), kGuard); }
    // How far past the page the last call wrote, 0 if the guard is intact.
    size_t overrun() const {
        const char* g = guard();
        for (size_t i = kGuard; i > 0; --i)
            if (g[i - 1] != canary()[i - 1]) return i;
        return 0;
    }

private:
    char* guard() const { return page_ + AttrOps::kPageSize; }
    // Random per process, so no plugin writes it back by design.
    static const std::array<char, kGuard>& canary() {
        static const std::array<char, kGuard> bytes = [] {
            std::array<char, kGuard> b{};
            std::random_device rd;
            for (char& c : b) c = static_cast<char>(rd() | 1u);  // never NUL: the usual stray byte
            return b;
        }();
        return bytes;
    }

    char* base_ = nullptr;
    char* page_ = nullptr;
    size_t rw_len_ = 0, map_len_ = 0;
};

}  // namespace

DriverAttr::DriverAttr(DriverPtr driver, const dfs_attribute* attr, DevicePtr device, std::string name)
    : driver_(std::move(driver)), attr_(attr), device_(std::move(device)), name_(std::move(name)),
      // A version-2 plugin's attribute ends before `flags`: never cacheable.
      cacheable_(DFS_HAS_FIELD(attr, dfs_attribute, flags) && (attr->flags & DFS_ATTR_CACHEABLE) &&
                 DFS_HAS_FIELD(attr, dfs_attribute, show) && attr->show) {}

Status DriverAttr::validate() {
    Result<DriverGate> gate = DriverGate::enter(*driver_);
    if (!gate) return gate.error();
    return {};
}

Result<size_t> DriverAttr::show(char* page) {
    Result<DriverGate> gate = DriverGate::enter(*driver_);
    if (!gate) return gate.error();
    thread_local GuardedPage guarded;
    char* buf = guarded.page();
    if (!buf) return Error::of(ENOMEM, "no memory for the page of show " + name_);
    guarded.arm();
    Result<size_t> n = gate->show(*device_, attr_, name_, buf, kPageSize);
    if (const size_t past = guarded.overrun()) {
        const std::string what = CallDesc{CallOp::show, name_, device_.get()}.text();
        log(LogLevel::err, "plugin " + driver_->plugin().name() + ": driver " + driver_->name() + ": " + what +
                               " wrote " + std::to_string(past) + " byte(s) past the end of its " +
                               std::to_string(kPageSize) + "-byte page; its output is discarded (EIO)");
        return Error::of(EIO, what + " wrote past the page");
    }
    if (!n) return n;
    std::memcpy(page, buf, n.value());
    return n;
}

Result<size_t> DriverAttr::store(std::string_view data) {
    Result<DriverGate> gate = DriverGate::enter(*driver_);
    if (!gate) return gate.error();
    return gate->store(*device_, attr_, name_, data);
}

Status DriverBinAttr::validate() {
    Result<DriverGate> gate = DriverGate::enter(*driver_);
    if (!gate) return gate.error();
    return {};
}

// As sysfs binary files: a read at or past the end is 0 bytes and a longer
// one is cut at the end; a write at or past the end is EFBIG.
Result<size_t> DriverBinAttr::read_at(char* out, size_t count, size_t offset) {
    if (offset >= length_) return size_t{0};
    count = std::min(count, length_ - offset);
    Result<DriverGate> gate = DriverGate::enter(*driver_);
    if (!gate) return gate.error();
    return gate->read(*device_, attr_, name_, out, offset, count);
}

Result<size_t> DriverBinAttr::write_at(std::string_view data, size_t offset) {
    if (offset >= length_) return Error::of(EFBIG, "write at " + std::to_string(offset) + " past the end of " + name_);
    data = data.substr(0, length_ - offset);
    Result<DriverGate> gate = DriverGate::enter(*driver_);
    if (!gate) return gate.error();
    return gate->write(*device_, attr_, name_, data, offset);
}

}  // namespace driverfs
