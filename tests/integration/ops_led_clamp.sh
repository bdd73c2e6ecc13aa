#!/bin/bash
# ops_led_clamp: the led sample's brightness follows Linux's LED class
# (drivers/leds/led-class.c brightness_store: kstrtoul(buf, 10), then
# led_set_brightness, which clamps to max_brightness; see
# Documentation/ABI/testing/sysfs-class-led). A value above max_brightness is
# accepted (the whole write) and reads back as max_brightness: 999, 256 and
# 4294967296 on a max of 255, 101 on a max of 100, also while the timer
# blinks (the "on" phases then show the max). What kstrtoul refuses stays
# refused with its errno and changes nothing: "-1", "abc", "12abc", " 5" and
# "0x10" are EINVAL; a number past unsigned long,
# 18446744073709551616, is ERANGE. "+7" and "7\n" are 7, as in Linux.
. "$(dirname "$0")/lib/common.sh"
setup
mount_led0
B="$LED/brightness"

expect_eq "max_brightness" "255" "$(read_attr "$LED/max_brightness")"
for v in 999 $'256\n' 4294967296; do
    expect_write_ok "$B" "0"
    expect_write_ok "$B" "$v"
    expect_eq "brightness after writing ${v//$'\n'/\\n} (clamped)" "255" "$(read_attr "$B")"
done
expect_write_ok "$B" $'7\n'
expect_eq "brightness 7\\n" "7" "$(read_attr "$B")"
expect_write_ok "$B" "+8"
expect_eq "brightness +8" "8" "$(read_attr "$B")"

for v in "-1" "abc" "12abc" " 5" "0x10" $'-300\n'; do
    expect_write_errno EINVAL "$B" "$v"
    expect_eq "brightness unchanged after '${v//$'\n'/\\n}'" "8" "$(read_attr "$B")"
done
expect_write_errno ERANGE "$B" "18446744073709551616"
expect_eq "brightness unchanged after an overflow" "8" "$(read_attr "$B")"

expect_write_ok "$M/bus/platform/new_device" "led1 max_brightness=100"
D1=$(led_dir led1)
expect_write_ok "$D1/brightness" $'101\n'
expect_eq "led1 brightness after 101 (max 100)" "100" "$(read_attr "$D1/brightness")"
expect_write_ok "$D1/brightness" "100"
expect_eq "led1 brightness 100" "100" "$(read_attr "$D1/brightness")"

# While blinking a nonzero write sets the "on" level: clamped too. The
# timer starts blinking at 3; after the write, on phases show the max.
expect_write_ok "$D1/brightness" "3"
expect_write_ok "$D1/trigger" "timer"
expect_write_ok "$D1/delay_on" "50"
expect_write_ok "$D1/delay_off" "50"
expect_write_ok "$D1/brightness" "5000"
expect_eq "trigger kept by a nonzero write" "none [timer] heartbeat" "$(read_attr "$D1/trigger")"
at_max() {
    local b
    b=$(cat -- "$D1/brightness" 2>/dev/null) || return 1
    ((b <= 100)) || fail "led1 blinks at $b, above its max_brightness 100"
    [[ "$b" == 100 ]]
}
wait_until 60 "led1 showing an on phase at 100" at_max
pass "led1 blinks at 100 after a write of 5000"
