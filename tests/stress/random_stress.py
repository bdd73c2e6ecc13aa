#!/usr/bin/env python3
"""random_stress: seeded random file and control operations on a driverfs mount.

Run by random_stress.sh (which mounts a fresh driverfsd with the five sample
plugins in its plugin directory and a control socket); see README.md.

At the same time:
  * --threads file workers walk the whole tree at random and read, write good
    and bad values, poll(), hold fds open (and use and close them later), and
    try every operation sysfs refuses (refusals.py), each result checked
    against what the real /sys answered;
  * one control worker loads, unloads, adds and removes devices, binds and
    unbinds, suspends, resumes and purges, through the control files and
    through driverfsctl, with the sample plugins led, hwmon, gpio-sim, vbus and
    example;
  * one `driverfsctl --json monitor` reader.

Fails (exit 1, with the seed and the last operations of every thread) on:
  * an errno (or a success) outside the allowed table of that operation;
  * a dead daemon (ENOTCONN, process gone, monitor closed);
  * an operation that has not returned after --op-timeout seconds (watchdog);
  * "left N thread(s)", "writing device", "terminate called", sanitizer
    reports in the daemon log;
  * at the end, once everything is unloaded and removed and the kernel's
    FORGETs came in (drop_caches, polled with a bound): daemon fds,
    memfd:driverfs mappings or nodes not back to their start values.
"""
import argparse
import collections
import errno
import json
import os
import random
import re
import select
import stat
import subprocess
import sys
import threading
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refusals  # noqa: E402

PLUGINS = ["led", "hwmon", "gpio-sim", "vbus", "example"]
# device -> (bus, driver, properties)
DEVICES = {
    "led0": ("platform", "led", []),
    "led1": ("platform", "led", ["max_brightness=10", "trigger=timer"]),
    "hwmon0": ("platform", "hwmon", []),
    "gpio-sim0": ("platform", "gpio-sim", ["ngpio=4"]),
    "hello0": ("platform", "hello", []),
    "hello1": ("platform", "hello", []),
    "vbusx0": ("vbus", "vbus-dummy", ["id=8086:1234"]),
    "vbusx1": ("vbus", "vbus-dummy", ["id=dead:beef"]),
}
BAD_VALUES = ["", "\n", "abc", "-1", "4294967296", "99999999999999999999999", "\x00",
              " ", "timer\ntimer", "x" * 4097, "1" * 4096]
GOOD_VALUES = {
    "brightness": ["0", "1", "5", "255"],
    "trigger": ["none", "timer", "heartbeat"],
    "delay_on": ["10", "100"],
    "delay_off": ["10", "100"],
    "direction": ["in", "out", "high", "low"],
    "value": ["0", "1"],
    "edge": ["none", "rising", "falling", "both"],
    "pull": ["pull-up", "pull-down"],
    "message": ["hello", "x"],
    "update_interval": ["0", "100", "1000"],
    "uevent": ["add", "change", "remove"],
    "driver_override": ["led", "hello", "\n"],
    "drivers_autoprobe": ["1", "1", "1", "0"],
    "load": PLUGINS + ["no-such-plugin"],
    "unload": PLUGINS + ["no-such-plugin"],
    "new_device": [" ".join([d] + p) for d, (_, _, p) in DEVICES.items()] + ["junk0"],
    "delete_device": list(DEVICES) + ["junk0", "nosuch"],
    "bind": list(DEVICES),
    "unbind": list(DEVICES),
    "drivers_probe": list(DEVICES),
}

# Errnos a path operation may get because the entry went away meanwhile (an
# unload, a delete_device, a trigger change removing delay_on/delay_off): the
# lookup misses (ENOENT) or the node is already removed (ENODEV).
RACE = {"ENOENT", "ENODEV"}
# Answers per operation kind (besides the refusals, which come from
# refusals.TABLE). Each one is explained in README.md.
ALLOWED = {
    "readdir": {"OK"} | RACE,
    "lstat": {"OK"} | RACE,
    "readlink": {"OK"} | RACE,
    "stat-follow": {"OK"} | RACE,
    "open-read": {"OK"} | RACE,            # EACCES of a write-only file: see below
    "read": {"OK", "ENODEV"},
    "open-write": {"OK"} | RACE,
    # the store's answer: bad value, gpio input, busy device, exists, unknown
    "write-good": {"OK", "ENODEV", "EINVAL", "EPERM", "EBUSY", "EEXIST", "ENOENT", "EAGAIN", "ERANGE"},
    "write-bad": {"OK", "ENODEV", "EINVAL", "EPERM", "EBUSY", "EEXIST", "ENOENT", "EAGAIN", "ERANGE"},
    "poll": {"OK", "ENODEV"},
    "held-read": {"OK", "ENODEV"},
    "held-write": {"OK", "ENODEV", "EINVAL", "EPERM", "EBUSY", "EEXIST", "ENOENT", "EAGAIN", "ERANGE"},
    "held-poll": {"OK", "ENODEV"},
    "close": {"OK"},
    # control operations through the files: the answers of a refused request
    "ctl-file": {"OK", "EEXIST", "ENOENT", "ENODEV", "EBUSY", "EINVAL", "EAGAIN"} ,
}
BAD_LOG = re.compile(r"left \d+ thread|writing device|terminate called|AddressSanitizer|"
                     r"ThreadSanitizer|runtime error:|LeakSanitizer|Assertion .* failed|Segmentation")


