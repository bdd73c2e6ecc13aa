#!/bin/bash
# faults: the FAULT CONTAINMENT table of driverfsd(8) through a real mount,
# with fx_faults (driver "faulty", raw C ABI) and fx_stray. A show that
# writes 8 bytes past its page, one that returns more than a page, a store
# that returns more than it got, returns of -100000, of the smallest ssize_t
# and of -600: each read or write fails with EIO (none hangs), a log line
# names the culprit, nothing of an overrun reaches the reader, and the
# driver's clean attribute still reads. A probe that throws leaves the
# device unbound. A plugin that leaves a thread running after exit unloads
# (state gone, its driver gone), the log names the thread, its code stays
# mapped, and the daemon goes on: led loads and serves, and unmounting
# exits 0 with the stray thread still asleep in that code.
source "$(dirname "$0")/lib/common.sh"
setup
install_plugin "$(fixture_file fx_faults)" fx_faults.so
install_plugin "$(fixture_file fx_stray)" fx_stray.so
start_daemon
expect_write_ok "$M/control/load" "fx_faults"
expect_write_ok "$M/bus/platform/new_device" "faulty0"
F="$M/devices/platform/faulty0"
[[ -e "$F/fine" ]] || fail "faulty0 did not bind to faulty"

# log_has WHAT FIXED-STRING: the daemon log holds the line.
log_has() {
    grep -qF -- "$2" "$LOG" || fail "$1: no log line containing '$2'"
    pass "$1: logged"
}

# Each read is bounded: a reply the kernel refused would hang it. The
# reader is not killed (it could not be, blocked in a FUSE request): the
# test just stops waiting for it.
one_read() { python3 -c "$PY_PRELUDE"'
try:
    fd = os.open(sys.argv[1], os.O_RDONLY)
    print("OK:" + os.read(fd, 8192).decode(errors="replace").replace("\n", "|"))
except OSError as e:
    print(name(e))' "$1" || echo "died (status $?)"; }
bounded_read() {
    local out="$WORK/read.$BASHPID.$RANDOM"
    within 60 "$out" one_read "$1" || { echo "HUNG (no reply within 60 s)"; return; }
    cat "$out"
}

expect_eq "read of a show that writes past its page" "EIO" "$(bounded_read "$F/overrun")"
log_has "overrun" "plugin fx_faults: driver faulty: show overrun of faulty0 wrote 8 byte(s) past the end of its 4096-byte page"
expect_eq "read again (the guard is re-armed)" "EIO" "$(bounded_read "$F/overrun")"
expect_eq "read of a show that returns more than a page" "EIO" "$(bounded_read "$F/garbage")"
log_has "garbage show" "show garbage of faulty0 returned 5096 where at most 4096 was possible"
expect_write_errno EIO "$F/garbage" "abc"
log_has "garbage store" "store garbage of faulty0 returned 8 where at most 3 was possible"
expect_eq "read of a show that returns -100000" "EIO" "$(bounded_read "$F/bigneg")"
log_has "-100000" "show bigneg of faulty0 returned -100000, which is not a negative errno; reported as EIO"
expect_write_errno EIO "$F/bigneg" "1"
log_has "SSIZE_MIN" "store bigneg of faulty0 returned -9223372036854775808, which is not a negative errno"
expect_eq "read of a show that returns -600" "EIO" "$(bounded_read "$F/oddcode")"
log_has "-600" "show oddcode of faulty0 returned -600, which is not a negative errno"
expect_eq "the clean attribute still reads" "OK:ok|" "$(bounded_read "$F/fine")"

expect_write_ok "$M/bus/platform/new_device" "faulty1 probe_throws=1"
log_has "probe throws" "driver faulty: probe faulty1 threw: faulty: probe refuses by throwing"
[[ -d "$M/devices/platform/faulty1" && ! -e "$M/devices/platform/faulty1/driver" ]] ||
    fail "faulty1 should exist unbound after its probe threw"
pass "faulty1 exists, unbound"
expect_write_errno EIO "$M/bus/platform/drivers/faulty/bind" "faulty1"
expect_eq "module/fx_faults/refcnt after all that" "0" "$(read_attr "$M/module/fx_faults/refcnt")"

# A thread left running after exit.
expect_write_ok "$M/control/load" "fx_stray"
expect_write_ok "$M/control/unload" "fx_stray"
expect_eq "module/fx_stray/state" "gone" "$(read_attr "$M/module/fx_stray/state")"
[[ ! -e "$M/bus/platform/drivers/stray" ]] || fail "driver stray is still there after unload"
line=$(grep -F 'plugin fx_stray: ' "$LOG" | grep -F 'running after exit' | head -n 1)
expect_match "stray-thread log line" "left 1 thread\(s\) running after exit \(thread [0-9]+\); its code stays mapped" "$line"
tid=$(sed -n 's/.*(thread \([0-9]*\)).*/\1/p' <<<"$line")
[[ -d "/proc/$DAEMON_PID/task/$tid" ]] || fail "the log names thread $tid, which is not a thread of the daemon"
pass "thread $tid is a daemon thread"
# Proof that it still runs the plugin's code after the unload: it goes on
# waking (each 20 ms sleep is a voluntary context switch). Counted, not
# guessed from a sleep: a thread that died or crashed the daemon never gets
# there, and a slow machine only takes longer.
wakes() { awk '$1 == "voluntary_ctxt_switches:" { print $2 }' "/proc/$DAEMON_PID/task/$tid/status" 2>/dev/null; }
woke_since() { local n; n=$(wakes); [[ -n "$n" ]] && ((n >= $1 + 3)); }
w0=$(wakes)
[[ -n "$w0" ]] || fail "the stray thread $tid died: its code was unmapped?"
wait_until 60 "the stray thread $tid to wake 3 more times after the unload" woke_since "$w0"
[[ -d "/proc/$DAEMON_PID/task/$tid" ]] || fail "the stray thread $tid died: its code was unmapped?"
pass "the stray thread still runs in the mapped code"

load_led
expect_write_ok "$M/bus/platform/new_device" "led0"
expect_eq "led0 max_brightness" "255" "$(read_attr "$(led_dir led0)/max_brightness")"
expect_write_ok "$M/control/unload" "led"
if grep -F 'plugin led: ' "$LOG" | grep -qF 'stays mapped'; then fail "led was reported as leaving threads"; fi
pass "led's unload reported no stray thread"
expect_daemon_alive
