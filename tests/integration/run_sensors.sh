#!/usr/bin/env bash
# run_sensors: lm-sensors' `sensors` (libsensors, unmodified) inside
# driverfs-run on the demo tree. It finds the hwmon plugin's chip through
# /sys/class/hwmon: by its name (hwmon-isa-0000), on a device-backed adapter
# (the class device's device link leads to a platform device, which
# libsensors calls "ISA adapter"; a chip without one is "Virtual device"),
# with the demo's emulated temperature (temps=emulated:42000, there on a
# machine without thermal zones too); after a write to that tempN_input
# under /sys, `sensors -u` shows the new value. A second chip, added with
# driverfsctl, shows a thermal zone of a directory the test made
# (thermal_dir=) in `sensors`' own format.
source "$(dirname "$0")/run_common.sh"
run_setup
command -v sensors >/dev/null || fail "sensors is not installed (apt-get install lm-sensors)"

mkdir -p "$WORK/thermal/thermal_zone0"
echo 45500 > "$WORK/thermal/thermal_zone0/temp"
echo test-thermal > "$WORK/thermal/thermal_zone0/type"

cat > "$WORK/inner.sh" <<'INNER'
sensors -u > "$OUT/before" 2>&1 || echo "sensors -u failed" >> "$OUT/errors"
# The demo's emulated temperature: the tempN whose label is "emulated"
# (after the host's thermal zones, if it has any).
label=$(grep -lx emulated /sys/class/hwmon/hwmon0/temp*_label)
if [[ -z "$label" ]]; then
    echo "no temp*_label 'emulated' in /sys/class/hwmon/hwmon0: $(ls /sys/class/hwmon/hwmon0)" >> "$OUT/errors"
else
    input=${label%_label}_input
    basename "$input" > "$OUT/input"
    echo 61500 > "$input" || echo "writing 61500 to $input failed" >> "$OUT/errors"
    cat "$input" > "$OUT/written"
fi
sensors -u > "$OUT/after" 2>&1 || echo "sensors -u after the write failed" >> "$OUT/errors"
driverfsctl add-device platform hwmon1 "thermal_dir=$WORK/thermal" || echo "add-device hwmon1 failed" >> "$OUT/errors"
sensors > "$OUT/zone" 2>&1 || echo "sensors with hwmon1 failed" >> "$OUT/errors"
[[ ! -s "$OUT/errors" ]]
INNER
WORK="$WORK" drun --config "$DEMO" -- bash "$WORK/inner.sh"
inner_status "sensors" "$?"

# chip_block FILE: the lines of the first hwmon-isa-0000 chip, up to the blank line.
chip_block() { awk '$0 == "hwmon-isa-0000" { on = 1 } on && $0 == "" { exit } on' "$1"; }
# reading FILE LABEL: the tempN_input line below LABEL in `sensors -u` output.
reading() { chip_block "$1" | awk -v l="$2:" '$0 == l { getline; print; exit }'; }

input=$(cat "$OUT/input")
expect_line "sensors -u lists the chip by its name" "$OUT/before" "hwmon-isa-0000"
chip_block "$OUT/before" > "$OUT/before_chip"
expect_eq "its adapter (a device-backed one, not 'Virtual device')" "Adapter: ISA adapter" \
    "$(sed -n 2p "$OUT/before_chip")"
expect_no_line "no virtual hwmon chip" "$OUT/before" "^hwmon-virtual-"
expect_eq "the emulated temperature" "  $input: 42.000" "$(reading "$OUT/before" emulated)"
expect_eq "the value written to /sys" 61500 "$(cat "$OUT/written")"
expect_eq "sensors -u after the write: the new value" "  $input: 61.500" "$(reading "$OUT/after" emulated)"
expect_match "sensors: the thermal zone made by the test, on the second chip" "test-thermal: +\+45\.5.C" \
    "$(cat "$OUT/zone")"
expect_eq "sensors: two chips named hwmon-isa-0000" 2 "$(grep -cx hwmon-isa-0000 "$OUT/zone")"
expect_nothing_left
