#!/usr/bin/env bash
# poll() on an attribute, as sysfs_notify does it: a poller blocked on an open
# brightness file (opened as a program would, through class/leds/led0) wakes
# with POLLPRI|POLLERR when the value changes (led notifies on every accepted
# write), a re-read at offset 0 gets the new value and re-arms, an unchanged attribute does not wake, and a removed attribute
# (the plugin unloaded) wakes its pollers with POLLERR.
source "$(dirname "$0")/lib/common.sh"
setup
mount_led0

out=$(python3 - "$M/class/leds/led0/brightness" "$M/control/unload" <<'PY'
import os, select, sys, threading, time
sys.path.insert(0, os.environ["TEST_PYLIB"])
from waiting import sleeping_in_poll, wait_for
path, unload = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_RDONLY)
os.read(fd, 100)                          # arm, as sysfs needs a read first
p = select.poll()
p.register(fd, select.POLLPRI | select.POLLERR)
me = threading.get_native_id()

# when_polling(DATA, TARGET): write DATA to TARGET on another thread once
# this one sleeps in poll(). "Did the poll wake because of the write, not
# before it?" is then a flag set just before the write, not a guess from how
# long the poll took.
def when_polling(data, target):
    started = threading.Event()
    def run():
        wait_for(lambda: sleeping_in_poll(me))
        started.set()
        w = os.open(target, os.O_WRONLY)
        try:
            os.write(w, data)
        finally:
            os.close(w)
    t = threading.Thread(target=run)
    t.start()
    return t, started

# A negative check: only a spurious event can fail it, never a slow machine.
ev = p.poll(300)
print("idle", "none" if not ev else hex(ev[0][1]))

writer, started = when_polling(b"77\n", path)
ev = p.poll(60000)
after = "after-write" if started.is_set() else "before-write"
writer.join()
bits = ev[0][1] if ev else 0
print("woke", "pri+err" if bits & select.POLLPRI and bits & select.POLLERR else hex(bits), after)
os.lseek(fd, 0, os.SEEK_SET)
print("value", os.read(fd, 100).decode().strip())
ev = p.poll(300)
print("rearmed", "none" if not ev else hex(ev[0][1]))

unloader, started = when_polling(b"led", unload)
ev = p.poll(60000)
unloader.join()
bits = ev[0][1] if ev else 0
print("removed", "err" if bits & select.POLLERR else hex(bits))
try:
    os.lseek(fd, 0, os.SEEK_SET)
    os.read(fd, 100)
    print("read-after-removal", "OK")
except OSError as e:
    print("read-after-removal", e.errno)
os.close(fd)
PY
) || fail "poll script failed: $out"

expect_eq "poll with no change" "idle none" "$(sed -n 1p <<<"$out")"
expect_eq "poll after a write" "woke pri+err after-write" "$(sed -n 2p <<<"$out")"
expect_eq "re-read after the wake-up" "value 77" "$(sed -n 3p <<<"$out")"
expect_eq "poll after the re-read" "rearmed none" "$(sed -n 4p <<<"$out")"
expect_eq "poll when the attribute is removed" "removed err" "$(sed -n 5p <<<"$out")"
expect_eq "read of the removed attribute (ENODEV=19)" "read-after-removal 19" "$(sed -n 6p <<<"$out")"
