#!/bin/bash
# cat_echo: the basic read/write path of a driver attribute. Loads led, adds
# led0 and checks, on its LED class device (devices/platform/led0/leds/led0):
# max_brightness 255, brightness write/read (42), parse errors ("abc" ->
# EINVAL), values above the max clamped to it as Linux's LED class does (256
# -> 255), a device property max_brightness=100 (100 accepted, 101 -> 100),
# st_size 4096, a read-only attribute refused for write with EACCES even as
# root, module/led/{state,generation,version}, the driver/device/module
# symlinks, delete_device removing the directory (and the class/leds link) at
# once, and delete_device of an unknown name -> ENODEV.
source "$(dirname "$0")/lib/common.sh"
setup
mount_led0
[[ -d "$D" ]] || fail "devices/platform/led0 was not created"
[[ -d "$LED" ]] || fail "devices/platform/led0/leds/led0 was not created"
expect_eq "led0 max_brightness" "255" "$(read_attr "$LED/max_brightness")"
expect_eq "led0 brightness initially" "0" "$(read_attr "$LED/brightness")"
expect_write_ok "$LED/brightness" $'42\n'
expect_eq "led0 brightness after echo 42" "42" "$(read_attr "$LED/brightness")"
expect_write_errno EINVAL "$LED/brightness" $'abc\n'
expect_eq "brightness unchanged by a rejected write" "42" "$(read_attr "$LED/brightness")"
expect_write_ok "$LED/brightness" $'256\n'
expect_eq "led0 brightness after 256 (clamped to max_brightness)" "255" "$(read_attr "$LED/brightness")"
# The shell way too: echo through a redirection.
echo 7 >"$LED/brightness" || fail "echo 7 > brightness failed"
expect_eq "brightness after shell echo 7" "7" "$(read_attr "$LED/brightness")"

# A device property limits the range.
expect_write_ok "$M/bus/platform/new_device" "led1 max_brightness=100"
D1=$(led_dir led1)
expect_eq "led1 max_brightness (property)" "100" "$(read_attr "$D1/max_brightness")"
expect_write_ok "$D1/brightness" $'100\n'
expect_eq "led1 brightness" "100" "$(read_attr "$D1/brightness")"
expect_write_ok "$D1/brightness" $'50\n'
expect_write_ok "$D1/brightness" $'101\n'
expect_eq "led1 brightness after 101 (clamped to 100)" "100" "$(read_attr "$D1/brightness")"

# stat, modes, EACCES for write on a read-only attribute (we run as root).
expect_eq "st_size of brightness" "4096" "$(stat -c %s "$LED/brightness")"
expect_eq "st_size of max_brightness" "4096" "$(stat -c %s "$LED/max_brightness")"
expect_eq "mode of brightness" "644" "$(stat -c %a "$LED/brightness")"
expect_eq "mode of max_brightness" "444" "$(stat -c %a "$LED/max_brightness")"
expect_eq "running as uid" "0" "$(id -u)"
expect_eq "open max_brightness O_WRONLY" "EACCES" "$(try_open "$LED/max_brightness" os.O_WRONLY)"
expect_eq "open max_brightness O_RDWR" "EACCES" "$(try_open "$LED/max_brightness" os.O_RDWR)"
expect_eq "open control/load O_RDONLY (write-only)" "EACCES" "$(try_open "$M/control/load" os.O_RDONLY)"

# The module directory.
expect_eq "module/led/state" "live" "$(read_attr "$M/module/led/state")"
expect_eq "module/led/generation" "1" "$(read_attr "$M/module/led/generation")"
expect_eq "module/led/version" "1.0" "$(read_attr "$M/module/led/version")"
expect_eq "module/led/refcnt (idle)" "0" "$(read_attr "$M/module/led/refcnt")"

# Symlinks.
expect_eq "devices/platform/led0/driver" "../../../bus/platform/drivers/led" "$(readlink "$D/driver")"
expect_eq "bus/platform/devices/led0" "../../../devices/platform/led0" "$(readlink "$M/bus/platform/devices/led0")"
expect_eq "bus/platform/drivers/led/module" "../../../../module/led" "$(readlink "$M/bus/platform/drivers/led/module")"
# ...and they resolve inside the mount.
expect_eq "driver link resolves" "$M/bus/platform/drivers/led" "$(readlink -f "$D/driver")"
expect_eq "module link resolves" "$M/module/led" "$(readlink -f "$M/bus/platform/drivers/led/module")"
expect_eq "brightness via bus/platform/devices/led0" "7" "$(read_attr "$M/bus/platform/devices/led0/leds/led0/brightness")"

# delete_device: gone from the listing at once (the kernel cache is told).
ls "$M/devices/platform" >/dev/null
ls "$D" >/dev/null
expect_write_ok "$M/bus/platform/delete_device" "led0"
listing=$(ls "$M/devices/platform" | tr '\n' ' ')
expect_eq "devices/platform after delete_device led0" "led1 " "$listing"
[[ ! -e "$D" ]] || fail "$D still exists after delete_device"
[[ ! -e "$M/bus/platform/devices/led0" && ! -L "$M/bus/platform/devices/led0" ]] ||
    fail "bus/platform/devices/led0 still exists after delete_device"
[[ ! -L "$M/bus/platform/drivers/led/led0" ]] || fail "drivers/led/led0 link still exists after delete_device"
[[ ! -L "$M/class/leds/led0" ]] || fail "class/leds/led0 link still exists after delete_device"
pass "led0 is gone everywhere"
expect_write_errno ENODEV "$M/bus/platform/delete_device" "nosuchdev"
expect_write_errno ENODEV "$M/bus/platform/delete_device" "led0"
expect_daemon_alive
