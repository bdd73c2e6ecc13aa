#!/usr/bin/env bash
# Plugins built against older ABI headers load into this (ABI 4) daemon and
# work through the mount: fx_abi_v1 (the oldest ABI still loaded: a plain
# rw attribute) and fx_abi_v2 (a named group whose is_visible hides a file
# per device, suspend/resume, a class_name, which this daemon turns into a
# class device devices/platform/<dev>/<class>/<dev> carrying the driver's
# attributes, linked from class/<class>/<dev>). Both unload cleanly.
source "$(dirname "$0")/lib/common.sh"
setup
start_daemon
install_plugin "$(fixture_file fx_abi_v1)" fx_abi_v1.so
install_plugin "$(fixture_file fx_abi_v2)" fx_abi_v2.so

expect_write_ok "$M/control/load" "fx_abi_v1"
expect_write_ok "$M/bus/platform/new_device" "oldie0"
expect_eq "v1 attribute" "7" "$(read_attr "$M/devices/platform/oldie0/value")"
write_attr "$M/devices/platform/oldie0/value" "42"
expect_eq "v1 attribute after a write" "42" "$(read_attr "$M/devices/platform/oldie0/value")"

expect_write_ok "$M/control/load" "fx_abi_v2"
expect_eq "v2 module version" "1.9" "$(read_attr "$M/module/fx_abi_v2/version")"
expect_write_ok "$M/bus/platform/new_device" "veteran0"
expect_write_ok "$M/bus/platform/new_device" "veteran1 secret=1"
V0="$M/devices/platform/veteran0"
V1="$M/devices/platform/veteran1"
expect_eq "v2 group without the secret" "shown" "$(ls "$V0/extra" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "v2 group with the secret" "secret shown" "$(ls "$V1/extra" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "mode is_visible chose" "400" "$(stat -c %a "$V1/extra/secret")"
expect_eq "v2 group attribute" "shown" "$(read_attr "$V0/extra/shown")"
expect_eq "v2 class link" "veteran0 veteran1" "$(ls "$M/class/veterans" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "class/veterans/veteran0" "../../devices/platform/veteran0/veterans/veteran0" \
    "$(readlink "$M/class/veterans/veteran0")"
expect_eq "class device's device link" "$V0" "$(readlink -f "$M/class/veterans/veteran0/device")"
expect_eq "class device's subsystem link" "$M/class/veterans" "$(readlink -f "$V0/veterans/veteran0/subsystem")"
expect_eq "a driver attribute through the class device" "$(read_attr "$V0/host")" \
    "$(read_attr "$M/class/veterans/veteran0/host")"
# The host table it is handed: version 4, larger than the version-2 table
# it knows (two uint32 and nine pointers), which it simply does not read.
read -r host_version host_size <<<"$(read_attr "$V0/host")"
expect_eq "host version a v2 plugin sees" "4" "$host_version"
v2_size=$(( 8 + 9 * $(getconf LONG_BIT) / 8 ))
(( host_size > v2_size )) || fail "host table size $host_size is not larger than the version-2 table ($v2_size)"
pass "host table of $host_size bytes, the plugin knows the first $v2_size"

expect_write_ok "$M/control/unload" "fx_abi_v2"
[[ -e "$V0/extra" ]] && fail "veteran0/extra survived the unload"
[[ -e "$V0/veterans" ]] && fail "veteran0/veterans survived the unload"
[[ -L "$M/class/veterans/veteran0" ]] && fail "class/veterans/veteran0 survived the unload"
pass "v2 group files and class devices go with the plugin"
expect_write_ok "$M/control/unload" "fx_abi_v1"
expect_daemon_alive