def ename(e):
    return errno.errorcode.get(e, str(e))


class Fail(Exception):
    pass


class Run:
    def __init__(self, a):
        self.a = a
        self.m = a.mount
        self.stop = threading.Event()
        self.failed = threading.Event()
        self.pause = threading.Event()             # set: workers park (quiesce)
        self.parked = 0                            # workers parked, under self.lock
        self.lock = threading.Lock()
        self.violations = []
        self.counts = collections.Counter()        # "kind" -> ops
        self.results = collections.Counter()       # "kind:ANSWER" -> n
        self.slots = {}                            # thread name -> [start, what]
        self.last = {}                             # thread name -> deque of recent ops
        self.events = collections.Counter()
        self.log_pos = 0
        self.allowed_log = 0
        self.samples = []                          # rows of the memory table
        self.mstats = None                         # last malloc_stats() totals (kB)
        self.mstats_next = None
        self.arenas_next = None
        self.arena_stats = []                      # [[name, system kB, in use kB]] of the last malloc_stats()

    # ---- bookkeeping -------------------------------------------------------

    def violation(self, who, what):
        with self.lock:
            self.violations.append(f"[{who}] {what}")
        self.failed.set()

    def begin(self, who, what):
        self.slots[who] = [time.monotonic(), what]
        self.last[who].append(what)

    def end(self, who):
        self.slots[who] = [None, ""]

    def account(self, who, kind, answer, allowed, detail):
        with self.lock:
            self.counts[kind] += 1
            self.results[f"{kind}:{answer}"] += 1
        self.last[who][-1] += f" -> {answer}"
        if answer in ("ENOTCONN", "ECONNABORTED"):
            self.violation(who, f"{detail}: ENOTCONN (the daemon is gone)")
        elif answer not in allowed:
            self.violation(who, f"{detail}: got {answer}, allowed {sorted(allowed)}")

    def call(self, who, kind, allowed, detail, fn):
        """Run fn() under the watchdog; its answer is "OK" or an errno name."""
        self.begin(who, f"{kind} {detail}")
        try:
            fn()
            ans = "OK"
        except OSError as e:
            ans = ename(e.errno)
        finally:
            self.end(who)
        self.account(who, kind, ans, allowed, f"{kind} {detail}")
        return ans

    # ---- daemon figures -------------------------------------------------------

    def ctl(self, *args, timeout=None):
        cmd = [self.a.ctl, "--socket", self.a.socket] + list(args)
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout or self.a.op_timeout)

    def nodes(self):
        r = self.ctl("--json", "stats")
        if r.returncode != 0:
            raise Fail(f"driverfsctl stats failed: {r.stderr.strip()}")
        return int(json.loads(r.stdout)["nodes"])

    def fds(self):
        return len(os.listdir(f"/proc/{self.a.pid}/fd"))

    def maps(self):
        with open(f"/proc/{self.a.pid}/maps") as f:
            return sum("memfd:driverfs" in line for line in f)

    def rss_kb(self):
        with open(f"/proc/{self.a.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def figures(self):
        return {"fds": self.fds(), "maps": self.maps(), "nodes": self.nodes(), "rss_kb": self.rss_kb()}

    def memory(self):
        """The daemon's memory, read from /proc without touching it: VmRSS
        and RssAnon (status), Threads, and from smaps the resident kB of the
        main heap ([heap]) and of the glibc arena heaps of the other threads.
        An arena heap is an anonymous 64 MiB-aligned reservation of 64 MiB
        (HEAP_MAX_SIZE on 64-bit): a rw-p part in use, the rest ---p; a
        thread's stack is 8 MiB with its guard page below, so it never
        matches. "arenas" = main arena + arena heaps (an arena past 64 MiB
        would have two heaps; none comes near here)."""
        out = {}
        with open(f"/proc/{self.a.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "RssAnon", "Threads"):
                    out[k] = int(v.split()[0])
        vmas = []  # [start, end, perms, path, rss_kb]
        with open(f"/proc/{self.a.pid}/smaps") as f:
            for line in f:
                head = line.split()
                if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
                    lo, hi = (int(x, 16) for x in head[0].split("-"))
                    vmas.append([lo, hi, head[1], head[5] if len(head) > 5 else "", 0])
                elif head[0] == "Rss:":
                    vmas[-1][4] = int(head[1])
        heap_max = 64 << 20
        heap = sum(v[4] for v in vmas if v[3] == "[heap]")
        arenas, arena_rss, i = 0, 0, 0
        while i < len(vmas):
            lo = vmas[i][0]
            if vmas[i][3] == "" and lo % heap_max == 0:
                j, end, rss = i, lo, 0
                while j < len(vmas) and vmas[j][3] == "" and vmas[j][0] == end and end < lo + heap_max:
                    end, rss = vmas[j][1], rss + vmas[j][4]
                    j += 1
                if end == lo + heap_max and vmas[j - 1][2].startswith("---"):
                    arenas, arena_rss, i = arenas + 1, arena_rss + rss, j
                    continue
            i += 1
        return {"rss_kb": out.get("VmRSS", -1), "anon_kb": out.get("RssAnon", -1),
                "heap_kb": heap, "arena_kb": arena_rss, "arenas": 1 + arenas,
                "threads": out.get("Threads", -1)}

    def malloc_stats(self, trim=False):
        """--malloc-stats: glibc's malloc_stats() called in the daemon by gdb
        (it writes to the daemon's stderr, the log; check_log picks up the
        totals). Other threads run during the call, so no arena lock stays
        held by a stopped thread. Returns (system kB, in use kB) or None.
        "In use" counts mmap()ed chunks whole, resident or not (libfuse's
        receive buffer of each FUSE worker is one), so it can exceed RSS.
        trim: malloc_trim(0) first, which gives every free page of every
        arena back to the kernel: what RSS then loses was free memory the
        allocator kept, not live data."""
        self.mstats = None
        cmds = (["-ex", "call (int)malloc_trim(0)"] if trim else []) + ["-ex", "call (void)malloc_stats()"]
        try:
            subprocess.run(["gdb", "-batch", "-nx", "-p", str(self.a.pid)] + cmds,
                           capture_output=True, timeout=self.a.op_timeout)
        except (OSError, subprocess.TimeoutExpired) as e:
            print(f"malloc_stats: gdb: {e}", flush=True)
            return None
        self.check_log()
        return self.mstats

    def sample(self, t, label, trim=False):
        """One row of the memory table (printed at the end, and as it is taken)."""
        ms = None
        if self.a.malloc_stats and label:
            # start and end only: while requests are in flight, a daemon
            # thread may sit in an uninterruptible notify that waits on a
            # request another (ptrace-stopped) thread serves, and gdb's
            # attach then never completes (seen: 60 s, until gdb was killed).
            # Before the figures, so that a trim shows in them.
            ms = self.malloc_stats(trim) or (-1, -1)
        row = {"t": label if label else f"{t:.0f}"}
        row.update(self.memory())
        row.update({k: v for k, v in self.figures().items() if k != "rss_kb"})
        with open("/proc/loadavg") as f:
            row["load1"] = float(f.read().split()[0])
        if ms:
            row["sys_kb"], row["inuse_kb"] = ms
        self.samples.append(row)
        print("sample: " + " ".join(f"{k}={v}" for k, v in row.items()), flush=True)
        return row

    def daemon_alive(self):
        try:
            with open(f"/proc/{self.a.pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            return state not in ("Z", "X")
        except OSError:
            return False

    def check_log(self):
        """New lines of the daemon log that match BAD_LOG (read incrementally)."""
        bad = []
        try:
            with open(self.a.log, "rb") as f:
                f.seek(self.log_pos)
                data = f.read()
        except OSError:
            return bad
        cut = data.rfind(b"\n") + 1  # whole lines only
        self.log_pos += cut
        for line in data[:cut].decode(errors="replace").splitlines():
            # malloc_stats() (--malloc-stats): "Total (incl. mmap):" then
            # "system bytes = N" and "in use bytes = N"
            if line.startswith("Arena 0:"):
                self.arenas_next = []
            if line.startswith("Arena ") or line.startswith("Total (incl. mmap):"):
                if self.arenas_next is not None:
                    self.arenas_next.append([line.rstrip(":")])
            elif self.arenas_next and re.match(r"(system|in use) bytes\s*=", line):
                self.arenas_next[-1].append(int(line.split("=")[1]) // 1024)
            if line.startswith("max mmap bytes") and self.arenas_next is not None:
                self.arena_stats, self.arenas_next = self.arenas_next, None
            if line.startswith("Total (incl. mmap):"):
                self.mstats_next = []
            elif self.mstats_next is not None and re.match(r"(system|in use) bytes\s*=", line):
                self.mstats_next.append(int(line.split("=")[1]) // 1024)
                if len(self.mstats_next) == 2:
                    self.mstats, self.mstats_next = tuple(self.mstats_next), None
            if BAD_LOG.search(line):
                if self.a.allow_log and re.search(self.a.allow_log, line):
                    self.allowed_log += 1
                    continue
                bad.append(line[:300])
        return bad

    # ---- file workers ----------------------------------------------------------

    def random_path(self, rnd, who, cache):
        """A random walk from the root: an entry of any kind (or None). A
        directory is read again with probability --reread, else its last
        listing is used (more of the time goes to the files; a stale name
        just meets ENOENT)."""
        p = self.m
        for _ in range(12):
            names = []

            def ls():
                names.extend(os.listdir(p))
            if p in cache and rnd.random() >= self.a.reread:
                names = cache[p]
            elif self.call(who, "readdir", ALLOWED["readdir"], p[len(self.m):] or "/", ls) != "OK":
                cache.pop(p, None)
                return None
            else:
                cache[p] = names
            if not names:
                return p if p != self.m else None
            q = os.path.join(p, rnd.choice(sorted(names)))
            try:
                st = os.lstat(q)
            except OSError:
                return None
            if stat.S_ISDIR(st.st_mode) and rnd.random() < 0.75:
                p = q
                continue
            return q
        return p

    def value_for(self, rnd, path, good):
        if good:
            pool = GOOD_VALUES.get(os.path.basename(path), ["1", "0", "hello"])
            return rnd.choice(pool)
        return rnd.choice(BAD_VALUES)

    def file_worker(self, idx):
        who = f"file{idx}"
        rnd = random.Random(self.a.seed * 1000 + idx)
        held = []  # (fd, path, writable)
        cache = {}  # directory -> its last listing
        self.last[who] = collections.deque(maxlen=self.a.history)
        self.slots[who] = [None, ""]
        try:
            while not self.stop.is_set() and not self.failed.is_set():
                self.park(who, held)
                r = rnd.random()
                if held and r < 0.15:
                    self.held_op(who, rnd, held)
                    continue
                path = self.random_path(rnd, who, cache)
                if path is None:
                    continue
                try:
                    kind = refusals.kind(path)
                except OSError:
                    continue
                rel = path[len(self.m):]
                r = rnd.random()
                if r < 0.15:
                    self.call(who, "lstat", ALLOWED["lstat"], rel, lambda: os.lstat(path))
                    if kind == "link":
                        self.call(who, "readlink", ALLOWED["readlink"], rel, lambda: os.readlink(path))
                        self.call(who, "stat-follow", ALLOWED["stat-follow"], rel, lambda: os.stat(path))
                elif r < 0.40 and kind in ("rw", "ro"):
                    self.read_once(who, path, rel)
                elif r < 0.60 and kind in ("rw", "wo"):
                    good = rnd.random() < 0.6
                    self.write_once(who, path, rel, self.value_for(rnd, path, good), good)
                elif r < 0.68 and kind in ("rw", "ro"):
                    self.poll_once(who, rnd, path, rel)
                elif r < 0.75 and kind in ("rw", "ro", "wo") and len(held) < 8:
                    writable = kind == "wo" or (kind == "rw" and rnd.random() < 0.5)
                    box = []
                    flags = os.O_WRONLY if writable else os.O_RDONLY
                    ans = self.call(who, "open-write" if writable else "open-read",
                                    ALLOWED["open-write" if writable else "open-read"], "hold " + rel,
                                    lambda: box.append(os.open(path, flags)))
                    if ans == "OK":
                        held.append((box[0], rel, writable))
                else:
                    ops = [op for op, (_, kinds) in refusals.OPS.items() if kind in kinds]
                    if not ops:
                        continue
                    op = rnd.choice(sorted(ops))
                    want = refusals.TABLE[(op, kind)]
                    self.refused(who, op, kind, path, rel, want)
        except Exception:
            self.violation(who, "exception in the worker: " + traceback.format_exc())
        finally:
            self.close_held(who, held)

    def refused(self, who, op, kind, path, rel, want):
        self.begin(who, f"refused:{op} {kind} {rel}")
        ans = refusals.run(op, path)
        self.end(who)
        allowed = {want} | RACE
        if op == "rename-self":
            # rename(P, P) is a no-op only if both lookups find the same
            # entry; if it was removed and made again in between (an unbind
            # and a bind), they differ and it is an ordinary rename: EPERM.
            allowed.add(refusals.TABLE[("rename", kind)])
        if op == "create-excl-existing":
            # O_CREAT|O_EXCL on an entry removed meanwhile is a create: EACCES
            allowed.add(refusals.TABLE[("create", "dir")])
        # an entry made anyway must not stay: that is itself a violation
        self.account(who, f"refused:{op}", ans, allowed, f"refused:{op} ({kind}) {rel} (/sys: {want})")

    def read_once(self, who, path, rel):
        box = []
        if self.call(who, "open-read", ALLOWED["open-read"], rel,
                     lambda: box.append(os.open(path, os.O_RDONLY))) != "OK":
            return
        fd = box[0]
        allowed = set(ALLOWED["read"])
        if "/hwmon" in rel:
            allowed.add("EIO")  # hwmon: a source of the host that cannot be read (hwmon.cpp)
        self.call(who, "read", allowed, rel, lambda: os.read(fd, 8192))
        self.call(who, "close", ALLOWED["close"], rel, lambda: os.close(fd))

    def write_once(self, who, path, rel, value, good):
        box = []
        if self.call(who, "open-write", ALLOWED["open-write"], rel,
                     lambda: box.append(os.open(path, os.O_WRONLY))) != "OK":
            return
        fd = box[0]
        kind = "write-good" if good else "write-bad"
        self.call(who, kind, ALLOWED[kind], f"{rel} {value[:40]!r}", lambda: os.write(fd, value.encode()))
        self.call(who, "close", ALLOWED["close"], rel, lambda: os.close(fd))

    def poll_once(self, who, rnd, path, rel):
        box = []
        if self.call(who, "open-read", ALLOWED["open-read"], rel,
                     lambda: box.append(os.open(path, os.O_RDONLY))) != "OK":
            return
        fd = box[0]

        def pl():
            os.read(fd, 8192)
            p = select.poll()
            p.register(fd, select.POLLPRI | select.POLLERR)
            p.poll(rnd.randint(0, 20))
        self.call(who, "poll", ALLOWED["poll"], rel, pl)
        self.call(who, "close", ALLOWED["close"], rel, lambda: os.close(fd))

    def held_op(self, who, rnd, held):
        i = rnd.randrange(len(held))
        fd, rel, writable = held[i]
        r = rnd.random()
        if r < 0.3:
            held.pop(i)
            self.call(who, "close", ALLOWED["close"], "held " + rel, lambda: os.close(fd))
        elif writable:
            good = rnd.random() < 0.6
            v = self.value_for(rnd, rel, good)
            self.call(who, "held-write", ALLOWED["held-write"], f"{rel} {v[:40]!r}",
                      lambda: os.write(fd, v.encode()))
        elif r < 0.7:
            self.call(who, "held-read", ALLOWED["held-read"] | ({"EIO"} if "/hwmon" in rel else set()),
                      rel, lambda: os.pread(fd, 8192, 0))
        else:
            def pl():
                p = select.poll()
                p.register(fd, select.POLLPRI | select.POLLERR)
                p.poll(rnd.randint(0, 20))
            self.call(who, "held-poll", ALLOWED["held-poll"], rel, pl)

    # ---- the control worker ------------------------------------------------------

    def ctl_op(self, who, kind, args):
        """driverfsctl ARGS: exit 0, or 1 with an errno in ALLOWED['ctl-file']."""
        self.begin(who, f"{kind} driverfsctl {' '.join(args)}")
        try:
            r = self.ctl(*args)
        except subprocess.TimeoutExpired:
            self.end(who)
            self.violation(who, f"driverfsctl {' '.join(args)} did not answer within {self.a.op_timeout} s")
            return
        self.end(who)
        if r.returncode == 0:
            ans = "OK"
        elif r.returncode == 1:
            m = re.search(r"\((E[A-Z0-9]+)\)\s*$", r.stderr.strip())
            ans = m.group(1) if m else "FAILED"
            if not m:
                self.violation(who, f"driverfsctl {' '.join(args)}: exit 1 without an errno: {r.stderr.strip()}")
        else:
            ans = f"EXIT{r.returncode}"
            self.violation(who, f"driverfsctl {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
        self.account(who, kind, ans, ALLOWED["ctl-file"] | {"FAILED"}, f"{kind} {' '.join(args)}")

    def ctl_file(self, who, kind, path, value):
        def w():
            fd = os.open(self.m + "/" + path, os.O_WRONLY)
            try:
                os.write(fd, value.encode())
            finally:
                os.close(fd)
        self.call(who, kind, ALLOWED["ctl-file"], f"{path} {value!r}", w)

    def close_held(self, who, held):
        for fd, rel, _ in held:
            self.call(who, "close", ALLOWED["close"], "held " + rel, lambda fd=fd: os.close(fd))
        held.clear()

    def park(self, who, held=None):
        """While the run is quiesced (see quiesce()): close what this worker
        holds, so that nothing of it stays in the daemon, and wait."""
        if not self.pause.is_set():
            return
        if held is not None:
            self.close_held(who, held)
        with self.lock:
            self.parked += 1
        while self.pause.is_set() and not self.stop.is_set() and not self.failed.is_set():
            time.sleep(0.05)
        with self.lock:
            self.parked -= 1

    def control_worker(self):
        who = "control"
        rnd = random.Random(self.a.seed * 1000 + 999)
        self.last[who] = collections.deque(maxlen=self.a.history)
        self.slots[who] = [None, ""]
        try:
            while not self.stop.is_set() and not self.failed.is_set():
                self.park(who)
                via_ctl = rnd.random() < 0.5
                r = rnd.random()
                p = rnd.choice(PLUGINS)
                d = rnd.choice(sorted(DEVICES))
                bus, drv, props = DEVICES[d]
                if r < 0.18:
                    if via_ctl:
                        self.ctl_op(who, "load", ["load", p])
                    else:
                        self.ctl_file(who, "load", "control/load", p)
                elif r < 0.30:
                    if via_ctl:
                        self.ctl_op(who, "unload", ["unload", p])
                    else:
                        self.ctl_file(who, "unload", "control/unload", p)
                elif r < 0.50:
                    if via_ctl:
                        self.ctl_op(who, "add-device", ["add-device", bus, d] + props)
                    else:
                        self.ctl_file(who, "add-device", f"bus/{bus}/new_device", " ".join([d] + props))
                elif r < 0.62:
                    if via_ctl:
                        self.ctl_op(who, "remove-device", ["remove-device", d])
                    else:
                        self.ctl_file(who, "remove-device", f"bus/{bus}/delete_device", d)
                elif r < 0.74:
                    if via_ctl:
                        self.ctl_op(who, "bind", ["bind", bus, drv, d])
                    else:
                        self.ctl_file(who, "bind", f"bus/{bus}/drivers/{drv}/bind", d)
                elif r < 0.84:
                    if via_ctl:
                        self.ctl_op(who, "unbind", ["unbind", bus, drv, d])
                    else:
                        self.ctl_file(who, "unbind", f"bus/{bus}/drivers/{drv}/unbind", d)
                elif r < 0.89:
                    self.ctl_op(who, "suspend", ["suspend"])
                elif r < 0.94:
                    self.ctl_op(who, "resume", ["resume"])
                elif r < 0.97:
                    self.ctl_op(who, "purge", ["purge"])
                else:
                    self.ctl_op(who, "stats", ["stats"])
                if self.a.ctl_pause_ms:
                    time.sleep(rnd.randint(0, self.a.ctl_pause_ms) / 1000)
        except Exception:
            self.violation(who, "exception in the control worker: " + traceback.format_exc())

    # ---- the monitor reader ------------------------------------------------------------

    def monitor_reader(self, proc):
        for line in proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                self.violation("monitor", f"not JSON: {line.strip()!r}")
                continue
            act = ev.get("action") or ev.get("event", {}).get("action") if isinstance(ev, dict) else None
            with self.lock:
                self.events[str(act)] += 1
        if not self.stop.is_set():
            err = proc.stderr.read() if proc.stderr else ""
            self.violation("monitor", f"driverfsctl monitor ended before the run did: {err.strip()}")

    # ---- watchdog ------------------------------------------------------------------------

    def watch(self):
        now = time.monotonic()
        for who, (start, what) in list(self.slots.items()):
            if start is not None and now - start > self.a.op_timeout:
                self.violation(who, f"HANG: '{what}' has not returned after {now - start:.0f} s")
        if not self.daemon_alive():
            self.violation("watchdog", f"driverfsd (pid {self.a.pid}) is gone")
        bad = self.check_log()
        if bad:
            self.violation("log", "daemon log: " + " | ".join(bad[:5]))

    # ---- the end: everything away, figures back ----------------------------------------

    def teardown(self):
        # unload every plugin, remove every device, purge; a few rounds, since
        # an unload may be refused while another is under way (it is not here:
        # the workers stopped) or a device be re-added by nothing (none left).
        for _ in range(5):
            r = self.ctl("--json", "list")
            if r.returncode != 0:
                raise Fail(f"driverfsctl list failed: {r.stderr.strip()}")
            mods = json.loads(r.stdout)
            loaded = [m["name"] for m in _modules(mods) if m.get("state", "live") == "live"]
            for name in loaded:
                u = self.ctl("unload", name)
                if u.returncode != 0:
                    print(f"teardown: unload {name}: {u.stderr.strip()}")
            r = self.ctl("--json", "devices")
            if r.returncode != 0:
                raise Fail(f"driverfsctl devices failed: {r.stderr.strip()}")
            devs = _devices(json.loads(r.stdout))
            for name, bus in devs:
                if name.startswith("-"):
                    # driverfsctl takes it for an option (it has no "--"):
                    # the bus's delete_device file takes any name
                    try:
                        with open(f"{self.m}/bus/{bus}/delete_device", "w") as f:
                            f.write(name)
                    except OSError as e:
                        print(f"teardown: delete_device {name} on {bus}: {e}")
                    continue
                u = self.ctl("remove-device", name)
                if u.returncode != 0:
                    print(f"teardown: remove-device {name}: {u.stderr.strip()}")
            if not loaded and not devs:
                break
        r = self.ctl("purge")
        if r.returncode != 0:
            raise Fail(f"driverfsctl purge failed: {r.stderr.strip()}")
        # restore drivers_autoprobe (a worker may have written 0): no node changes
        for bus in os.listdir(self.m + "/bus"):
            try:
                with open(f"{self.m}/bus/{bus}/drivers_autoprobe", "w") as f:
                    f.write("1")
            except OSError:
                pass


def _modules(j):
    if isinstance(j, dict):
        for k in ("modules", "plugins", "stubs"):
            if k in j:
                return j[k]
        return []
    return j


def _devices(j):
    if isinstance(j, dict):
        j = j.get("devices", [])
    return [(d["name"], d.get("bus", "platform")) for d in j]


def tree(m):
    out = set()
    for root, dirs, files in os.walk(m):
        for n in dirs + files:
            out.add(os.path.join(root, n)[len(m):])
    return out


def drop_caches():
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def settle(run, start, bound):
    """drop_caches and poll until fds, maps and nodes are back; the last figures."""
    end = time.monotonic() + bound
    while True:
        drop_caches()
        fig = run.figures()
        if start is None or all(fig[k] == start[k] for k in ("fds", "maps", "nodes")) or time.monotonic() > end:
            return fig
        time.sleep(0.2)


def settle_back(run, want, a, who, want_is, now_is):
    """settle(), then a violation for each of fds, maps, nodes not back at want."""
    fig = settle(run, want, a.settle_timeout)
    for k in ("fds", "maps", "nodes"):
        if fig[k] != want[k]:
            run.violation(who, f"{k}: {want[k]} {want_is}, {fig[k]} {now_is} "
                          f"(after drop_caches, waited {a.settle_timeout:g} s)")
    return fig


def quiesce(run, workers, start, a, now):
    """--max-rss-growth: bring the run to the state of its end, once, at the
    first minute, and take the memory row the end is compared with. RSS
    counts the resident pages of each plugin object mapped at that instant
    (0 to 25 of them with the control worker's random loads) and the nodes of
    the devices present, so two samples taken in the middle of the run differ
    by that much without any growth. Parked workers hold no fd; the teardown
    unloads, removes and purges as at the end; the FORGETs are waited for.
    The workers then go on where they stopped."""
    run.pause.set()
    try:
        while not run.failed.is_set():
            with run.lock:
                if run.parked == len(workers):
                    break
            time.sleep(0.05)
            run.watch()  # a worker stuck in its operation is a HANG, as ever
        if run.failed.is_set():
            return
        run.teardown()
        # the monitor's control session stays connected: one socket more
        settle_back(run, dict(start, fds=start["fds"] + 1), a, "quiesce",
                    "expected (start + the monitor's session)", f"at {now:.0f} s, quiesced")
        run.sample(now, f"{now:.0f}, quiesced")
    finally:
        run.pause.clear()


SAMPLE_COLS = [("t", "t (s)"), ("rss_kb", "RSS kB"), ("anon_kb", "anon kB"), ("heap_kb", "[heap] kB"),
               ("arena_kb", "arena heaps kB"), ("arenas", "arenas"), ("threads", "threads"),
               ("sys_kb", "malloc sys kB"), ("inuse_kb", "malloc in use kB"), ("fds", "fds"),
               ("maps", "maps"), ("nodes", "nodes"), ("load1", "load")]


def print_samples(run, a, minute):
    """The memory table: start, every --sample-every s, end (after the
    teardown and the FORGETs); also written to --samples FILE as JSON lines."""
    if not run.samples:
        return
    cols = [(k, h) for k, h in SAMPLE_COLS if any(k in r for r in run.samples)]
    print("memory:      (RSS, anon = VmRSS, RssAnon; [heap] = main arena; arena heaps = the other "
          "threads' arenas, resident; malloc = malloc_stats() totals)")
    print("| " + " | ".join(h for _, h in cols) + " |")
    print("|" + " --- |" * len(cols))
    for r in run.samples:
        print("| " + " | ".join(str(r.get(k, "")) for k, _ in cols) + " |")
    # The check compares two rows taken in the same state (quiesce()): the
    # first minute's, quiesced, and the end's; without them, the timed rows.
    m1 = next((r for r in run.samples if r["t"].endswith("quiesced")), None)
    last = next((r for r in run.samples if r["t"] == "end"), None)
    if not (m1 and last):
        timed = [r for r in run.samples if r["t"].isdigit()]
        m1 = next((r for r in timed if int(r["t"]) >= 60), None)
        last = timed[-1] if timed else None
    if m1 and last and last is not m1:
        g = 100.0 * (last["rss_kb"] - m1["rss_kb"]) / m1["rss_kb"]
        print(f"rss:         {m1['rss_kb']} kB at {m1['t']}, {last['rss_kb']} kB at {last['t']}: "
              f"{g:+.1f} %" + (f" (limit {a.max_rss_growth:g} %)" if a.max_rss_growth is not None else ""))
        if a.max_rss_growth is not None and g > a.max_rss_growth:
            run.violations.append(f"[rss] RSS grew {g:.1f} % from {m1['t']} to {last['t']} "
                                  f"({m1['rss_kb']} -> {last['rss_kb']} kB), more than --max-rss-growth "
                                  f"{a.max_rss_growth:g} %")
    elif a.max_rss_growth is not None:
        run.violations.append("[rss] --max-rss-growth needs a run of more than 60 s that reaches its end")
    if run.arena_stats:
        print("arenas:      at the last malloc_stats() (system kB / in use kB): " +
              ", ".join(f"{n.replace('Arena ', '#').replace('Total (incl. mmap)', 'total')} "
                        f"{v[0] if v else '?'}/{v[1] if len(v) > 1 else '?'}" for n, *v in run.arena_stats))
    if a.samples:
        with open(a.samples, "w") as f:
            for r in run.samples:
                f.write(json.dumps(r) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mount", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--ctl", required=True, help="driverfsctl")
    ap.add_argument("--log", required=True, help="the daemon's stderr")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--duration", type=float, default=25)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--op-timeout", type=float, default=60, help="watchdog bound per operation (s)")
    ap.add_argument("--settle-timeout", type=float, default=60, help="bound for the FORGETs at the end (s)")
    ap.add_argument("--ctl-pause-ms", type=int, default=0, help="random pause between control operations")
    ap.add_argument("--reread", type=float, default=0.25,
                    help="probability that a walk reads a directory again rather than using its last listing")
    ap.add_argument("--allow-log", default=None, metavar="REGEX",
                    help="daemon log lines matching REGEX are counted, not failures (a known open "
                         "bug, to look past it; off by default)")
    ap.add_argument("--history", type=int, default=12, help="operations shown per thread on failure")
    ap.add_argument("--sample-every", type=float, default=60,
                    help="seconds between rows of the memory table (RSS, arenas, threads; 0: none)")
    ap.add_argument("--malloc-stats", action="store_true",
                    help="at the start and end samples, call malloc_stats() in the daemon through gdb; "
                         "at the end, once more after malloc_trim(0)")
    ap.add_argument("--samples", default=None, metavar="FILE", help="write the memory table as JSON lines")
    ap.add_argument("--max-rss-growth", type=float, default=None, metavar="PCT",
                    help="quiesce the run at 60 s (workers parked, everything unloaded, as at the end) and "
                         "fail if RSS at the end is more than PCT %% above RSS then "
                         "(issue 16 asks 10; off by default: RSS is reported, not checked)")
    a = ap.parse_args()
    if a.seed is None:
        a.seed = int.from_bytes(os.urandom(4), "little")
    print(f"random_stress: seed {a.seed}, duration {a.duration:g} s, threads {a.threads} "
          f"(again: --seed {a.seed} --duration {a.duration:g} --threads {a.threads})", flush=True)

    run = Run(a)
    try:
        drop_caches()
    except OSError as e:
        print(f"RANDOM STRESS FAIL: cannot write /proc/sys/vm/drop_caches ({e}): run as root", flush=True)
        return 1
    mount = settle(run, None, 0)
    # Warm-up: load every plugin and add one device of each driver, then take
    # it all away again. What stays is by design and is counted exactly:
    # module/<plugin>/ with generation, refcnt, srcpath, state, version (a
    # stub's record outlives its plugin: DESIGN.md section 3, "gone"), and
    # class/<class>/ directories once made. The run's start figures are
    # taken after this, so the end must equal them exactly.
    try:
        for p in PLUGINS:
            r = run.ctl("load", p)
            if r.returncode != 0:
                raise Fail(f"warm-up: load {p}: {r.stderr.strip()}")
        for d in ("led0", "hwmon0", "gpio-sim0", "hello0", "vbusx0"):
            bus, _, props = DEVICES[d]
            r = run.ctl("add-device", bus, d, *props)
            if r.returncode != 0:
                raise Fail(f"warm-up: add-device {d}: {r.stderr.strip()}")
        classes = sorted(os.listdir(a.mount + "/class"))
        run.teardown()
    except (Fail, OSError, subprocess.TimeoutExpired) as e:
        print(f"RANDOM STRESS FAIL (seed {a.seed}): {e}", flush=True)
        return 1
    start = settle(run, None, 0)
    expected_nodes = mount["nodes"] + 6 * len(PLUGINS) + len(classes)
    print(f"mount: {mount}; after the warm-up: {start} (classes {classes})", flush=True)
    for k, want in (("fds", mount["fds"]), ("maps", mount["maps"]), ("nodes", expected_nodes)):
        if start[k] != want:
            print(f"RANDOM STRESS FAIL (seed {a.seed}): after the warm-up {k} = {start[k]}, expected {want} "
                  f"(nodes: {mount['nodes']} + 6 per plugin x {len(PLUGINS)} + {len(classes)} classes)",
                  flush=True)
            return 1
    start_tree = tree(a.mount)
    drop_caches()
    print(f"start: {start}", flush=True)
    run.sample(0, "start")
    t0 = time.monotonic()
    mon = subprocess.Popen([a.ctl, "--socket", a.socket, "--json", "monitor"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    threads = [threading.Thread(target=run.monitor_reader, args=(mon,), daemon=True)]
    threads += [threading.Thread(target=run.file_worker, args=(i,), daemon=True) for i in range(a.threads)]
    threads.append(threading.Thread(target=run.control_worker, daemon=True))
    for t in threads:
        t.start()
    minute = None
    next_sample = a.sample_every
    while time.monotonic() - t0 < a.duration and not run.failed.is_set():
        time.sleep(0.25)
        run.watch()
        now = time.monotonic() - t0
        if minute is None and now >= 60:
            minute = run.figures()
            print(f"after 1 min: {minute}", flush=True)
            if a.max_rss_growth is not None:
                try:
                    quiesce(run, threads[1:], start, a, now)
                except (Fail, OSError, subprocess.TimeoutExpired, ValueError, KeyError) as e:
                    run.violation("quiesce", f"at {now:.0f} s: {e!r}")
                if a.sample_every and next_sample <= now:
                    next_sample += a.sample_every  # that row would repeat the quiesced one
        if a.sample_every and now >= next_sample:
            try:
                run.sample(now, None)
            except (Fail, OSError, subprocess.TimeoutExpired, ValueError, KeyError) as e:
                run.violation("sample", f"memory sample at {now:.0f} s: {e!r}")
            next_sample += a.sample_every
    run.stop.set()
    # the workers finish their current operation: the watchdog still applies
    workers = threads[1:]
    while any(t.is_alive() for t in workers):
        time.sleep(0.1)
        run.watch()
        if run.failed.is_set() and any(s[0] is not None and time.monotonic() - s[0] > a.op_timeout
                                       for s in run.slots.values()):
            break
    elapsed = time.monotonic() - t0
    mon.terminate()
    try:
        mon.wait(timeout=10)
    except subprocess.TimeoutExpired:
        mon.kill()

    final = None
    if not run.failed.is_set():
        try:
            run.teardown()
            final = settle_back(run, start, a, "end", "at start", "at the end")
            run.sample(0, "end")
            if a.malloc_stats:
                run.sample(0, "end, trimmed", trim=True)
            end_tree = tree(a.mount)
            if end_tree != start_tree:
                run.violation("end", f"the tree differs from the start: added {sorted(end_tree - start_tree)}, "
                              f"gone {sorted(start_tree - end_tree)}")
        except (Fail, OSError, subprocess.TimeoutExpired, ValueError, KeyError) as e:
            run.violation("end", f"teardown: {e!r}")
        run.watch()

    print(f"seed:        {a.seed}")
    print(f"duration:    {elapsed:.1f} s (asked {a.duration:g}), threads {a.threads} + control + monitor")
    print(f"operations:  {sum(run.counts.values())}")
    for k in sorted(run.counts):
        answers = " ".join(f"{r[len(k) + 1:]}={n}" for r, n in sorted(run.results.items())
                           if r.rsplit(":", 1)[0] == k)
        print(f"  {k:28} {run.counts[k]:7}  {answers}")
    print(f"uevents:     {dict(sorted(run.events.items()))}")
    if a.allow_log:
        print(f"log lines let pass by --allow-log {a.allow_log!r}: {run.allowed_log}")
    print(f"figures:     start {start}")
    print(f"             1 min {minute if minute else '(run shorter than a minute)'}")
    print(f"             end   {final}")
    print_samples(run, a, minute)
    if run.violations:
        print(f"violations:  {len(run.violations)}")
        for v in run.violations[:20]:
            print("  " + v)
        print("last operations of each thread (oldest first):")
        for who, dq in sorted(run.last.items()):
            print(f"  {who}:")
            for op in dq:
                print(f"    {op}")
        print(f"RANDOM STRESS FAIL (seed {a.seed})", flush=True)
        os._exit(1)  # a thread may still hang in the mount
    print("violations:  0")
    print(f"RANDOM STRESS PASS (seed {a.seed})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
