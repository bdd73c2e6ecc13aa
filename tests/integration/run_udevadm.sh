#!/usr/bin/env bash
# run_udevadm: udevadm against driverfs-run's /sys. info prints the path,
# the subsystem and the device's properties (from the udev database), of a
# platform device and of an LED class device; info -a walks from a class
# device up through its platform device and its driver; trigger --dry-run
# lists the platform devices and, by subsystem, the leds ones; monitor --udev --property sees add and remove of a
# device added through driverfsctl, and --subsystem-match filters (libudev's
# in-kernel filter reads the header's subsystem hash). The database follows
# add and remove.
source "$(dirname "$0")/run_common.sh"
run_setup

cat > "$WORK/inner.sh" <<'INNER'
source "$INNER_LIB_FILE"
udevadm info -q all -p /devices/platform/led0 > "$OUT/info" 2>&1
udevadm info -q all -p /class/leds/led0 > "$OUT/info_class" 2>&1
driverfsctl add-device platform led8 --parent led0 || echo "add-device led8 failed" >> "$OUT/errors"
udevadm info -a -p /class/leds/led8 > "$OUT/walk" 2>&1
udevadm trigger --dry-run --verbose --subsystem-match=platform > "$OUT/trigger" 2>&1
udevadm trigger --dry-run --verbose --subsystem-match=leds > "$OUT/trigger_leds" 2>&1
cp /run/udev/data/+platform:led0 "$OUT/db_led0"

udevadm monitor --udev --property > "$OUT/mon_all" 2>&1 &
m1=$!
udevadm monitor --udev --property --subsystem-match=platform > "$OUT/mon_platform" 2>&1 &
m2=$!
# Listening once each has printed an event: poke led0 until both did.
for ((i = 0; i < 1200; i++)); do
    echo change > /sys/devices/platform/led0/uevent
    grep -q ACTION=change "$OUT/mon_all" && grep -q ACTION=change "$OUT/mon_platform" && break
    sleep 0.05
done
waitfor "$OUT/mon_platform" ACTION=change
driverfsctl add-device vbus dev9 id=1234:5678 || echo "add-device vbus failed" >> "$OUT/errors"
driverfsctl add-device platform led7 max_brightness=7 || echo "add-device led7 failed" >> "$OUT/errors"
waitfor "$OUT/mon_platform" "^DEVPATH=/devices/platform/led7$"
waitfor "$OUT/mon_all" "^DEVPATH=/devices/platform/led7$"
waitfor "$OUT/mon_all" "^DEVPATH=/devices/platform/led7/leds/led7$"
waitfor /run/udev/data/+platform:led7 "^E:MAX_BRIGHTNESS=7$"
cp /run/udev/data/+platform:led7 "$OUT/db_led7"
udevadm info -q property -p /devices/platform/led7 > "$OUT/info_led7" 2>&1
driverfsctl remove-device led7 || echo "remove-device led7 failed" >> "$OUT/errors"
waitfor "$OUT/mon_all" "^ACTION=remove$"
waitgone /run/udev/data/+platform:led7
# Everything up to the remove has arrived; the platform monitor got it too.
waitfor "$OUT/mon_platform" "^ACTION=remove$"
kill $m1 $m2
wait
exit 0
INNER
drun --config "$DEMO" -- bash "$WORK/inner.sh"
inner_status "udevadm session" "$?"

expect_line "info -q all: path" "$OUT/info" "P: /devices/platform/led0"
expect_line "info -q all: subsystem" "$OUT/info" "E: SUBSYSTEM=platform"
expect_line "info -q all: driver" "$OUT/info" "E: DRIVER=led"
expect_line "info -q all: property given at creation" "$OUT/info" "E: TRIGGER=heartbeat"
expect_line "info -q all: devpath" "$OUT/info" "E: DEVPATH=/devices/platform/led0"
expect_line "info -q all of class/leds/led0: its path" "$OUT/info_class" "P: /devices/platform/led0/leds/led0"
expect_line "info -q all of class/leds/led0: its subsystem" "$OUT/info_class" "E: SUBSYSTEM=leds"
expect_no_line "info -q all of class/leds/led0: a class device has no driver" "$OUT/info_class" "^E: DRIVER="
expect_line "info -a: the LED class device" "$OUT/walk" "  looking at device '/devices/platform/led0/led8/leds/led8':"
expect_line "info -a: its subsystem" "$OUT/walk" '    SUBSYSTEM=="leds"'
expect_line "info -a: its own attribute" "$OUT/walk" '    ATTR{max_brightness}=="255"'
expect_line "info -a: the device it belongs to" "$OUT/walk" "  looking at parent device '/devices/platform/led0/led8':"
expect_line "info -a: that device's bus" "$OUT/walk" '    SUBSYSTEMS=="platform"'
expect_line "info -a: that device's driver" "$OUT/walk" '    DRIVERS=="led"'
expect_line "info -a: up to led0" "$OUT/walk" "  looking at parent device '/devices/platform/led0':"
for d in led0 led1; do
    expect_line "trigger --subsystem-match=leds lists $d" "$OUT/trigger_leds" "/sys/devices/platform/$d/leds/$d"
done
expect_no_line "trigger --subsystem-match=leds lists no platform device" "$OUT/trigger_leds" "^/sys/devices/platform/[^/]+$"
for d in led0 led1 hwmon0 gpio-sim0 hello0; do
    expect_line "trigger --dry-run lists $d" "$OUT/trigger" "/sys/devices/platform/$d"
done
expect_no_line "trigger --subsystem-match=platform lists no vbus device" "$OUT/trigger" "usb0|nic0"
expect_match "database: initialized" "^I:[0-9]+$" "$(head -1 "$OUT/db_led0")"
expect_line "database: property" "$OUT/db_led0" "E:TRIGGER=heartbeat"
expect_line "database of a device added at run time" "$OUT/db_led7" "E:MAX_BRIGHTNESS=7"
expect_line "udev_device property of led7" "$OUT/info_led7" "MAX_BRIGHTNESS=7"
expect_line "monitor: add of led7" "$OUT/mon_all" "ACTION=add"
expect_line "monitor: remove" "$OUT/mon_all" "ACTION=remove"
expect_line "monitor: subsystem" "$OUT/mon_all" "SUBSYSTEM=platform"
expect_line "monitor: the LED class device of led7" "$OUT/mon_all" "DEVPATH=/devices/platform/led7/leds/led7"
expect_line "monitor: its subsystem" "$OUT/mon_all" "SUBSYSTEM=leds"
expect_no_line "--subsystem-match=platform filtered out the leds device" "$OUT/mon_platform" "^SUBSYSTEM=leds"
expect_line "monitor: the vbus device" "$OUT/mon_all" "DEVPATH=/devices/vbus/dev9"
expect_match "monitor: sequence numbers" "SEQNUM=[0-9]+" "$(cat "$OUT/mon_all")"
expect_line "monitor header says udev" "$OUT/mon_all" "UDEV - the event which udev sends out after rule processing"
expect_no_line "--subsystem-match=platform filtered out vbus" "$OUT/mon_platform" "^SUBSYSTEM=vbus"
expect_line "--subsystem-match=platform passed led7" "$OUT/mon_platform" "DEVPATH=/devices/platform/led7"
expect_nothing_left
