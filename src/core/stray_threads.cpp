// Stray threads: knowing, from its creation, which plugin started a thread.
//
// After a plugin's exit() returns, a thread it started and never stopped
// may still run its code, or return into it; unmapping the object then
// crashes the daemon later, at a distance. So unload asks which of the
// threads the plugin started are still running, and keeps the code mapped
// for good if any is.
//
// Which threads a plugin started is decided once, when each is created,
// never by looking at running threads afterwards: a thread's stack says
// where it has been, not who started it (the scan of stacks this replaces
// took a FUSE worker idle in read() for a plugin thread, from a stale
// return address of an earlier store(), and leaked a mapping and a memfd
// per unload). This file defines pthread_create for the whole process;
// every call made through the dynamic linker (a plugin's, libstdc++'s for
// std::thread, libfuse's, Asio's) reaches it. It walks the caller's stack
// from the call outwards, skipping shared libraries (libc, libstdc++,
// libfuse, anything a plugin links), to the first frame in either the
// daemon's executable or a loaded plugin object: a plugin frame makes the
// new thread that plugin's, a daemon frame makes it the daemon's (a thread
// the daemon starts while a plugin calls a host service is the daemon's).
// A stack that reaches neither leaves the thread the creator's: a thread
// started by a plugin thread inside a library is the plugin's too. Threads
// the loading thread starts while the object's constructors run (dlopen)
// are the object's.
//
// Only plugin threads are tracked. Such a thread enrolls its tid under its
// plugin before pthread_create returns to the creator (a handshake), so a
// plugin thread that starts another and ends is never seen to have none,
// and it leaves in the destructor of a thread-specific key, which runs
// after its start routine returned and after every thread_local destructor
// (the plugin's own, and that of a std::thread's state).
//
// What it cannot see, and then the code is unmapped under a thread that
// later runs it and the daemon crashes: a thread not created through
// pthread_create by symbol, such as glibc's helper threads for POSIX timers
// with SIGEV_THREAD (created inside libc) or a raw clone(); a pthread_key
// destructor of the plugin's (it may run after the thread left); a thread
// another library starts on its own and hands plugin code to (a callback
// queued in a pool the library started earlier); a signal handler the
// plugin installed. A stack the unwinder cannot walk to a plugin or daemon
// frame (a library without unwind tables on it) leaves the new thread its
// creator's. Counting a thread wrongly as a plugin's costs only memory
// (the code stays mapped).
//
// Concurrency: one mutex, registry().mu, guards the objects and the thread
// table. It is never held across a call into the dynamic linker or the
// unwinder (dl_iterate_phdr, backtrace): those take glibc's loader lock,
// and a plugin constructor run under that lock may create a thread, so the
// order is loader lock, then registry lock, never the reverse. An atomic
// count of known objects lets pthread_create skip the stack walk while no
// plugin is loaded.
#include "stray_threads.hpp"

#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

namespace driverfs {
namespace {

struct Range {
    uintptr_t begin, end;
    bool holds(uintptr_t a) const { return a >= begin && a < end; }
};

struct Object {
    uint64_t id;
    void* handle = nullptr;     // null until committed
    std::vector<Range> code;    // its executable segments, empty until committed
};

struct Registry {
    std::mutex mu;
    uint64_t next_id = 1;                 // guarded by mu
    std::vector<Object> objects;          // guarded by mu
    std::map<pid_t, uint64_t> threads;    // tid -> object id; guarded by mu
    std::atomic<size_t> known{0};         // objects.size(), read without mu
};

// Never destroyed: plugin threads may still end, and enroll or leave,
// while the process runs its static destructors.
Registry& registry() {
    static Registry* r = new Registry;
    return *r;
}

// The executable PT_LOAD segments of the object loaded at `base`, or of the
// main program for main_program=true (always the first object listed).
std::vector<Range> code_ranges(uintptr_t base, bool main_program) {
    struct Search {
        uintptr_t base;
        bool main_program;
        std::vector<Range> out;
    } search{base, main_program, {}};
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* arg) -> int {
            auto* s = static_cast<Search*>(arg);
            if (!s->main_program && info->dlpi_addr != s->base) return 0;
            for (int i = 0; i < info->dlpi_phnum; ++i) {
                const ElfW(Phdr)& ph = info->dlpi_phdr[i];
                if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X))
                    s->out.push_back({info->dlpi_addr + ph.p_vaddr, info->dlpi_addr + ph.p_vaddr + ph.p_memsz});
            }
            return 1;
        },
        &search);
    return search.out;
}

const std::vector<Range>& daemon_code() {
    static const std::vector<Range> code = code_ranges(0, true);
    return code;
}

// The object this thread belongs to (0: the daemon's), and the object
// being dlopen'ed by this thread, if any.
thread_local uint64_t t_origin = 0;
thread_local uint64_t t_loading = 0;

// Takes a plugin thread out of the thread table when it ends: the
// destructor of a thread-specific key runs after the start routine
// returned (or pthread_exit) and after every thread_local destructor, the
// plugin's own and that of a std::thread's state. Not a thread_local
// destructor: registering one takes glibc's loader lock, which a plugin
// constructor that starts a thread and joins it holds all along.
void leave(void* tid) {
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    r.threads.erase(static_cast<pid_t>(reinterpret_cast<uintptr_t>(tid)));
}

pthread_key_t enrollment_key() {
    static const pthread_key_t key = [] {
        pthread_key_t k;
        if (int rc = pthread_key_create(&k, leave); rc != 0) {
            // Without it plugin threads would never leave and every plugin
            // that started one would stay mapped: stop loudly instead.
            std::fprintf(stderr, "driverfs: pthread_key_create failed (errno %d): cannot track plugin threads\n", rc);
            std::abort();
        }
        return k;
    }();
    return key;
}

