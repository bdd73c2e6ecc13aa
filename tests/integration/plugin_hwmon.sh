#!/usr/bin/env bash
# The hwmon sample plugin as Linux's hwmon class: its files on a class
# device hwmonN below the bound device (devices/platform/hwmon0/hwmon/hwmon0
# with device and subsystem links, class/hwmon/hwmon0 linking to it; none
# on the platform device itself), the chip name, real figures: load
# averages as in /proc/loadavg (x1000), memory as in /proc/meminfo (bytes),
# temperatures of the machine's thermal zones when it has any (and no temp
# files when it has none), a zone directory given by the thermal_dir
# property, update_interval (readings reused within it, re-read at 0); and
# the emulated temperatures of the temps property: after the zones, their
# tempN_input 0644 and read back at once after a write, non-numbers EINVAL
# and overflow ERANGE as kstrtol, a malformed temps refusing the device.
source "$(dirname "$0")/lib/common.sh"
setup
start_daemon
install_plugin "$(plugin_file hwmon)" hwmon.so
expect_write_ok "$M/control/load" "hwmon"
expect_write_ok "$M/bus/platform/new_device" "hwmon0"
P="$M/devices/platform/hwmon0"
D="$P/hwmon/hwmon0"

# The class device, as hwmon_device_register_with_info makes it.
expect_eq "class/hwmon" "hwmon0" "$(ls "$M/class/hwmon")"
expect_eq "class link" "../../devices/platform/hwmon0/hwmon/hwmon0" "$(readlink "$M/class/hwmon/hwmon0")"
expect_eq "device link" "../../../hwmon0" "$(readlink "$D/device")"
expect_eq "subsystem link" "../../../../../class/hwmon" "$(readlink "$D/subsystem")"
expect_eq "the device link reaches the platform device" "platform" "$(basename "$(readlink "$D/device/subsystem")")"
[[ -e "$P/name" || -e "$P/update_interval" || -e "$P/load1_input" ]] && fail "hwmon files on the platform device: $(ls "$P")"
pass "no hwmon file on the platform device itself"
expect_eq "name" "hwmon" "$(read_attr "$D/name")"
expect_eq "update_interval default" "1000" "$(read_attr "$D/update_interval")"
expect_write_errno EINVAL "$D/update_interval" "fast"
expect_write_errno ERANGE "$D/update_interval" "99999999999999999999"
# A continuous setting: clamped to its limits (Documentation/hwmon/sysfs-interface.rst).
write_attr "$D/update_interval" "3600001"
expect_eq "update_interval above an hour is clamped" "3600000" "$(read_attr "$D/update_interval")"
write_attr "$D/update_interval" "-5"
expect_eq "a negative update_interval is clamped to 0" "0" "$(read_attr "$D/update_interval")"
write_attr "$D/update_interval" "0"

# Load: within 1.0 of /proc/loadavg read just before and after.
for i in 1 2 3; do
    before=$(awk -v i=$i '{print $i}' /proc/loadavg)
    got=$(read_attr "$D/load${i}_input")
    after=$(awk -v i=$i '{print $i}' /proc/loadavg)
    awk -v g="$got" -v b="$before" -v a="$after" 'BEGIN {
        lo = (b < a ? b : a) * 1000 - 1000; hi = (b > a ? b : a) * 1000 + 1000
        exit !(g ~ /^[0-9]+$/ && g >= lo && g <= hi) }' || fail "load${i}_input=$got, /proc/loadavg had $before then $after"
    pass "load${i}_input=$got matches /proc/loadavg ($before)"
done
expect_eq "load labels" "load1 load5 load15" \
    "$(read_attr "$D/load1_label") $(read_attr "$D/load2_label") $(read_attr "$D/load3_label")"

