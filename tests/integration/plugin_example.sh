#!/usr/bin/env bash
# The example plugin of driverfs-plugin(7), built from plugins/example/
# example.cpp (the page's text, checked by tests/sdk/man_example.sh): the
# session the page shows works as printed.
source "$(dirname "$0")/lib/common.sh"
setup
start_daemon
install_plugin "$(plugin_file example)" example.so
expect_write_ok "$M/control/load" "example"
expect_write_ok "$M/bus/platform/new_device" "hello0"
D="$M/devices/platform/hello0"
expect_eq "cat message" "hello, world" "$(read_attr "$D/message")"
echo "good morning" >"$D/message" || fail "echo > message failed"
expect_eq "cat message after echo" "good morning" "$(read_attr "$D/message")"
expect_eq "cat writes" "1" "$(read_attr "$D/writes")"
expect_write_errno EINVAL "$D/message" $'\n'
expect_write_errno EACCES "$D/writes" "5"
expect_write_ok "$M/control/unload" "example"
expect_daemon_alive
