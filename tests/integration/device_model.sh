#!/usr/bin/env bash
# The sysfs-shaped device model through the mount: the LED class device led
# makes below its platform device (devices/platform/led0/leds/led0, with its
# own uevent, power/, subsystem and device links) and the class/leds link to
# it, as Linux's led_classdev_register lays them out; power state, uevent contents and its refused writes, bind/unbind files with their
# errnos, driver_override, drivers_autoprobe, and parents via a bus plugin's
# enumeration (fx_bus: bus fxbus, driver fxdrv, devices fx0 and fx1).
source "$(dirname "$0")/lib/common.sh"
setup
mount_led0

expect_eq "class/leds/led0" "../../devices/platform/led0/leds/led0" "$(readlink "$M/class/leds/led0")"
expect_eq "class/leds/led0 resolves to the class device" "$LED" "$(readlink -f "$M/class/leds/led0")"
expect_eq "led0 via class" "255" "$(cat "$M/class/leds/led0/max_brightness")"
expect_eq "platform device led0" "driver driver_override leds power subsystem uevent" "$(ls "$D" | xargs)"
expect_eq "led0/leds" "led0" "$(ls "$D/leds" | xargs)"
expect_eq "class device led0" "brightness device max_brightness power subsystem trigger uevent" "$(ls "$LED" | xargs)"
expect_eq "class device subsystem" "../../../../../class/leds" "$(readlink "$LED/subsystem")"
expect_eq "class device subsystem resolves" "$M/class/leds" "$(readlink -f "$LED/subsystem")"
expect_eq "class device device" "../../../led0" "$(readlink "$LED/device")"
expect_eq "class device device resolves" "$D" "$(readlink -f "$LED/device")"
expect_eq "class device power/state" "active" "$(cat "$LED/power/state")"
# An LED class device has no device number, no driver and no uevent hook of
# its class: Linux's dev_uevent writes nothing for it.
expect_eq "class device uevent" "" "$(cat "$LED/uevent")"
expect_eq "power/state" "active" "$(cat "$D/power/state")"
expect_eq "uevent" $'DRIVER=led\nMODALIAS=platform:led0' "$(cat "$D/uevent")"
expect_write_ok "$D/uevent" "change"
expect_write_errno EINVAL "$D/uevent" "explode"

# unbind: unknown device or not bound to this driver -> ENODEV; then done.
expect_write_errno ENODEV "$M/bus/platform/drivers/led/unbind" "nosuch"
expect_write_ok "$M/bus/platform/drivers/led/unbind" "led0"
[[ -e "$LED/brightness" ]] && fail "brightness still there after unbind"
[[ -e "$LED" ]] && fail "class device still there after unbind"
[[ -e "$D/leds" ]] && fail "devices/platform/led0/leds outlived its only class device"
[[ -L "$M/class/leds/led0" ]] && fail "class link still there after unbind"
[[ -L "$D/driver" ]] && fail "driver link still there after unbind"
expect_write_errno ENODEV "$M/bus/platform/drivers/led/unbind" "led0"
pass "unbind removed the driver's files and links"

# driver_override: a name that is not led keeps led away; empty clears it.
expect_write_ok "$D/driver_override" "other"
expect_eq "driver_override" "other" "$(cat "$D/driver_override")"
expect_write_errno ENODEV "$M/bus/platform/drivers/led/bind" "led0"
expect_write_ok "$M/bus/platform/drivers_probe" "led0"
[[ -e "$LED/brightness" ]] && fail "drivers_probe bound despite driver_override"
expect_write_ok "$D/driver_override" $'\n'
expect_eq "driver_override cleared" "(null)" "$(cat "$D/driver_override")"
expect_write_ok "$M/bus/platform/drivers/led/bind" "led0"
expect_eq "driver link after bind" "../../../bus/platform/drivers/led" "$(readlink "$D/driver")"
expect_eq "class/leds/led0 after bind" "../../devices/platform/led0/leds/led0" "$(readlink "$M/class/leds/led0")"
expect_write_errno EBUSY "$M/bus/platform/drivers/led/bind" "led0"

# drivers_autoprobe 0: new devices stay unbound until drivers_probe.
expect_write_ok "$M/bus/platform/drivers_autoprobe" "0"
expect_eq "drivers_autoprobe" "0" "$(cat "$M/bus/platform/drivers_autoprobe")"
expect_write_ok "$M/bus/platform/new_device" "led1"
[[ -e "$(led_dir led1)/brightness" ]] && fail "led1 bound with autoprobe off"
expect_write_ok "$M/bus/platform/drivers_probe" "led1"
expect_eq "led1 after drivers_probe" "0" "$(cat "$(led_dir led1)/brightness")"
expect_write_ok "$M/bus/platform/drivers_autoprobe" "1"

# A bus plugin: its own bus directory, match rule and enumerated devices.
install_plugin "$(fixture_file fx_bus)" fx_bus.so
expect_write_ok "$M/control/load" "fx_bus"
expect_eq "fx0 bound through fxbus's match" "fx0" "$(cat "$M/devices/fxbus/fx0/id")"
expect_eq "bus/fxbus/devices/fx0" "../../../devices/fxbus/fx0" "$(readlink "$M/bus/fxbus/devices/fx0")"
[[ -e "$M/devices/fxbus/fx1/id" ]] && fail "fx1 bound although its for= names no driver"
expect_write_ok "$M/control/unload" "fx_bus"
[[ -e "$M/bus/fxbus" ]] && fail "bus/fxbus outlived its plugin"
[[ -e "$M/devices/fxbus" ]] && fail "devices/fxbus outlived its plugin"
pass "fxbus came and went with its plugin"
expect_daemon_alive
