#!/bin/bash
# notify_order: removing a subtree the kernel has cached is announced in an
# order the kernel accepts, children before their directory, so the daemon
# never logs "fuse: writing device: Directory not empty" (the kernel refusing
# to delete a directory that still has cached children). Every step first
# makes the kernel cache the whole tree (lstat of every entry, with hour-long
# entry and attribute timeouts, so that only the daemon's notifications can
# make an entry go), and a holder process keeps dentries deep inside the
# subtree in use (its cwd in a device's power/ directory, open attributes),
# which the kernel cannot drop on its own: with only the top entry announced,
# each step below had at least one deletion refused. The removals: remove-device of a device with a
# child that has a child, then of the top device; unload of vbus (bus,
# driver, devices); unload of led (its driver directory, and the LED class
# devices leds/<dev>/ it gave its devices with their class/leds links). After each, listings of the parent no longer show
# the removed entries and lookups fail; names added again resolve to the new
# nodes (fresh inode numbers, readable attributes). The log is checked after
# unmounting, when the daemon has written all it ever will.
source "$(dirname "$0")/lib/common.sh"
setup
install_plugin "$(plugin_file led)" led.so
install_plugin "$(plugin_file vbus)" vbus.so
DRIVERFS_VBUS_DEVICES=6 start_ctl_daemon -o entry_timeout=3600,attr_timeout=3600

