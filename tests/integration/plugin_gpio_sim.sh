#!/usr/bin/env bash
# The gpio-sim sample plugin: ngpio from the device property (default 8,
# 1..64), per line gpioK/{direction,value,edge,pull} with their errnos, an
# input following its pull, and poll() on gpioK/value waking exactly on the
# changes its edge setting selects (from value writes and from pull).
source "$(dirname "$0")/lib/common.sh"
setup
start_daemon
install_plugin "$(plugin_file gpio-sim)" gpio-sim.so
expect_write_ok "$M/control/load" "gpio-sim"
expect_write_ok "$M/bus/platform/new_device" "gpio-sim0"
expect_write_ok "$M/bus/platform/new_device" "gpio-sim1 ngpio=64"
expect_write_ok "$M/bus/platform/new_device" "gpio-sim2 ngpio=65"
D="$M/devices/platform/gpio-sim0"

expect_eq "ngpio default" "8" "$(read_attr "$D/ngpio")"
expect_eq "ngpio=64" "64" "$(read_attr "$M/devices/platform/gpio-sim1/ngpio")"
[[ -f "$M/devices/platform/gpio-sim1/gpio63/value" ]] || fail "gpio-sim1 has no gpio63/value"
[[ -e "$M/devices/platform/gpio-sim2/driver" ]] && fail "gpio-sim2 (ngpio=65) was bound"
pass "ngpio=65 is refused by probe"
[[ -f "$D/gpio7/value" ]] || fail "gpio7/value is missing"
[[ -e "$D/gpio8/value" ]] && fail "gpio8/value exists on an 8-line chip"
[[ -e "$D/gpio8" ]] && fail "gpio8/ exists on an 8-line chip (a group with nothing visible has no directory)"
pass "lines 0..7 have files, line 8 has none"
expect_eq "gpio0 files" "direction edge pull value" "$(ls "$D/gpio0" | tr '\n' ' ' | sed 's/ $//')"

L="$D/gpio3"
expect_eq "direction at start" "in" "$(read_attr "$L/direction")"
expect_eq "pull at start" "pull-down" "$(read_attr "$L/pull")"
expect_eq "value at start" "0" "$(read_attr "$L/value")"
expect_eq "edge at start" "none" "$(read_attr "$L/edge")"
expect_write_errno EPERM "$L/value" "1"
write_attr "$L/pull" "pull-up"
expect_eq "input follows pull-up" "1" "$(read_attr "$L/value")"
expect_write_errno EINVAL "$L/pull" "up"
expect_write_errno EINVAL "$L/edge" "sideways"
expect_write_errno EINVAL "$L/direction" "inout"
write_attr "$L/direction" "out"
expect_eq "out drives low" "0" "$(read_attr "$L/value")"
write_attr "$L/value" "7"
expect_eq "nonzero value is 1" "1" "$(read_attr "$L/value")"
expect_write_errno EINVAL "$L/value" "one"
write_attr "$L/direction" "low"
expect_eq "direction low" "out 0" "$(read_attr "$L/direction") $(read_attr "$L/value")"
write_attr "$L/direction" "high"
expect_eq "direction high" "out 1" "$(read_attr "$L/direction") $(read_attr "$L/value")"
write_attr "$L/value" "0"

# edge_watch VALUEFILE EDGE WRITES...: set edge, then each WRITE is "file=data"
# done by a helper process once we sleep in poll(); prints, per write,
# woke/idle. The helper starts on that event, not after a guessed delay, and
# its exit (the pipe it holds closes) also ends the poll, so a write that
# raises no event is known at once instead of by waiting out a timer. An
# event still on its way when the helper is gone is caught by a last short
# poll of the value alone (the daemon keeps it pending until the next read).
edge_watch() {
    python3 - "$@" <<'PY'
import os, select, sys
sys.path.insert(0, os.environ["TEST_PYLIB"])
from waiting import sleeping_in_poll, wait_for
value, edge, writes = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(os.path.join(os.path.dirname(value), "edge"), "w") as f:
    f.write(edge)
fd = os.open(value, os.O_RDONLY)
os.read(fd, 10)
alone = select.poll()
alone.register(fd, select.POLLPRI | select.POLLERR)
me = os.getpid()
out = []
for w in writes:
    name, data = w.split("=", 1)
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(done_r)
        try:
            wait_for(lambda: sleeping_in_poll(me))
            wfd = os.open(os.path.join(os.path.dirname(value), name), os.O_WRONLY)
            os.write(wfd, data.encode())
        finally:
            os._exit(0)
    os.close(done_w)
    p = select.poll()
    p.register(fd, select.POLLPRI | select.POLLERR)
    p.register(done_r, select.POLLIN)
    evs = dict(p.poll(60000))
    os.waitpid(pid, 0)
    os.close(done_r)
    bits = evs.get(fd) or dict(alone.poll(500)).get(fd, 0)
    if bits & select.POLLPRI and bits & select.POLLERR:
        os.lseek(fd, 0, os.SEEK_SET)
        out.append("woke:" + os.read(fd, 10).decode().strip())
    elif bits:
        out.append("bad:" + hex(bits))
    else:
        os.lseek(fd, 0, os.SEEK_SET)
        os.read(fd, 10)             # re-arm
        out.append("idle")
os.close(fd)
print(" ".join(out))
PY
}

# Output line 3: value writes.
expect_eq "edge rising on an output" "woke:1 idle idle woke:1" \
    "$(edge_watch "$L/value" rising value=1 value=0 value=0 value=1)"
expect_eq "edge falling on an output" "woke:0 idle idle" \
    "$(edge_watch "$L/value" falling value=0 value=1 value=1)"
expect_eq "edge both on an output" "woke:0 woke:1" "$(edge_watch "$L/value" both value=0 value=1)"
expect_eq "edge none on an output" "idle idle" "$(edge_watch "$L/value" none value=0 value=1)"

# Input line 5: the outside world through pull.
L5="$D/gpio5"
expect_eq "edge both on an input" "woke:1 woke:0 idle" \
    "$(edge_watch "$L5/value" both pull=pull-up pull=pull-down pull=pull-down)"
expect_eq "edge rising on an input" "woke:1 idle" \
    "$(edge_watch "$L5/value" rising pull=pull-up pull=pull-down)"
# Another line's changes do not wake this one.
write_attr "$D/gpio6/edge" "both"
expect_eq "line 6 does not see line 5" "idle" "$(edge_watch "$D/gpio6/value" both ../gpio5/pull=pull-up)"

expect_write_ok "$M/control/unload" "gpio-sim"
[[ -e "$D/gpio0" ]] && fail "gpio0 still there after unload"
pass "line directories gone after unload"
expect_daemon_alive
