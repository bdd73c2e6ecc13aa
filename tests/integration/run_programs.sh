#!/usr/bin/env bash
# run_programs: unmodified programs that read /sys, inside driverfs-run on
# the demo tree. brightnessctl finds the LEDs in /sys/class/leds, reads
# max_brightness and sets brightness (led1: no trigger to change it back);
# sensors (libsensors) reads an hwmon device whose thermal zone is a
# directory the test made (thermal_dir=), through /sys/class/hwmon.
source "$(dirname "$0")/run_common.sh"
run_setup
command -v brightnessctl >/dev/null || fail "brightnessctl is not installed (apt-get install brightnessctl)"
command -v sensors >/dev/null || fail "sensors is not installed (apt-get install lm-sensors)"

mkdir -p "$WORK/thermal/thermal_zone0"
echo 45500 > "$WORK/thermal/thermal_zone0/temp"
echo test-thermal > "$WORK/thermal/thermal_zone0/type"

cat > "$WORK/inner.sh" <<'INNER'
brightnessctl -l > "$OUT/list" 2>&1 || echo "brightnessctl -l failed" >> "$OUT/errors"
brightnessctl -d led1 set 42 > "$OUT/set" 2>&1 || echo "brightnessctl set failed" >> "$OUT/errors"
cat /sys/devices/platform/led1/brightness > "$OUT/led1"
brightnessctl -d led1 get > "$OUT/get" 2>&1
driverfsctl add-device platform hwmon1 "thermal_dir=$WORK/thermal" || echo "add-device hwmon1 failed" >> "$OUT/errors"
sensors > "$OUT/sensors" 2>&1 || echo "sensors failed" >> "$OUT/errors"
[[ ! -s "$OUT/errors" ]]
INNER
WORK="$WORK" drun --config "$DEMO" -- bash "$WORK/inner.sh"
inner_status "brightnessctl and sensors" "$?"

expect_line "brightnessctl -l: led0" "$OUT/list" "Device 'led0' of class 'leds':"
expect_line "brightnessctl -l: led1's maximum" "$OUT/list" "	Max brightness: 100"
expect_line "brightnessctl set: its report" "$OUT/set" "	Current brightness: 42 (42%)"
expect_eq "brightness written through brightnessctl" 42 "$(cat "$OUT/led1")"
expect_eq "brightnessctl get" 42 "$(cat "$OUT/get")"
expect_line "sensors: the chip" "$OUT/sensors" "hwmon-virtual-0"
expect_match "sensors: the thermal zone made by the test" "test-thermal: +\+45\.5.C" "$(cat "$OUT/sensors")"
expect_nothing_left