// Which object, if any, the thread about to be created belongs to.
// `call_site` is the return address into pthread_create's caller.
uint64_t origin_of_new_thread(uintptr_t call_site) {
    if (t_loading != 0) return t_loading;
    if (registry().known.load(std::memory_order_acquire) == 0) return t_origin;
    void* frames[64];
    const int n = backtrace(frames, 64);
    // Start at the caller: frames before it are this file's.
    int first = 0;
    while (first < n && reinterpret_cast<uintptr_t>(frames[first]) != call_site) ++first;
    if (first == n) first = std::min(n, 2);
    const std::vector<Range>& daemon = daemon_code();
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    for (int i = first; i < n; ++i) {
        // A return address may be one past the call's last byte; step back
        // into the call so the end of a segment is not missed.
        const uintptr_t at = reinterpret_cast<uintptr_t>(frames[i]) - 1;
        for (const Object& o : r.objects)
            for (const Range& c : o.code)
                if (c.holds(at)) return o.id;
        for (const Range& c : daemon)
            if (c.holds(at)) return 0;
    }
    return t_origin;
}

using PthreadCreate = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);

// Handed from the creator to start_enrolled(); lives on the creator's stack
// until `enrolled` is set.
struct Start {
    void* (*routine)(void*);
    void* arg;
    uint64_t origin;
    std::atomic<uint32_t> enrolled{0};
};

// The wait is a bare futex, not a condition variable or atomic::wait: the
// new thread's last touch of Start is the store, and the wake-up names only
// the address, so the creator may return (and Start go) the moment it sees
// the store.
void signal_enrolled(std::atomic<uint32_t>& flag) {
    flag.store(1, std::memory_order_release);
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&flag), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

void wait_enrolled(std::atomic<uint32_t>& flag) {
    while (flag.load(std::memory_order_acquire) == 0)
        syscall(SYS_futex, reinterpret_cast<uint32_t*>(&flag), FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0);
}

void* start_enrolled(void* p) {
    auto* start = static_cast<Start*>(p);
    void* (*routine)(void*) = start->routine;
    void* arg = start->arg;
    t_origin = start->origin;
    const pid_t tid = gettid();
    {
        Registry& r = registry();
        std::lock_guard lock(r.mu);
        r.threads[tid] = t_origin;
    }
    // Should this fail (ENOMEM), the thread stays enrolled for good, and
    // its plugin mapped: the safe side.
    pthread_setspecific(enrollment_key(), reinterpret_cast<void*>(static_cast<uintptr_t>(tid)));
    signal_enrolled(start->enrolled);
    return routine(arg);
}

}  // namespace

PluginCodeLoad::PluginCodeLoad() {
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    id_ = r.next_id++;
    r.objects.push_back({id_, nullptr, {}});
    r.known.store(r.objects.size(), std::memory_order_release);
    t_loading = id_;
}

PluginCodeLoad::~PluginCodeLoad() {
    t_loading = 0;
    if (committed_) return;
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    std::erase_if(r.objects, [&](const Object& o) { return o.id == id_; });
    r.known.store(r.objects.size(), std::memory_order_release);
}

bool PluginCodeLoad::commit(void* handle) {
    t_loading = 0;
    link_map* lm = nullptr;
    if (!handle || dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || !lm) return false;
    std::vector<Range> code = code_ranges(lm->l_addr, false);
    if (code.empty()) return false;
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    for (Object& o : r.objects)
        if (o.id == id_) {
            o.handle = handle;
            o.code = std::move(code);
            committed_ = true;
        }
    return committed_;
}

PluginThreads finish_plugin_threads(void* handle) {
    PluginThreads out;
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    auto obj = std::find_if(r.objects.begin(), r.objects.end(),
                            [&](const Object& o) { return handle && o.handle == handle; });
    if (obj == r.objects.end()) {
        out.unknown = true;
        return out;
    }
    for (const auto& [tid, origin] : r.threads)
        if (origin == obj->id) out.tids.push_back(tid);
    if (out.tids.empty()) {
        r.objects.erase(obj);
        r.known.store(r.objects.size(), std::memory_order_release);
    }
    return out;
}

}  // namespace driverfs

// A sanitizer runtime linked statically (clang's default) defines
// pthread_create weakly as its interceptor, which this definition replaces;
// the interceptor is then reached by its own name. Elsewhere the next
// definition in lookup order is the real one: a shared sanitizer runtime's
// interceptor (gcc's default), or libc's.
extern "C" int __interceptor_pthread_create(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*)
    __attribute__((weak));

extern "C" __attribute__((visibility("default"))) int pthread_create(pthread_t* thread, const pthread_attr_t* attr,
                                                                      void* (*routine)(void*), void* arg) {
    using driverfs::PthreadCreate;
    static const PthreadCreate next = [] {
        if (&__interceptor_pthread_create) return &__interceptor_pthread_create;
        auto found = reinterpret_cast<PthreadCreate>(dlsym(RTLD_NEXT, "pthread_create"));
        if (!found) {
            // Nothing can start a thread and nothing can say so: stop here
            // rather than fail every thread start in some later, odd way.
            std::fprintf(stderr, "driverfs: pthread_create: no next definition (%s)\n", dlerror());
            std::abort();
        }
        return found;
    }();
    const uint64_t origin =
        driverfs::origin_of_new_thread(reinterpret_cast<uintptr_t>(__builtin_return_address(0)));
    if (origin == 0) return next(thread, attr, routine, arg);
    driverfs::Start start{routine, arg, origin};
    const int rc = next(thread, attr, driverfs::start_enrolled, &start);
    if (rc == 0) driverfs::wait_enrolled(start.enrolled);
    return rc;
}