# cache_all: lstat every entry below the mount (directories walked, symlinks
# not followed), so that the kernel holds a dentry for each.
cache_all() {
    local n
    n=$(python3 -c '
import os, sys
n = 0
for root, dirs, files in os.walk(sys.argv[1]):
    for name in dirs + files:
        os.lstat(os.path.join(root, name))
        n += 1
print(n)' "$M") || fail "walking $M failed"
    pass "kernel has cached $n entries"
}

# hold NAME CWD PATH...: a process with its cwd in CWD and PATH... open
# (read-only, directories too; w:PATH write-only) until release NAME. Waits
# until it holds them.
hold() {
    local name=$1
    shift
    background python3 -c '
import os, sys, time
ready, stop, cwd = sys.argv[1:4]
os.chdir(cwd)
fds = [os.open(p[2:], os.O_WRONLY) if p.startswith("w:") else os.open(p, os.O_RDONLY)
       for p in sys.argv[4:]]
open(ready, "w").close()
deadline = time.monotonic() + 600  # released long before by the test
while not os.path.exists(stop) and time.monotonic() < deadline:
    time.sleep(0.02)
for fd in fds:
    try:
        os.close(fd)
    except OSError:
        pass
' "$WORK/$name.ready" "$WORK/$name.stop" "$@"
    HOLDER_PID=$!
    wait_until 60 "holder $name holds its files" holding "$name"
    pass "holder $name: cwd $1, $(($# - 1)) paths in use"
}

# holding NAME: the holder is ready; fails the test if it died trying.
holding() {
    [[ -e "$WORK/$1.ready" ]] && return 0
    kill -0 "$HOLDER_PID" 2>/dev/null || fail "holder $1 could not take its files"
    return 1
}

# release NAME: stop the last holder and wait for it.
release() {
    : >"$WORK/$1.stop"
    wait "$HOLDER_PID" || fail "holder $1 failed (status $?)"
}

gone() { [[ ! -e "$1" && ! -L "$1" ]]; }

# expect_gone PATH...: each path stops resolving (the kernel took the
# notifications; the bound only covers a slow machine).
expect_gone() {
    local p
    for p in "$@"; do
        wait_until 60 "$p is gone" gone "$p"
    done
    pass "gone: $*"
}

# expect_not_listed DIR NAME: `ls -a DIR` has no NAME.
expect_not_listed() {
    local listing
    listing=$(ls -a -- "$1") || fail "ls $1 failed"
    grep -qxF -- "$2" <<<"$listing" && fail "ls $1 still lists $2 after its removal"
    pass "ls $1 does not list $2"
}

P="$M/devices/platform"

# 1. A device with a child that has a child; the middle one goes.
expect_write_ok "$M/control/load" "led"
ctl_ok add-device platform led0 >/dev/null
ctl_ok add-device platform led1 --parent led0 >/dev/null
ctl_ok add-device platform led2 --parent led1 >/dev/null
[[ -f "$P/led0/led1/led2/leds/led2/brightness" ]] || fail "no led0/led1/led2/leds/led2/brightness"
old_ino=$(stat -c %i "$P/led0/led1") || fail "stat led1"
cache_all
hold h1 "$P/led0/led1/led2/leds/led2/power" "$P/led0/led1/power/state" "$P/led0/led1/uevent" \
    "$P/led0/led1/led2/power/state" "$P/led0/led1/led2/leds/led2/brightness" "$P/led0/led1/leds/led1/power/state"
ctl_ok remove-device led1 >/dev/null
expect_gone "$P/led0/led1/led2/leds/led2/power" "$P/led0/led1/led2/leds/led2/brightness" "$P/led0/led1/led2/leds" \
    "$P/led0/led1/led2/power" "$P/led0/led1/led2" "$P/led0/led1/leds/led1/power/state" "$P/led0/led1/leds" \
    "$P/led0/led1/power/state" "$P/led0/led1" "$M/class/leds/led1" "$M/class/leds/led2"
expect_not_listed "$P/led0" led1
expect_not_listed "$M/class/leds" led1
expect_not_listed "$M/class/leds" led2
release h1

# The name again: a new node, looked up afresh.
ctl_ok add-device platform led1 --parent led0 >/dev/null
new_ino=$(stat -c %i "$P/led0/led1") || fail "stat of the new led1"
[[ "$new_ino" != "$old_ino" ]] || fail "led0/led1 still resolves to the removed inode $old_ino"
pass "led0/led1 resolves to the new node (inode $old_ino -> $new_ino)"
expect_eq "brightness of the new led1" "0" "$(read_attr "$P/led0/led1/leds/led1/brightness")"
expect_eq "brightness of the new led1 through class/leds" "0" "$(read_attr "$M/class/leds/led1/brightness")"

# 2. The top device with its child.
cache_all
hold h2 "$P/led0/led1/power" "$P/led0/led1/power/state" "$P/led0/power/state" "$P/led0/uevent" \
    "$P/led0/leds/led0/power/state" "$P/led0/led1/leds/led1/trigger"
ctl_ok remove-device led0 >/dev/null
expect_gone "$P/led0/led1/leds/led1/trigger" "$P/led0/led1/power" "$P/led0/led1" "$P/led0/leds/led0/power/state" \
    "$P/led0/leds" "$P/led0/power/state" "$P/led0" "$M/class/leds/led0" "$M/class/leds/led1"
expect_not_listed "$P" led0
expect_not_listed "$M/bus/platform/devices" led0
expect_not_listed "$M/class/leds" led0
release h2

# 3. Unload of a bus plugin: bus/vbus, its driver and its devices go.
expect_write_ok "$M/control/load" "vbus"
V1=$(readlink -f "$M/bus/vbus/devices/vbus1") || fail "no bus/vbus/devices/vbus1"
V2=$(readlink -f "$M/bus/vbus/devices/vbus2") || fail "no bus/vbus/devices/vbus2"
[[ -f "$V1/vendor" && -d "$V2" ]] || fail "vbus1/vendor or vbus2 missing at $V1, $V2"
cache_all
hold h3 "$V2/power" "$V1/vendor" "$V1/power/state" "$M/bus/vbus/drivers/vbus-dummy"
expect_write_ok "$M/control/unload" "vbus"
expect_gone "$V1/vendor" "$V1" "$V2" "$M/bus/vbus/drivers" "$M/bus/vbus"
expect_not_listed "$M/bus" vbus
# The devices' own directory (devices/vbus) may go with them.
VD=$(dirname "$V1")
if [[ -d "$VD" ]]; then
    expect_not_listed "$VD" "$(basename "$V1")"
else
    expect_not_listed "$(dirname "$VD")" "$(basename "$VD")"
fi
release h3
expect_write_ok "$M/control/load" "vbus"
expect_eq "vbus1/vendor after loading again" "0x8086" "$(read_attr "$M/bus/vbus/devices/vbus1/vendor")"

# 4. Unload of led with a bound device: the driver directory and the LED
# class devices the driver gave led0 and led1 (leds/ with its attributes, and
# the class/leds links) go, the devices stay.
ctl_ok add-device platform led0 >/dev/null
ctl_ok add-device platform led1 --parent led0 >/dev/null
DRV="$M/bus/platform/drivers/led"
[[ -d "$DRV" && -f "$P/led0/led1/leds/led1/brightness" ]] || fail "no $DRV or led0/led1/leds/led1/brightness"
cache_all
hold h4 "$DRV" "w:$DRV/bind" "$P/led0/led1/leds/led1/brightness" "$P/led0/led1/leds/led1/trigger" \
    "$P/led0/leds/led0/brightness" "$P/led0/leds/led0/power"
ctl_ok unload led --timeout 30 >/dev/null
expect_gone "$P/led0/led1/leds/led1/brightness" "$P/led0/led1/leds/led1/trigger" "$P/led0/led1/leds" \
    "$P/led0/leds/led0/brightness" "$P/led0/leds/led0/power" "$P/led0/leds" "$DRV" \
    "$M/class/leds/led0" "$M/class/leds/led1"
expect_not_listed "$M/bus/platform/drivers" led
expect_not_listed "$P/led0/led1" leds
expect_not_listed "$P/led0" leds
[[ -d "$P/led0/led1" ]] || fail "led0/led1 went with the driver"
release h4
expect_write_ok "$M/control/load" "led"
expect_eq "led1/brightness after loading led again" "0" "$(read_attr "$P/led0/led1/leds/led1/brightness")"

# Everything the daemon will ever log is in $LOG once it exited.
expect_daemon_alive
fusermount3 -u "$M" || fail "unmount failed"
wait_gone "$DAEMON_PID" 60 || fail "driverfsd did not exit after unmount"
wait "$DAEMON_PID" || fail "driverfsd exited with status $?"
DAEMON_PID=""
refused=$(grep -c 'fuse: writing device' "$LOG")
if ((refused)); then
    grep 'fuse: writing device' "$LOG" | sort | uniq -c >&2
    fail "the kernel refused $refused notifications (see the log)"
fi
pass "no notification was refused"
