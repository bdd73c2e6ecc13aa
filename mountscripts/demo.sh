#!/usr/bin/env bash
# Set up and run the demo: install dependencies, build, mount a driverfs with
# every sample plugin loaded and the devices of etc/demo.json, and print
# where it is.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/install-deps
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

# Plugins are refused from directories others can write; the build tree may
# be one, so serve a private copy of every sample plugin.
plugins=$(mktemp -d /tmp/driverfs-plugins.XXXXXX)
for p in led hwmon gpio-sim vbus example; do
    install -m 0644 "build/plugins/$p/$p.so" "$plugins/$p.so"
done

# The device description loads the plugins and creates the devices before
# the mount appears (driverfs(5), CONFIGURATION).
mnt=$(mktemp -d /tmp/driverfs.XXXXXX)
build/src/daemon/driverfsd --plugin-dir "$plugins" --config mountscripts/etc/demo.json "$mnt"

echo "driverfs is mounted at $mnt with the sample plugins led, hwmon, gpio-sim, vbus"
echo "and example, and the devices of mountscripts/etc/demo.json:"
build/src/cli/driverfsctl --mount "$mnt" devices | sed 's/^/    /'
echo "  try:     cat $mnt/class/leds/led0/trigger"
echo "           echo 42 > $mnt/class/leds/led1/brightness"
echo "           cat $mnt/class/hwmon/hwmon0/load1_input $mnt/devices/platform/hello0/message"
echo "           build/src/cli/driverfsctl --mount $mnt list"
echo "  unmount: fusermount3 -u $mnt"
