#!/bin/bash
# bad_inputs: every bad request fails with its documented errno and changes
# nothing (the whole tree, symlink targets and module state compared before
# and after). load: missing name ENOENT, directory EISDIR, non-ELF file
# ENOEXEC, group/other-writable file or directory EPERM, wrong ABI EPROTO (and
# the log names both ABI versions), no entry symbol ENOEXEC, init failing
# ENXIO, init throwing EIO, a driver name already taken EEXIST, the same
# plugin twice EEXIST; unload of a plugin not loaded ENOENT; new_device with
# an empty line, a word that is not KEY=VALUE, or a bad name EINVAL, a
# duplicate name EEXIST; delete_device of an unknown device ENODEV.
source "$(dirname "$0")/lib/common.sh"
setup
for fx in fx_wrong_abi fx_no_entry fx_init_fails fx_init_throws fx_dup_driver; do
    install_plugin "$(fixture_file "$fx")" "$fx.so"
done
start_daemon
load_led
expect_write_ok "$M/bus/platform/new_device" "led0"
expect_write_ok "$M/devices/platform/led0/brightness" $'42\n'
expect_write_ok "$M/bus/platform/new_device" "gpio0"

# Files for the path cases, outside the plugin dir.
BAD=$(mktemp -d "$WORK/bad.XXXXXX")
chmod 0700 "$BAD"
mkdir -m 0700 "$BAD/adir.so"
printf 'this is not an ELF object\n' >"$BAD/text.so"
chmod 0644 "$BAD/text.so"
install -m 0666 "$(plugin_file led)" "$BAD/writable.so"
mkdir -m 0777 "$BAD/opendir"
install -m 0644 "$(plugin_file led)" "$BAD/opendir/led2.so"

# expect_refused ERRNO FILE DATA: the write fails with ERRNO, nothing changes.
expect_refused() {
    local before after
    before=$(tree_snapshot)
    expect_write_errno "$1" "$2" "$3"
    after=$(tree_snapshot)
    if [[ "$before" != "$after" ]]; then
        diff <(echo "$before") <(echo "$after") >&2
        fail "writing '$3' to ${2#"$M"/} changed the tree"
    fi
    pass "... and changed nothing"
}

L="$M/control/load"
expect_refused ENOENT "$L" "no_such_plugin"
expect_refused ENOENT "$L" "$BAD/missing.so"
expect_refused EISDIR "$L" "$BAD/adir.so"
expect_refused ENOEXEC "$L" "$BAD/text.so"
expect_refused EPERM "$L" "$BAD/writable.so"
expect_refused EPERM "$L" "$BAD/opendir/led2.so"
expect_refused EPROTO "$L" "fx_wrong_abi"
expect_refused ENOEXEC "$L" "fx_no_entry"
expect_refused ENXIO "$L" "fx_init_fails"
expect_refused EIO "$L" "fx_init_throws"
expect_refused EEXIST "$L" "fx_dup_driver"
expect_refused EEXIST "$L" "led"
expect_refused EEXIST "$L" "$PLUGINS_COPY/led.so"
# A failed load leaves nothing behind that would change a second attempt.
expect_refused ENXIO "$L" "fx_init_fails"
expect_refused EIO "$L" "fx_init_throws"
for name in fx_wrong_abi fx_no_entry fx_init_fails fx_init_throws fx_dup_driver; do
    [[ ! -e "$M/module/$name" ]] || fail "module/$name exists after a failed load"
done
for drv in fx_dup_own fx_initfail_drv fx_initthrow_drv; do
    [[ ! -e "$M/bus/platform/drivers/$drv" ]] || fail "driver $drv exists after a failed load"
done

U="$M/control/unload"
expect_refused ENOENT "$U" "fx_sleepy"
expect_refused ENOENT "$U" "fx_init_fails"

N="$M/bus/platform/new_device"
expect_refused EINVAL "$N" $'\n'
expect_refused EINVAL "$N" "led5 badpair"
expect_refused EINVAL "$N" "led5 =value"
expect_refused EINVAL "$N" "bad/name"
expect_refused EEXIST "$N" "led0"
expect_refused EEXIST "$N" "gpio0 compatible=led"
expect_refused ENODEV "$M/bus/platform/delete_device" "nosuchdev"

# The wrong-ABI failure is explained in the log, naming both versions.
# The host's ABI version, from the header the fixtures were built against.
HDR="$(dirname "$0")/../../include/driverfs/plugin.h"
[[ -f "$HDR" ]] || fail "cannot find $HDR for the ABI version"
abi=$(sed -n 's/^#define DRIVERFS_ABI_VERSION \([0-9][0-9]*\)u\{0,1\}.*/\1/p' "$HDR")
[[ "$abi" =~ ^[0-9]+$ ]] || fail "cannot read DRIVERFS_ABI_VERSION from $HDR"
line=$(grep 'fx_wrong_abi' "$LOG" | grep -i 'ABI' | head -n 1)
[[ -n "$line" ]] || fail "no log line about fx_wrong_abi and its ABI"
expect_match "log line for fx_wrong_abi names the plugin's ABI $((abi + 1))" "ABI $((abi + 1))([^0-9]|$)" "$line"
expect_match "log line for fx_wrong_abi names the host's ABI $abi" "ABI $abi([^0-9]|$)" "$line"

# Everything still works.
expect_eq "led0 brightness after all that" "42" "$(read_attr "$M/devices/platform/led0/brightness")"
expect_eq "module/led/generation" "1" "$(read_attr "$M/module/led/generation")"
expect_eq "module/led/state" "live" "$(read_attr "$M/module/led/state")"
expect_daemon_alive
