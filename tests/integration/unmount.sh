#!/bin/bash
# unmount: the daemon's exit paths. With led loaded and led0 bound,
# `fusermount3 -u` makes the foreground daemon unload its plugins and exit 0;
# SIGTERM to a second daemon unmounts it (gone from /proc/self/mounts), and it
# exits 0 too. Each time the specific daemon pid is checked to be gone.
source "$(dirname "$0")/lib/common.sh"
setup

# wait_exit: wait (bounded) for the daemon to exit; its exit status in EXIT_RC.
wait_exit() {
    wait_gone "$DAEMON_PID" 30 || fail "driverfsd (pid $DAEMON_PID) still runs 30 s after it was told to stop"
    EXIT_RC=0
    wait "$DAEMON_PID" || EXIT_RC=$?
    OLD_PID=$DAEMON_PID
    DAEMON_PID=""   # reaped: nothing left for cleanup to wait for
}
expect_daemon_gone() {
    [[ ! -e "/proc/$OLD_PID" ]] || fail "driverfsd pid $OLD_PID is still there: $(head -3 "/proc/$OLD_PID/status")"
    mounted "$M" && fail "$M is still mounted"
    pass "pid $OLD_PID gone and $M unmounted"
    rmdir -- "$M" || fail "cannot remove the old mount point $M"
}

# 1. fusermount3 -u.
start_daemon
load_led
expect_write_ok "$M/bus/platform/new_device" "led0"
expect_write_ok "$(led_dir led0)/brightness" $'42\n'
[[ -L "$M/devices/platform/led0/driver" ]] || fail "led0 is not bound"
fusermount3 -u "$M" || fail "fusermount3 -u $M failed"
wait_exit
expect_eq "driverfsd exit status after fusermount3 -u" "0" "$EXIT_RC"
grep -q 'plugin led unloaded' "$LOG" || fail "the daemon did not log unloading led at exit"
grep -q 'device led0 unbound' "$LOG" || fail "the daemon did not log unbinding led0 at exit"
pass "led unbound and unloaded at exit"
expect_daemon_gone

# 2. SIGTERM.
start_daemon
expect_write_ok "$M/control/load" "led"
expect_write_ok "$M/bus/platform/new_device" "led0"
[[ -L "$M/devices/platform/led0/driver" ]] || fail "led0 is not bound"
kill -TERM "$DAEMON_PID" || fail "cannot signal driverfsd"
wait_exit
expect_eq "driverfsd exit status after SIGTERM" "0" "$EXIT_RC"
grep -q 'plugin led unloaded' "$LOG" || fail "the daemon did not log unloading led at exit"
expect_daemon_gone
