#!/usr/bin/env bash
# Set up and run the demo: install dependencies, build, mount a driverfs with
# the led plugin loaded and two LED devices, and print where it is.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/install-deps
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

# Plugins are refused from directories others can write; the build tree may
# be one, so serve a private copy.
plugins=$(mktemp -d /tmp/driverfs-plugins.XXXXXX)
install -m 0644 build/plugins/led/led.so "$plugins/led.so"

mnt=$(mktemp -d /tmp/driverfs.XXXXXX)
build/src/daemon/driverfsd --plugin-dir "$plugins" --load led "$mnt"
echo "led0" > "$mnt/bus/platform/new_device"
echo "led1 max_brightness=100" > "$mnt/bus/platform/new_device"

echo "driverfs is mounted at $mnt with the led plugin and devices led0, led1."
echo "  try:     cat $mnt/devices/platform/led0/max_brightness"
echo "           echo 42 > $mnt/devices/platform/led0/brightness"
echo "  unmount: fusermount3 -u $mnt"
