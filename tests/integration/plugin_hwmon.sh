#!/usr/bin/env bash
# The hwmon sample plugin as Linux's hwmon class: its files on a class
# device hwmonN below the bound device (devices/platform/hwmon0/hwmon/hwmon0
# with device and subsystem links, class/hwmon/hwmon0 linking to it; none
# on the platform device itself), the chip name, real figures: load
# averages as in /proc/loadavg (x1000), memory as in /proc/meminfo (bytes),
# temperatures of the machine's thermal zones when it has any (and no temp
# files when it has none), a zone directory given by the thermal_dir
# property, update_interval (readings reused within it, re-read at 0), and
# the class device's end at unbind and unload.
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
expect_write_errno EINVAL "$D/update_interval" "3600001"
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

# A zone directory of our own: exact values, then update_interval at work.
TZ="$WORK/thermal"
mkdir -p "$TZ/thermal_zone0" "$TZ/thermal_zone2" "$TZ/thermal_zone10" "$TZ/cooling_device0"
echo 41000 >"$TZ/thermal_zone0/temp";  echo acpitz >"$TZ/thermal_zone0/type"
echo 52500 >"$TZ/thermal_zone2/temp";  echo x86_pkg_temp >"$TZ/thermal_zone2/type"
echo -5000 >"$TZ/thermal_zone10/temp"; echo outside >"$TZ/thermal_zone10/type"
expect_write_ok "$M/bus/platform/new_device" "hwmon1 thermal_dir=$TZ"
H="$M/devices/platform/hwmon1/hwmon/hwmon1"
expect_eq "hwmon1's class device" "../../devices/platform/hwmon1/hwmon/hwmon1" "$(readlink "$M/class/hwmon/hwmon1")"
expect_eq "hwmon1 temp files" "temp1_input temp1_label temp2_input temp2_label temp3_input temp3_label" \
    "$(ls "$H" | grep '^temp' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "temps in zone order" "41000 52500 -5000" \
    "$(read_attr "$H/temp1_input") $(read_attr "$H/temp2_input") $(read_attr "$H/temp3_input")"
expect_eq "labels in zone order" "acpitz x86_pkg_temp outside" \
    "$(read_attr "$H/temp1_label") $(read_attr "$H/temp2_label") $(read_attr "$H/temp3_label")"
write_attr "$H/update_interval" "60000"
echo 43000 >"$TZ/thermal_zone0/temp"
expect_eq "within update_interval the reading is reused" "41000" "$(read_attr "$H/temp1_input")"
write_attr "$H/update_interval" "0"
expect_eq "update_interval 0 reads again" "43000" "$(read_attr "$H/temp1_input")"
rm "$TZ/thermal_zone2/temp"
expect_eq "a zone that vanished" "EIO" "$(try_read "$H/temp2_input")"

# Unbinding removes the class device; binding again makes a new one.
expect_write_ok "$M/bus/platform/drivers/hwmon/unbind" "hwmon1"
[[ -e "$M/devices/platform/hwmon1/hwmon" || -L "$M/class/hwmon/hwmon1" ]] && fail "hwmon1's class device outlived the unbind"
pass "unbind removes hwmon1's class device"
expect_write_ok "$M/bus/platform/drivers/hwmon/bind" "hwmon1"
expect_eq "rebound: a fresh class device" "1000" "$(read_attr "$M/class/hwmon/hwmon1/update_interval")"

expect_write_ok "$M/control/unload" "hwmon"
[[ -e "$M/class/hwmon/hwmon0" || -L "$M/class/hwmon/hwmon0" ]] && fail "class/hwmon/hwmon0 outlived the unload"
pass "unload removes the class devices"
expect_daemon_alive