# Memory: MemTotal exactly, MemAvailable within 10 % of MemTotal.
total_kb=$(awk '$1 == "MemTotal:" {print $2}' /proc/meminfo)
expect_eq "mem1_input (MemTotal in bytes)" "$((total_kb * 1024))" "$(read_attr "$D/mem1_input")"
expect_eq "mem1_label" "MemTotal" "$(read_attr "$D/mem1_label")"
avail=$(read_attr "$D/mem2_input")
avail_kb=$(awk '$1 == "MemAvailable:" {print $2}' /proc/meminfo)
diff=$((avail / 1024 - avail_kb)); diff=${diff#-}
((diff <= total_kb / 10)) || fail "mem2_input=$avail far from MemAvailable ${avail_kb} kB"
pass "mem2_input=$avail agrees with MemAvailable"

# Temperatures: as many temp inputs as the machine has zones (max 16).
zones=()
for z in /sys/class/thermal/thermal_zone*; do [[ -f "$z/temp" ]] && zones+=("$z"); done
mapfile -t zones < <(printf '%s\n' "${zones[@]}" | grep . | sort -V)
n=${#zones[@]}; ((n > 16)) && n=16
expect_eq "temp inputs for the machine's $n thermal zones" "$n" "$(ls "$D" | grep -c '^temp[0-9]*_input$')"
if ((n > 0)); then
    expect_eq "temp1_label" "$(cat "${zones[0]}/type")" "$(read_attr "$D/temp1_label")"
    expect_match "temp1_input (millidegrees)" '^-?[0-9]+$' "$(read_attr "$D/temp1_input")"
    expect_eq "a zone's temp1_input is read-only" "444" "$(stat -c %a "$D/temp1_input")"
fi

# A zone directory of our own: exact values, then update_interval at work;
# and an emulated temperature numbered after the zones.
TZ="$WORK/thermal"
mkdir -p "$TZ/thermal_zone0" "$TZ/thermal_zone2" "$TZ/thermal_zone10" "$TZ/cooling_device0"
echo 41000 >"$TZ/thermal_zone0/temp";  echo acpitz >"$TZ/thermal_zone0/type"
echo 52500 >"$TZ/thermal_zone2/temp";  echo x86_pkg_temp >"$TZ/thermal_zone2/type"
echo -5000 >"$TZ/thermal_zone10/temp"; echo outside >"$TZ/thermal_zone10/type"
expect_write_ok "$M/bus/platform/new_device" "hwmon1 thermal_dir=$TZ temps=extra:30000"
H="$M/devices/platform/hwmon1/hwmon/hwmon1"
expect_eq "hwmon1's class device" "../../devices/platform/hwmon1/hwmon/hwmon1" "$(readlink "$M/class/hwmon/hwmon1")"
expect_eq "hwmon1 temp files" \
    "temp1_input temp1_label temp2_input temp2_label temp3_input temp3_label temp4_input temp4_label" \
    "$(ls "$H" | grep '^temp' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "temps in zone order, the emulated one last" "41000 52500 -5000 30000" \
    "$(read_attr "$H/temp1_input") $(read_attr "$H/temp2_input") $(read_attr "$H/temp3_input") $(read_attr "$H/temp4_input")"
expect_eq "labels in zone order, the emulated one last" "acpitz x86_pkg_temp outside extra" \
    "$(read_attr "$H/temp1_label") $(read_attr "$H/temp2_label") $(read_attr "$H/temp3_label") $(read_attr "$H/temp4_label")"
expect_eq "modes: zones read-only, the emulated input writable" "444 644 444" \
    "$(stat -c %a "$H/temp1_input") $(stat -c %a "$H/temp4_input") $(stat -c %a "$H/temp4_label")"
write_attr "$H/update_interval" "60000"
echo 43000 >"$TZ/thermal_zone0/temp"
expect_eq "within update_interval the reading is reused" "41000" "$(read_attr "$H/temp1_input")"
write_attr "$H/temp4_input" "31500"
expect_eq "an emulated temperature is read back at once, update_interval or not" "31500" "$(read_attr "$H/temp4_input")"
write_attr "$H/update_interval" "0"
expect_eq "update_interval 0 reads again" "43000" "$(read_attr "$H/temp1_input")"
rm "$TZ/thermal_zone2/temp"
expect_eq "a zone that vanished" "EIO" "$(try_read "$H/temp2_input")"

# Emulated temperatures only: a machine without thermal zones (CI).
expect_write_ok "$M/bus/platform/new_device" "hwmon2 thermal_dir=$WORK/none temps=cpu:45000,board:-5500,:1000,a:b:7"
E="$M/devices/platform/hwmon2/hwmon/hwmon2"
expect_eq "hwmon2 temp files (no label for an empty one)" \
    "temp1_input temp1_label temp2_input temp2_label temp3_input temp4_input temp4_label" \
    "$(ls "$E" | grep '^temp' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "emulated values" "45000 -5500 1000 7" \
    "$(read_attr "$E/temp1_input") $(read_attr "$E/temp2_input") $(read_attr "$E/temp3_input") $(read_attr "$E/temp4_input")"
expect_eq "emulated labels (up to the last colon)" "cpu board a:b" \
    "$(read_attr "$E/temp1_label") $(read_attr "$E/temp2_label") $(read_attr "$E/temp4_label")"
expect_write_ok "$E/temp1_input" "47250"
expect_eq "temp1_input after a write" "47250" "$(read_attr "$E/temp1_input")"
expect_write_ok "$E/temp2_input" "-12000"
expect_eq "a negative temperature" "-12000" "$(read_attr "$E/temp2_input")"
expect_write_ok "$E/temp3_input" $'+3000\n'
expect_eq "'+3000\\n' as kstrtol reads it" "3000" "$(read_attr "$E/temp3_input")"
expect_write_errno EINVAL "$E/temp1_input" "hot"
expect_write_errno EINVAL "$E/temp1_input" "45.5"
expect_write_errno EINVAL "$E/temp1_input" "45000 "
expect_write_errno ERANGE "$E/temp1_input" "99999999999999999999"
expect_eq "temp1_input unchanged by the bad writes" "47250" "$(read_attr "$E/temp1_input")"
expect_eq "a label is read-only" "EACCES" "$(try_write "$E/temp1_label" "gpu")"
expect_eq "hwmon2 is not hwmon1's" "31500 47250" "$(read_attr "$H/temp4_input") $(read_attr "$E/temp1_input")"

# A malformed temps property: the device is created, probe refuses it.
for bad in "nocolon" "cpu:warm" "cpu:45000,,x:1" "cpu:" \
           "$(printf 't%d:1,' $(seq 17) | sed 's/,$//')"; do
    expect_write_ok "$M/bus/platform/new_device" "hwmon9 temps=$bad"
    [[ -e "$M/devices/platform/hwmon9/driver" || -e "$M/devices/platform/hwmon9/hwmon" ]] &&
        fail "hwmon9 with temps=$bad was bound"
    pass "temps=$bad refuses the device"
    expect_write_ok "$M/bus/platform/delete_device" "hwmon9"
done
expect_eq "class/hwmon after the refusals" "hwmon0 hwmon1 hwmon2" "$(ls "$M/class/hwmon" | tr '\n' ' ' | sed 's/ $//')"

# Unbinding removes the class device; binding again makes a new one.
expect_write_ok "$M/bus/platform/drivers/hwmon/unbind" "hwmon2"
[[ -e "$M/devices/platform/hwmon2/hwmon" || -L "$M/class/hwmon/hwmon2" ]] && fail "hwmon2's class device outlived the unbind"
pass "unbind removes hwmon2's class device"
expect_write_ok "$M/bus/platform/drivers/hwmon/bind" "hwmon2"
expect_eq "rebound: the property's value again" "45000" "$(read_attr "$M/class/hwmon/hwmon2/temp1_input")"

expect_write_ok "$M/control/unload" "hwmon"
[[ -e "$M/class/hwmon/hwmon0" || -L "$M/class/hwmon/hwmon0" ]] && fail "class/hwmon/hwmon0 outlived the unload"
pass "unload removes the class devices"
expect_daemon_alive
