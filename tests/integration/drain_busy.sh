#!/bin/bash
# drain_busy: a bounded unload drain that times out. With --unload-timeout 1
# and a `show nap` of fx_sleepy (driver "sleepy", plugin "fx_sleepy") held in
# flight at a gate the test controls: refcnt counts the call in flight;
# control/unload fails with EBUSY after the 1 s drain (not when the call
# returns: with the gate closed it never would); the log names the running
# call ("show nap") and its thread id; the module is live again, the running
# read completes normally once let go, and then an idle unload succeeds
# without waiting out any timeout. Reloaded, with a long drain (driverfsctl
# unload --timeout) under way: the module is "going" and a new read of nap
# fails with ENODEV while the held call still blocks the drain (the drain
# cannot be starved, and the refused read never entered show); let go, the
# held read completes and the unload goes through.
#
# No step depends on how fast the machine is: "in flight" and "returned" are
# facts the gate makes, the waits are bounded polls with generous limits,
# and the only time bound is a lower one.
source "$(dirname "$0")/lib/common.sh"
setup
install_plugin "$(fixture_file fx_sleepy)" fx_sleepy.so
start_ctl_daemon --unload-timeout 1
expect_write_ok "$M/control/load" "fx_sleepy"
expect_eq "module/fx_sleepy/state" "live" "$(read_attr "$M/module/fx_sleepy/state")"
expect_write_ok "$M/bus/platform/new_device" "sleepy0"
NAP="$M/devices/platform/sleepy0/nap"
[[ -e "$NAP" ]] || fail "sleepy0 is not bound: no nap attribute"
expect_eq "nap" "0" "$(read_attr "$NAP")"
# A value of its own, so the held read's result shows it ran show to the end.
expect_write_ok "$NAP" $'7\n'
make_gate nap
expect_write_ok "$M/devices/platform/sleepy0/gate" "$GATE"
expect_eq "gate" "$GATE" "$(read_attr "$M/devices/platform/sleepy0/gate")"

