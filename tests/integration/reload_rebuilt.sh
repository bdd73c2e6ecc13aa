#!/bin/bash
# reload_rebuilt: reloading after the plugin file changed on disk. Loads led
# from the private plugin dir (srcpath names that file), overwrites led.so in
# place while loaded (the daemon must not run code from the file it read:
# brightness keeps working), unloads, replaces led.so with a different valid
# file of the same name (same ELF plus trailing bytes, renamed over it) and
# loads again (generation 2, srcpath unchanged, led0 rebound with a fresh
# state), then `cp` of the original over it and a third load (generation 3),
# and a load by absolute path from another directory (srcpath = that path).
# No compiler is involved: a "rebuilt" plugin is a different file here.
source "$(dirname "$0")/lib/common.sh"
setup
start_daemon
ORIG=$(plugin_file led)
SO="$PLUGINS_COPY/led.so"
install_plugin "$ORIG" led.so
expect_write_ok "$M/control/load" "led"
expect_eq "srcpath" "$SO" "$(read_attr "$M/module/led/srcpath")"
expect_eq "generation" "1" "$(read_attr "$M/module/led/generation")"
expect_write_ok "$M/bus/platform/new_device" "led0"
B=$(led_dir led0)/brightness
expect_write_ok "$B" $'42\n'

# Overwrite the file in place (same inode, truncated and rewritten) while loaded.
{ cat "$ORIG"; head -c 4096 /dev/zero; } >"$SO" || fail "cannot overwrite $SO"
expect_eq "mode of overwritten led.so" "644" "$(stat -c %a "$SO")"
expect_eq "brightness after led.so was overwritten under the loaded plugin" "42" "$(read_attr "$B")"
expect_write_ok "$B" $'43\n'
expect_eq "brightness after write" "43" "$(read_attr "$B")"
expect_eq "max_brightness after overwrite" "255" "$(read_attr "$(led_dir led0)/max_brightness")"
expect_daemon_alive

expect_write_ok "$M/control/unload" "led"
expect_eq "state after unload" "gone" "$(read_attr "$M/module/led/state")"

# Replace with a different valid file of the same name, atomically.
NEW="$PLUGINS_COPY/.led.so.new"
{ cat "$ORIG"; printf 'driverfs integration test: trailing bytes make a different file\n'; } >"$NEW"
chmod 0644 "$NEW"
mv -f "$NEW" "$SO" || fail "cannot rename over $SO"
cmp -s "$ORIG" "$SO" && fail "the replacement led.so is identical to the original"
pass "led.so replaced by a different file ($(stat -c %s "$SO") bytes, was $(stat -c %s "$ORIG"))"
expect_write_ok "$M/control/load" "led"
expect_eq "generation after reload of the replaced file" "2" "$(read_attr "$M/module/led/generation")"
expect_eq "state" "live" "$(read_attr "$M/module/led/state")"
expect_eq "srcpath" "$SO" "$(read_attr "$M/module/led/srcpath")"
expect_eq "version" "1.0" "$(read_attr "$M/module/led/version")"
expect_eq "led0 rebound: brightness is fresh" "0" "$(read_attr "$B")"
expect_write_ok "$B" $'17\n'
expect_eq "brightness" "17" "$(read_attr "$B")"

# cp of the original over it, reload.
expect_write_ok "$M/control/unload" "led"
cp "$ORIG" "$SO" || fail "cp $ORIG $SO failed"
cmp -s "$ORIG" "$SO" || fail "cp did not restore the original"
expect_write_ok "$M/control/load" "led"
expect_eq "generation after the third load" "3" "$(read_attr "$M/module/led/generation")"
expect_eq "srcpath" "$SO" "$(read_attr "$M/module/led/srcpath")"
expect_eq "brightness after the third load" "0" "$(read_attr "$B")"

# Load by path from another private directory.
expect_write_ok "$M/control/unload" "led"
OTHER=$(mktemp -d "$WORK/other.XXXXXX")
chmod 0700 "$OTHER"
install -m 0644 "$ORIG" "$OTHER/led.so"
expect_write_ok "$M/control/load" "$OTHER/led.so"
expect_eq "srcpath after a load by path" "$OTHER/led.so" "$(read_attr "$M/module/led/srcpath")"
expect_eq "generation after the fourth load" "4" "$(read_attr "$M/module/led/generation")"
[[ -L "$M/devices/platform/led0/driver" ]] || fail "led0 not bound after the load by path"
expect_daemon_alive
