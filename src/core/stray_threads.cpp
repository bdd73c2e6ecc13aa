// Stray threads: which threads hold a plugin's code on their stacks.
//
// After a plugin's exit() returns, a thread it started and never stopped
// (or a timer thread it left armed) may still be inside its code, or
// return into it. Unmapping then crashes the daemon later, at a distance.
// This scan looks at each other thread of the process, as Linux shows it:
// /proc/self/task/TID/syscall gives the stack pointer and program counter
// of a thread blocked in the kernel ("running" for one on a CPU, which is
// retried). A program counter in the object's executable segments
// (dl_iterate_phdr) means the thread is in its code; so does a return
// address into them among the thread's outermost frames (its entry function
// and the first calls it made, located through the mapping that holds the
// stack, /proc/self/maps): a thread the plugin started has a plugin
// function there for as long as it lives. Deeper frames are not looked at:
// they hold stale words of calls that returned (a FUSE worker idle in
// read() showed a plugin address 2.7 KiB above its stack pointer under
// ThreadSanitizer), and after the drain no daemon thread is in a call into
// the plugin anyway.
//
// Conservative about what it sees: any word that looks like such an
// address counts, and the caller keeps the code mapped. What it cannot see:
// a thread that stays on a CPU for the whole window (computing in the
// plugin without a system call; reported as unexamined, and the caller
// warns), a thread another library started that runs plugin code below its
// outermost frames (a callback queued in a thread pool), a thread whose
// stack the plugin allocated itself, and a thread that will enter the
// plugin later without being in it now (a POSIX timer with SIGEV_THREAD
// between expiries, a signal handler).
//
// The stacks are read with process_vm_readv, not by dereferencing: they
// belong to running threads, and a plain load would race with them (and
// trip the sanitizers on their poisoned red zones).
#include "stray_threads.hpp"

#include <dirent.h>
#include <dlfcn.h>
#include <link.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace driverfs {
namespace {

struct Range {
    uintptr_t begin, end;
    bool holds(uintptr_t a) const { return a >= begin && a < end; }
};

// The executable PT_LOAD segments of the object loaded at `base`.
std::vector<Range> code_ranges(uintptr_t base) {
    struct Search {
        uintptr_t base;
        std::vector<Range> out;
    } search{base, {}};
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* arg) -> int {
            auto* s = static_cast<Search*>(arg);
            if (info->dlpi_addr != s->base) return 0;
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

std::vector<pid_t> other_threads() {
    std::vector<pid_t> out;
    const pid_t self = gettid();
    DIR* d = opendir("/proc/self/task");
    if (!d) return out;
    while (dirent* e = readdir(d)) {
        const pid_t tid = static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10));
        if (tid > 0 && tid != self) out.push_back(tid);
    }
    closedir(d);
    return out;
}

// Where a blocked thread stands. nullopt-like: ok=false for a thread on a
// CPU ("running") or one that is gone (gone=true).
struct Regs {
    bool ok = false, gone = false;
    uintptr_t sp = 0, pc = 0;
};

Regs blocked_regs(pid_t tid) {
    Regs r;
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/syscall");
    std::string line;
    if (!in || !std::getline(in, line)) {
        r.gone = true;  // exited meanwhile
        return r;
    }
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string s; words >> s;) w.push_back(s);
    // "NR a1 .. a6 SP PC" in a syscall, "-1 SP PC" blocked elsewhere in the kernel.
    if (w.size() < 3 || w[0] == "running") return r;
    r.sp = std::stoull(w[w.size() - 2], nullptr, 0);
    r.pc = std::stoull(w[w.size() - 1], nullptr, 0);
    r.ok = true;
    return r;
}

// End of the mapping of this process that contains `addr`, 0 if none.
uintptr_t mapping_end(uintptr_t addr) {
    std::ifstream maps("/proc/self/maps");
    for (std::string line; std::getline(maps, line);) {
        unsigned long lo = 0, hi = 0;
        if (std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) != 2) continue;
        if (addr >= lo && addr < hi) return hi;
    }
    return 0;
}