# timed_write FILE DATA -> "<errno or OK> <seconds>"
timed_write() {
    python3 -c "$PY_PRELUDE"'
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
    python3 -c "$PY_PRELUDE"'
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
at_least() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$@"; }
refcnt_is() { attr_is "$M/module/fx_sleepy/refcnt" "$1"; }
state_is() { attr_is "$M/module/fx_sleepy/state" "$1"; }

# start_held_read OUT: a read of nap in the background, waited for (bounded)
# until it is inside show; it stays there until release_gate. Sets HELD_PID.
start_held_read() {
    local out=$1
    held_read_job() { timed_read "$NAP" >"$out"; }
    background held_read_job
    HELD_PID=${EXTRA_PIDS[-1]}
    wait_until 30 "the read of nap to enter show (module/fx_sleepy/refcnt = 1)" refcnt_is 1
    expect_eq "module/fx_sleepy/refcnt during the held show" "1" "$(read_attr "$M/module/fx_sleepy/refcnt")"
}

# ---- the 1 s drain times out -------------------------------------------------
start_held_read "$WORK/slow-read"
within 60 "$WORK/unload" timed_write "$M/control/unload" fx_sleepy ||
    fail "control/unload did not return within 60 s with a call held in show: it waits for the call instead of timing out after 1 s"
read -r res secs <"$WORK/unload"
expect_eq "unload fx_sleepy during a held show" "EBUSY" "$res"
at_least "$secs" 0.9 || fail "unload returned EBUSY after $secs s; --unload-timeout 1 should drain for 1 s first"
pass "EBUSY after $secs s"
# The gate is still closed, so this is a fact and not a race.
kill -0 "$HELD_PID" 2>/dev/null || fail "the held read finished while its gate was closed: the test proves nothing"
[[ ! -s "$WORK/slow-read" ]] || fail "the held read returned '$(cat "$WORK/slow-read")' while its gate was closed"
expect_eq "module/fx_sleepy/refcnt after the failed unload" "1" "$(read_attr "$M/module/fx_sleepy/refcnt")"

line=$(grep -i 'busy' "$LOG" | grep 'fx_sleepy' | tail -n 1)
[[ -n "$line" ]] || fail "no log line about the busy unload of fx_sleepy"
expect_match "log line of the busy unload names the call" "show nap" "$line"
expect_match "log line of the busy unload names a thread id" "thread [0-9]+" "$line"
expect_eq "module/fx_sleepy/state after the failed unload" "live" "$(read_attr "$M/module/fx_sleepy/state")"
expect_eq "module/fx_sleepy/generation" "1" "$(read_attr "$M/module/fx_sleepy/generation")"
[[ -L "$M/devices/platform/sleepy0/driver" ]] || fail "sleepy0 lost its driver after the failed unload"

release_gate "$GATE"
wait "$HELD_PID" || fail "the held read failed"
read -r res secs <<<"$(cat "$WORK/slow-read")"
expect_eq "the held read's result" "OK:7" "$res"
at_least "$secs" 0.9 || fail "the held read took $secs s, yet it was in flight across a 1 s drain"
expect_eq "module/fx_sleepy/refcnt when idle" "0" "$(read_attr "$M/module/fx_sleepy/refcnt")"

# Nothing running now: the unload goes through. The drain limit is far longer
# than the watchdog, so an idle unload that waited out its limit fails here.
rc=0
timeout 60 "$DRIVERFSCTL" --socket "$SOCK" unload fx_sleepy --timeout 3600 >/dev/null 2>"$WORK/ctl.err" || rc=$?
[[ $rc -ne 124 ]] || fail "an idle unload (--timeout 3600) did not return within 60 s: it waits although nothing runs"
expect_eq "exit status of an idle unload of fx_sleepy" "0" "$rc"
expect_eq "module/fx_sleepy/state after unload" "gone" "$(read_attr "$M/module/fx_sleepy/state")"
[[ ! -e "$NAP" ]] || fail "nap still exists after the unload"

# ---- a long drain under way: new calls are refused at once -------------------
expect_write_ok "$M/control/load" "fx_sleepy"
expect_eq "module/fx_sleepy/generation after reloading" "2" "$(read_attr "$M/module/fx_sleepy/generation")"
[[ -e "$NAP" ]] || fail "sleepy0 was not bound again by the reload: no nap attribute"
expect_write_ok "$NAP" $'7\n'
expect_write_ok "$M/devices/platform/sleepy0/gate" "$GATE"
start_held_read "$WORK/held-read"

long_unload_job() {
    local rc=0
    timeout 120 "$DRIVERFSCTL" --socket "$SOCK" unload fx_sleepy --timeout 3600 >"$WORK/long-unload.out" 2>&1 || rc=$?
    echo "$rc" >"$WORK/long-unload.rc"
}
background long_unload_job
UNLOAD_PID=${EXTRA_PIDS[-1]}
wait_until 30 "the unload to begin (module/fx_sleepy/state = going)" state_is going
expect_eq "module/fx_sleepy/state while unload drains" "going" "$(read_attr "$M/module/fx_sleepy/state")"
# A read that got past the pin would be held at the closed gate: nothing
# would come back within the watchdog.
within 60 "$WORK/refused-read" timed_read "$NAP" ||
    fail "a new read of nap while unload drains did not return within 60 s: it got past the pin into show"
read -r res secs <"$WORK/refused-read"
expect_eq "a new read of nap while unload drains" "ENODEV" "$res"
# Refused while the drain still waits on the held call: it did not wait for
# the drain, and it took no pin.
expect_eq "module/fx_sleepy/state after the refused read" "going" "$(read_attr "$M/module/fx_sleepy/state")"
kill -0 "$UNLOAD_PID" 2>/dev/null || fail "the unload ended while a call was held in show: $(cat "$WORK/long-unload.out" 2>/dev/null)"
expect_eq "module/fx_sleepy/refcnt after the refused read" "1" "$(read_attr "$M/module/fx_sleepy/refcnt")"
pass "refused in $secs s, while the drain still waited"

release_gate "$GATE"
wait "$HELD_PID" || fail "the held read failed"
read -r res _ <<<"$(cat "$WORK/held-read")"
expect_eq "the result of the read held across the unload" "OK:7" "$res"
wait "$UNLOAD_PID"
expect_eq "exit status of the unload once the held read returned" "0" "$(cat "$WORK/long-unload.rc")"
expect_eq "module/fx_sleepy/state after unload" "gone" "$(read_attr "$M/module/fx_sleepy/state")"
[[ ! -e "$NAP" ]] || fail "nap still exists after the unload"
expect_daemon_alive
