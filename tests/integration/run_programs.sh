#!/usr/bin/env bash
# run_programs: unmodified programs that read /sys, inside driverfs-run on
# the demo tree. brightnessctl finds the LEDs in /sys/class/leds (the led
# plugin's LED class devices), reads max_brightness and sets brightness
# (led1: no trigger to change it back), by value and by percentage.
# sensors has its own test, run_sensors.
source "$(dirname "$0")/run_common.sh"
run_setup
command -v brightnessctl >/dev/null || fail "brightnessctl is not installed (apt-get install brightnessctl)"

cat > "$WORK/inner.sh" <<'INNER'
brightnessctl -l > "$OUT/list" 2>&1 || echo "brightnessctl -l failed" >> "$OUT/errors"
brightnessctl -d led1 set 42 > "$OUT/set" 2>&1 || echo "brightnessctl set failed" >> "$OUT/errors"
cat /sys/devices/platform/led1/leds/led1/brightness > "$OUT/led1"
brightnessctl -d led1 get > "$OUT/get" 2>&1
brightnessctl -d led1 set 50% > "$OUT/set_pct" 2>&1 || echo "brightnessctl set 50% failed" >> "$OUT/errors"
cat /sys/class/leds/led1/brightness > "$OUT/led1_pct"
# A maximum where a percentage and a raw value differ.
driverfsctl add-device platform led5 max_brightness=30 || echo "add-device led5 failed" >> "$OUT/errors"
brightnessctl -d led5 set 50% > "$OUT/set_led5" 2>&1 || echo "brightnessctl -d led5 failed" >> "$OUT/errors"
cat /sys/class/leds/led5/brightness > "$OUT/led5"
[[ ! -s "$OUT/errors" ]]
INNER
WORK="$WORK" drun --config "$DEMO" -- bash "$WORK/inner.sh"
inner_status "brightnessctl" "$?"

expect_line "brightnessctl -l: led0" "$OUT/list" "Device 'led0' of class 'leds':"
expect_line "brightnessctl -l: led1's maximum" "$OUT/list" "	Max brightness: 100"
expect_line "brightnessctl set: its report" "$OUT/set" "	Current brightness: 42 (42%)"
expect_eq "brightness written through brightnessctl" 42 "$(cat "$OUT/led1")"
expect_eq "brightnessctl get" 42 "$(cat "$OUT/get")"
# led1's max_brightness is 100 (demo.json): half of it.
expect_eq "brightnessctl set 50% wrote half the maximum" 50 "$(cat "$OUT/led1_pct")"
expect_eq "brightnessctl set 50% of 30 on an LED added at run time" 15 "$(cat "$OUT/led5")"
expect_nothing_left
