#!/usr/bin/env bash
# run_pyudev: pyudev (libudev through ctypes) against driverfs-run's /sys.
# Context().list_devices(subsystem=...) finds the demo's platform devices
# with their properties, and its leds and hwmon class devices with their
# attributes and parents; a Monitor.from_netlink started inside sees add of
# led7 and of its LED class device when driverfsctl adds led7, and remove of
# both when it removes it.
source "$(dirname "$0")/run_common.sh"
run_setup
PY=${SYS_PYTHON:-/usr/bin/python3}
"$PY" -c 'import pyudev' 2>/dev/null || fail "$PY has no pyudev (apt-get install python3-pyudev)"

cat > "$WORK/list.py" <<'PYEOF'
import os, pyudev
ctx = pyudev.Context()
out = open(os.path.join(os.environ["OUT"], "list"), "w")
def attr(d, name):
    a = d.attributes
    return a.asstring(name) if name in a.available_attributes else "-"
for subsystem in ("platform", "leds", "hwmon"):
    for d in sorted(ctx.list_devices(subsystem=subsystem), key=lambda d: d.sys_name):
        parent = d.parent
        print(subsystem, d.sys_name, d.device_path, d.subsystem, d.driver or "-",
              parent.sys_name if parent else "-", (parent.driver if parent else None) or "-",
              attr(d, "max_brightness"), attr(d, "name"),
              d.properties.get("TRIGGER", "-"), d.is_initialized, file=out)
PYEOF
cat > "$WORK/monitor.py" <<'PYEOF'
import os, sys, pyudev
out = os.environ["OUT"]
ctx = pyudev.Context()
mon = pyudev.Monitor.from_netlink(ctx)
mon.start()
with open(os.path.join(out, "ready"), "w") as f:
    print("ready", file=f)
seen = open(os.path.join(out, "events"), "w", buffering=1)
while True:
    dev = mon.poll(timeout=60)
    if dev is None:
        print("timeout", file=seen)
        sys.exit(1)
    print(dev.action, dev.device_path, dev.subsystem, dev.properties.get("SEQNUM"), dev.properties.get("MAX_BRIGHTNESS", "-"), file=seen)
    if dev.action == "remove" and dev.subsystem == "platform" and dev.sys_name == "led7":
        sys.exit(0)
PYEOF
cat > "$WORK/inner.sh" <<'INNER'
source "$INNER_LIB_FILE"
"$PY" "$WORK/list.py" 2> "$OUT/list_err" || { echo "list.py failed: $(cat "$OUT/list_err")" >> "$OUT/errors"; exit 1; }
"$PY" "$WORK/monitor.py" 2> "$OUT/monitor_err" &
mon=$!
waitfor "$OUT/ready" "^ready$"
driverfsctl add-device platform led7 max_brightness=7 || { echo "add-device failed" >> "$OUT/errors"; exit 1; }
waitfor "$OUT/events" "^add /devices/platform/led7 "
driverfsctl remove-device led7 || { echo "remove-device failed" >> "$OUT/errors"; exit 1; }
wait $mon || { echo "monitor.py exited $?: $(cat "$OUT/monitor_err")" >> "$OUT/errors"; exit 1; }
INNER
PY="$PY" WORK="$WORK" drun --config "$DEMO" -- bash "$WORK/inner.sh"
inner_status "pyudev session" "$?"

expect_line "list_devices(platform): led0" "$OUT/list" "platform led0 /devices/platform/led0 platform led - - - - heartbeat True"
expect_line "list_devices(platform): led1" "$OUT/list" "platform led1 /devices/platform/led1 platform led - - - - - True"
for d in hwmon0 gpio-sim0 hello0; do
    expect_grep "list_devices(platform): $d" "$OUT/list" "^platform $d /devices/platform/$d platform "
done
expect_no_line "list_devices(subsystem=platform) has no vbus device" "$OUT/list" "usb0|nic0"
expect_line "list_devices(leds): led0, its attribute, its parent's driver" "$OUT/list" \
    "leds led0 /devices/platform/led0/leds/led0 leds - led0 led 255 - - True"
expect_line "list_devices(leds): led1" "$OUT/list" "leds led1 /devices/platform/led1/leds/led1 leds - led1 led 100 - - True"
expect_grep "list_devices(hwmon): the demo's chip below hwmon0" "$OUT/list" \
    "^hwmon hwmon0 /devices/platform/hwmon0/hwmon/hwmon0 hwmon - hwmon0 hwmon - [a-z0-9_]+ - True$"
expect_grep "monitor: add of the platform device" "$OUT/events" "^add /devices/platform/led7 platform [0-9]+ 7$"
expect_grep "monitor: add of its LED class device" "$OUT/events" "^add /devices/platform/led7/leds/led7 leds [0-9]+ -$"
expect_grep "monitor: remove of the LED class device" "$OUT/events" "^remove /devices/platform/led7/leds/led7 leds [0-9]+ "
expect_grep "monitor: remove of the platform device" "$OUT/events" "^remove /devices/platform/led7 platform [0-9]+ "
expect_nothing_left
