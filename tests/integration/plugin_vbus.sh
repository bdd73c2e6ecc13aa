#!/usr/bin/env bash
# The vbus sample bus plugin: bus/vbus appears at load with
# DRIVERFS_VBUS_DEVICES devices (default 4), vbus-dummy binds exactly the
# devices whose id is in its id table, devices added later match the same
# way, a bad DRIVERFS_VBUS_DEVICES makes the load fail and change nothing,
# and unload takes bus, driver and devices away.
source "$(dirname "$0")/lib/common.sh"
setup
install_plugin "$(plugin_file vbus)" vbus.so
DRIVERFS_VBUS_DEVICES=bogus start_daemon
expect_write_errno EINVAL "$M/control/load" "vbus"
[[ -e "$M/bus/vbus" ]] && fail "bus/vbus exists after a failed load"
pass "a bad DRIVERFS_VBUS_DEVICES changes nothing"
grep -q "DRIVERFS_VBUS_DEVICES='bogus'" "$LOG" || fail "no log line names the bad DRIVERFS_VBUS_DEVICES"
pass "the log names the bad value"
fusermount3 -u "$M" || fail "unmount failed"
wait_gone "$DAEMON_PID" 30 || fail "daemon did not exit"
wait "$DAEMON_PID" || fail "daemon exited nonzero"
DAEMON_PID=""; rmdir "$M"

unset DRIVERFS_VBUS_DEVICES
start_daemon
expect_write_ok "$M/control/load" "vbus"
expect_eq "devices enumerated (default 4)" "vbus0 vbus1 vbus2 vbus3" "$(ls "$M/bus/vbus/devices" | sort -V | tr '\n' ' ' | sed 's/ $//')"
expect_eq "bound devices" "vbus0 vbus1 vbus2" \
    "$(ls "$M/bus/vbus/drivers/vbus-dummy" | grep '^vbus[0-9]' | sort -V | tr '\n' ' ' | sed 's/ $//')"
V="$M/bus/vbus/devices/vbus1"
expect_eq "vendor" "0x8086" "$(read_attr "$V/vendor")"
expect_eq "product" "0x1234" "$(read_attr "$V/product")"
expect_eq "modalias" "vbus:v8086p1234" "$(read_attr "$V/modalias")"
[[ -e "$M/bus/vbus/devices/vbus3/driver" ]] && fail "vbus3 (dead:beef, not in the id table) is bound"
pass "vbus3 with an unknown id stays unbound"
expect_write_ok "$M/bus/vbus/new_device" "extra0 id=1d6b:3"
expect_eq "a later device in the id table binds" "0x0003" "$(read_attr "$M/bus/vbus/devices/extra0/product")"
expect_write_ok "$M/bus/vbus/new_device" "extra1 id=1234:5678"
[[ -e "$M/bus/vbus/devices/extra1/driver" ]] && fail "extra1 (not in the id table) is bound"
pass "a later device outside the id table stays unbound"
expect_write_ok "$M/control/unload" "vbus"
[[ -e "$M/bus/vbus" ]] && fail "bus/vbus still there after unload"
pass "bus/vbus gone after unload"
fusermount3 -u "$M" || fail "unmount failed"
wait_gone "$DAEMON_PID" 30 || fail "daemon did not exit"
wait "$DAEMON_PID" || fail "daemon exited nonzero"
DAEMON_PID=""; rmdir "$M"

# Many devices, for the discovery benchmark.
DRIVERFS_VBUS_DEVICES=2000 start_daemon
expect_write_ok "$M/control/load" "vbus"
expect_eq "2000 devices enumerated" "2000" "$(ls "$M/bus/vbus/devices" | wc -l)"
expect_eq "3 of every 4 bound" "1500" "$(ls "$M/bus/vbus/drivers/vbus-dummy" | grep -c '^vbus[0-9]')"
expect_write_ok "$M/control/unload" "vbus"
expect_daemon_alive