// Where a thread's outermost frames lie: the distance from the end of its
// stack mapping (past them: static TLS and the thread descriptor) to the
// frame of its entry function. The same for every thread that pthread
// created with a default stack; measured once on a thread of our own.
uintptr_t entry_frame_depth() {
    static const uintptr_t depth = [] {
        uintptr_t d = 0;
        std::thread([&d] {
            volatile char probe = 0;
            const uintptr_t at = reinterpret_cast<uintptr_t>(&probe);
            if (const uintptr_t end = mapping_end(at)) d = end - at;
        }).join();
        return d;
    }();
    return depth;
}

// The window scanned: a thread's outermost frames, from its entry function
// down kEntryWindow bytes. Only these: they have been live since the thread
// started and hold no stale words of calls that returned, unlike the rest
// of a stack (a FUSE worker idle in read() still has, inside its live
// frames, slots once used by a show() of the plugin). A thread the plugin
// started runs a plugin function as its entry, or one step below it.
constexpr uintptr_t kEntryWindow = 4096;

bool stack_refers_to(pid_t tid, uintptr_t sp, const std::vector<Range>& code) {
    // The main thread's entry is main(), in the daemon: the plugin never
    // started it, and its program counter was checked.
    if (tid == getpid()) return false;
    uintptr_t end = mapping_end(sp);
    const uintptr_t depth = entry_frame_depth();
    if (end == 0 || depth == 0 || depth > end - sp) return false;
    const uintptr_t entry = end - depth;
    end = std::min(end, entry + 512);  // the entry frame itself
    const uintptr_t begin = std::max(sp, entry > kEntryWindow ? entry - kEntryWindow : 0);
    std::vector<uintptr_t> words(4096 / sizeof(uintptr_t));
    for (uintptr_t at = begin & ~(sizeof(uintptr_t) - 1); at < end;) {
        const size_t len = std::min<size_t>(words.size() * sizeof(uintptr_t), end - at);
        iovec local{words.data(), len};
        iovec remote{reinterpret_cast<void*>(at), len};
        const ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
        if (n <= 0) break;
        for (size_t i = 0; i < static_cast<size_t>(n) / sizeof(uintptr_t); ++i)
            for (const Range& r : code)
                if (r.holds(words[i])) return true;
        at += static_cast<uintptr_t>(n);
    }
    return false;
}

}  // namespace

ThreadScan threads_in_object(void* handle, std::chrono::milliseconds window) {
    ThreadScan scan;
    link_map* lm = nullptr;
    if (!handle || dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || !lm) {
        scan.failed = true;
        return scan;
    }
    const std::vector<Range> code = code_ranges(lm->l_addr);
    if (code.empty()) {
        scan.failed = true;
        return scan;
    }
    std::vector<pid_t> pending = other_threads();
    const auto deadline = std::chrono::steady_clock::now() + window;
    while (true) {
        std::vector<pid_t> running;
        for (pid_t tid : pending) {
            const Regs regs = blocked_regs(tid);
            if (regs.gone) continue;
            if (!regs.ok) {
                running.push_back(tid);
                continue;
            }
            const bool in_pc = std::any_of(code.begin(), code.end(), [&](const Range& r) { return r.holds(regs.pc); });
            if (in_pc || stack_refers_to(tid, regs.sp, code)) {
                scan.in_code.push_back(tid);
                continue;
            }
            // Clean only if it did not move while its stack was read.
            const Regs after = blocked_regs(tid);
            if (!after.gone && (!after.ok || after.sp != regs.sp || after.pc != regs.pc)) running.push_back(tid);
        }
        pending = std::move(running);
        if (pending.empty() || std::chrono::steady_clock::now() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    scan.unexamined = std::move(pending);
    return scan;
}

}  // namespace driverfs
