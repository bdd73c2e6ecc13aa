#!/usr/bin/env bash
# run_pyudev: pyudev (libudev through ctypes) against driverfs-run's /sys.
# Context().list_devices(subsystem='platform') finds the demo's devices with
# their attributes and properties; a Monitor.from_netlink started inside
# sees add when driverfsctl adds led7 and remove when it removes it.
source "$(dirname "$0")/run_common.sh"
run_setup
PY=${SYS_PYTHON:-/usr/bin/python3}
"$PY" -c 'import pyudev' 2>/dev/null || fail "$PY has no pyudev (apt-get install python3-pyudev)"

cat > "$WORK/list.py" <<'PYEOF'
import os, pyudev
ctx = pyudev.Context()
out = open(os.path.join(os.environ["OUT"], "list"), "w")
for d in sorted(ctx.list_devices(subsystem="platform"), key=lambda d: d.sys_name):
    attrs = d.attributes
    maxb = attrs.asstring("max_brightness") if "max_brightness" in attrs.available_attributes else "-"
    print(d.sys_name, d.device_path, d.subsystem, d.driver, maxb,
          d.properties.get("TRIGGER", "-"), d.is_initialized, file=out)
PYEOF
cat > "$WORK/monitor.py" <<'PYEOF'
import os, sys, pyudev
out = os.environ["OUT"]
ctx = pyudev.Context()
mon = pyudev.Monitor.from_netlink(ctx)
mon.filter_by("platform")
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
    if dev.action == "remove" and dev.sys_name == "led7":
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

expect_line "list_devices: led0" "$OUT/list" "led0 /devices/platform/led0 platform led 255 heartbeat True"
expect_line "list_devices: led1" "$OUT/list" "led1 /devices/platform/led1 platform led 100 - True"
for d in hwmon0 gpio-sim0 hello0; do
    expect_grep "list_devices: $d" "$OUT/list" "^$d /devices/platform/$d platform "
done
expect_no_line "list_devices(subsystem=platform) has no vbus device" "$OUT/list" "usb0|nic0"
expect_grep "monitor: add" "$OUT/events" "^add /devices/platform/led7 platform [0-9]+ 7$"
expect_grep "monitor: remove" "$OUT/events" "^remove /devices/platform/led7 platform [0-9]+ "
expect_nothing_left
