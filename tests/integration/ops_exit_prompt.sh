#!/bin/bash
# ops_exit_prompt: after `fusermount3 -u` the daemon exits by itself, with
# status 0, within a generous 10 s watchdog (it used to linger about 1.8 s;
# the time each run took is printed, never compared with a tight bound): once
# with nothing else going on, once with led0 blinking, a `driverfsctl
# monitor` connected and another client idle on the control socket. The
# monitor gets the shutdown's events first (led's class device removed, led0
# unbound, led unloaded), then ends with status 1 (the daemon closed the
# connection).
. "$(dirname "$0")/lib/common.sh"
setup

now_ms() { date +%s%3N; }

# unmount_and_time: unmount $M, wait for the daemon to be gone; prints ms.
unmount_and_time() {
    local t0 t1 tu
    t0=$(now_ms)
    fusermount3 -u "$M" || fail "fusermount3 -u $M failed"
    tu=$(now_ms)
    wait_gone "$DAEMON_PID" 10 || fail "driverfsd (pid $DAEMON_PID) still runs 10 s after fusermount3 -u"
    t1=$(now_ms)
    UMOUNT_MS=$((tu - t0))
    local rc=0
    wait "$DAEMON_PID" || rc=$?
    expect_eq "driverfsd exit status" "0" "$rc"
    DAEMON_PID=""
    rmdir -- "$M" || fail "cannot remove $M"
    M=""
    LAST_MS=$((t1 - t0))
}

start_daemon
unmount_and_time
pass "idle daemon gone $LAST_MS ms after fusermount3 -u started (which took $UMOUNT_MS ms)"

start_ctl_daemon
load_led
expect_write_ok "$M/bus/platform/new_device" "led0 trigger=timer"
ctl monitor >"$WORK/monitor.out" 2>"$WORK/monitor.err" &
MON=$!
EXTRA_PIDS+=("$MON")
await_monitors "$WORK/monitor.out"
ctl_ok remove-device "$MONITOR_MARKER" >/dev/null
# A client subscribed to events (it has the monitor's first reply) and one
# that connected and sent nothing; each reports when the daemon hangs up.
exec 7< <(python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"{\"id\": 1, \"cmd\": \"monitor\"}\n")
f = s.makefile("rb")
print("subscribed" if b"monitoring" in f.readline() else "refused", flush=True)
while f.readline():
    pass
print("closed", flush=True)' "$SOCK")
exec 8< <(python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
print("connected", flush=True)
while s.recv(4096):
    pass
print("closed", flush=True)' "$SOCK")
read -r -t 60 line <&7 || fail "the monitoring client did not subscribe"
expect_eq "monitoring client" "subscribed" "$line"
read -r -t 60 line <&8 || fail "the idle client did not connect"
expect_eq "idle client" "connected" "$line"
unmount_and_time
pass "busy daemon (blinking led, monitor, idle client) gone $LAST_MS ms after fusermount3 -u started (which took $UMOUNT_MS ms)"
wait_gone "$MON" 30 || fail "driverfsctl monitor still runs after the daemon exited"
rc=0
wait "$MON" || rc=$?
expect_eq "monitor exit status when the daemon goes" "1" "$rc"
expect_eq "the monitor's last events are the shutdown's" "remove devices/platform/led0/leds/led0
unbind devices/platform/led0
unload module/led" "$(sed -nE 's/^UEVENT\[[0-9]+\] +([a-z]+) +([^ ]+) .*/\1 \2/p' "$WORK/monitor.out" | tail -3)"
read -r -t 60 line <&7 || fail "the monitoring client saw no end of its stream"
expect_eq "monitoring client after exit" "closed" "$line"
read -r -t 60 line <&8 || fail "the idle client saw no end of its connection"
expect_eq "idle client after exit" "closed" "$line"
exec 7<&- 8<&-
