#!/bin/bash
# load_bind: binding when a driver arrives after its devices and vice versa.
# A device added before led is loaded stays unbound (no LED class device
# leds/<dev> with its brightness, no class/leds link, no driver link); loading
# led binds it; a device added afterwards binds at once; the
# instance-number forms (led.1, led-2, led_3) and a compatible=led property
# bind too; a non-matching name (gpio0) stays unbound.
source "$(dirname "$0")/lib/common.sh"
setup
start_daemon
install_plugin "$(plugin_file led)" led.so

P="$M/devices/platform"
bound() { [[ -L "$P/$1/driver" && -e "$P/$1/leds/$1/brightness" ]]; }
expect_bound() {
    [[ -d "$P/$1" ]] || fail "device $1 does not exist"
    bound "$1" || fail "device $1 is not bound (ls: $(ls "$P/$1" | tr '\n' ' '))"
    expect_eq "$1 driver link" "../../../bus/platform/drivers/led" "$(readlink "$P/$1/driver")"
    [[ -L "$M/bus/platform/drivers/led/$1" ]] || fail "bus/platform/drivers/led/$1 link is missing"
    expect_eq "$1 max_brightness" "255" "$(read_attr "$P/$1/leds/$1/max_brightness")"
    expect_eq "class/leds/$1" "../../devices/platform/$1/leds/$1" "$(readlink "$M/class/leds/$1")"
}
expect_unbound() {
    [[ -d "$P/$1" ]] || fail "device $1 does not exist"
    [[ ! -e "$P/$1/leds/$1/brightness" ]] || fail "unbound device $1 has a brightness file"
    [[ ! -e "$P/$1/leds" ]] || fail "unbound device $1 has a leds directory"
    [[ ! -L "$M/class/leds/$1" ]] || fail "unbound device $1 has a class/leds link"
    [[ ! -L "$P/$1/driver" ]] || fail "unbound device $1 has a driver link -> $(readlink "$P/$1/driver")"
    [[ -L "$P/$1/subsystem" ]] || fail "device $1 has no subsystem link"
    pass "$1 exists and is unbound"
}

expect_write_ok "$M/bus/platform/new_device" "led0"
expect_write_ok "$M/bus/platform/new_device" "gpio0"
# Look both up now so the kernel caches the negative entries: loading must
# invalidate them.
expect_unbound led0
expect_unbound gpio0
[[ ! -e "$M/bus/platform/drivers/led" ]] || fail "drivers/led exists before led is loaded"
[[ ! -e "$M/module/led" ]] || fail "module/led exists before led is loaded"

expect_write_ok "$M/control/load" "led"
expect_bound led0
expect_unbound gpio0

# Added after the driver: bound at once.
expect_write_ok "$M/bus/platform/new_device" "led1"
expect_bound led1
for name in led.1 led-2 led_3; do
    expect_write_ok "$M/bus/platform/new_device" "$name"
    expect_bound "$name"
done
expect_write_ok "$M/bus/platform/new_device" "foo0 compatible=led"
expect_bound foo0
expect_write_ok "$M/bus/platform/new_device" "gpio1"
expect_unbound gpio1
expect_unbound gpio0
# A compatible property names the driver; the name no longer matters.
expect_write_ok "$M/bus/platform/new_device" "led9 compatible=gpio"
expect_unbound led9

# The driver directory links exactly the bound devices (plus its module).
got=$(cd "$M/bus/platform/drivers/led" && find . -mindepth 1 -maxdepth 1 -type l -printf '%f ' | tr ' ' '\n' |
    LC_ALL=C sort | tr '\n' ' ')
expect_eq "symlinks in bus/platform/drivers/led" " foo0 led-2 led.1 led0 led1 led_3 module " " $got"
expect_daemon_alive
