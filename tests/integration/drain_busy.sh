#!/bin/bash
# drain_busy: a bounded unload drain that times out. With --unload-timeout 1
# and a `show nap` of fx_sleepy (driver "sleepy", plugin "fx_sleepy") running
# for 3 s: refcnt counts the call in flight; control/unload fails with EBUSY
# after about 1 s (not 3); while it waits the module is "going" and a new read
# of nap fails at once with ENODEV (the drain cannot be starved); the log
# names the running call ("show nap") and its thread id; the module is live
# again, the running read completes normally, and once it has, the unload
# succeeds.
source "$(dirname "$0")/lib/common.sh"
setup
install_plugin "$(fixture_file fx_sleepy)" fx_sleepy.so
start_daemon --unload-timeout 1
expect_write_ok "$M/control/load" "fx_sleepy"
expect_eq "module/fx_sleepy/state" "live" "$(read_attr "$M/module/fx_sleepy/state")"
expect_write_ok "$M/bus/platform/new_device" "sleepy0"
NAP="$M/devices/platform/sleepy0/nap"
[[ -e "$NAP" ]] || fail "sleepy0 is not bound: no nap attribute"
expect_eq "nap" "0" "$(read_attr "$NAP")"
expect_write_ok "$NAP" $'3000\n'

# timed_write FILE DATA -> "<errno or OK> <seconds>"
timed_write() {
    py "$PY_PRELUDE"'
import time
t = time.monotonic()
try:
    fd = os.open(sys.argv[1], os.O_WRONLY)
    try:
        os.write(fd, sys.argv[2].encode()); r = "OK"
    finally:
        os.close(fd)
except OSError as e:
    r = name(e)
print("%s %.2f" % (r, time.monotonic() - t))
' "$1" "$2"
}
# timed_read FILE -> "<OK:content or errno> <seconds>"
timed_read() {
    py "$PY_PRELUDE"'
import time
t = time.monotonic()
try:
    fd = os.open(sys.argv[1], os.O_RDONLY)
    try:
        r = "OK:" + os.read(fd, 100).decode().strip()
    finally:
        os.close(fd)
except OSError as e:
    r = name(e)
print("%s %.2f" % (r, time.monotonic() - t))
' "$1"
}
secs_between() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[2]) <= float(sys.argv[1]) <= float(sys.argv[3]) else 1)' "$@"; }

# The slow read.
slow_read_job() { timed_read "$NAP" >"$WORK/slow-read"; }
background slow_read_job
SLOW_PID=${EXTRA_PIDS[-1]}
# Wait (bounded) until the read is inside show: a loaded machine may take a
# while to start the reader.
for _ in $(seq 100); do
    [[ "$(read_attr "$M/module/fx_sleepy/refcnt")" == 1 ]] && break
    sleep 0.02
done
expect_eq "module/fx_sleepy/refcnt during the slow show" "1" "$(read_attr "$M/module/fx_sleepy/refcnt")"

# The unload, in the background so we can look at the module while it waits.
unload_job() { timed_write "$M/control/unload" fx_sleepy >"$WORK/unload"; }
background unload_job
UNLOAD_PID=${EXTRA_PIDS[-1]}
# Wait (bounded, well inside the 1 s drain) until the unload has begun: on
# a loaded machine the writer may take a while to start.
for _ in $(seq 40); do
    [[ "$(read_attr "$M/module/fx_sleepy/state")" == going ]] && break
    sleep 0.02
done
expect_eq "module/fx_sleepy/state while unload drains" "going" "$(read_attr "$M/module/fx_sleepy/state")"
read -r res secs <<<"$(timed_read "$NAP")"
expect_eq "a new read of nap while unload drains" "ENODEV" "$res"
secs_between "$secs" 0 0.5 || fail "the refused read took $secs s: new calls must fail at once"
pass "refused in $secs s"

wait "$UNLOAD_PID" || fail "the unload writer failed"
read -r res secs <<<"$(cat "$WORK/unload")"
expect_eq "unload fx_sleepy during a 3 s show" "EBUSY" "$res"
secs_between "$secs" 0.5 2.2 || fail "unload returned after $secs s; --unload-timeout 1 wants about 1 s"
pass "EBUSY after $secs s"
kill -0 "$SLOW_PID" 2>/dev/null || fail "the slow read had already finished: the test proves nothing"

line=$(grep -i 'busy' "$LOG" | grep 'fx_sleepy' | tail -n 1)
[[ -n "$line" ]] || fail "no log line about the busy unload of fx_sleepy"
expect_match "log line of the busy unload names the call" "show nap" "$line"
expect_match "log line of the busy unload names a thread id" "thread [0-9]+" "$line"
expect_eq "module/fx_sleepy/state after the failed unload" "live" "$(read_attr "$M/module/fx_sleepy/state")"
expect_eq "module/fx_sleepy/generation" "1" "$(read_attr "$M/module/fx_sleepy/generation")"
[[ -L "$M/devices/platform/sleepy0/driver" ]] || fail "sleepy0 lost its driver after the failed unload"

wait "$SLOW_PID" || fail "the slow read failed"
read -r res secs <<<"$(cat "$WORK/slow-read")"
expect_eq "the slow read's result" "OK:3000" "$res"
secs_between "$secs" 2.5 10 || fail "the slow read took $secs s, expected about 3"
expect_eq "module/fx_sleepy/refcnt when idle" "0" "$(read_attr "$M/module/fx_sleepy/refcnt")"

# Nothing running now: the unload goes through.
read -r res secs <<<"$(timed_write "$M/control/unload" fx_sleepy)"
expect_eq "unload fx_sleepy when idle" "OK" "$res"
secs_between "$secs" 0 0.9 || fail "an idle unload took $secs s"
expect_eq "module/fx_sleepy/state after unload" "gone" "$(read_attr "$M/module/fx_sleepy/state")"
[[ ! -e "$NAP" ]] || fail "nap still exists after the unload"
expect_daemon_alive
