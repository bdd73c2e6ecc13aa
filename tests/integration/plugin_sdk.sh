#!/usr/bin/env bash
# The plugin.hpp helpers at the ABI boundary (fixture fx_sdk): an exception
# in a show or store becomes EIO plus a log line naming the attribute and
# the device, an errno a callback returns (or throws as sdk::Errno) reaches
# the caller unchanged, a probe that throws refuses the device, and the
# daemon goes on; attributes declared with Attribute::member (err, level,
# mboom) run on the device's State with the same containment.
source "$(dirname "$0")/lib/common.sh"
setup
start_daemon
install_plugin "$(fixture_file fx_sdk)" fx_sdk.so
expect_write_ok "$M/control/load" "fx_sdk"
expect_write_ok "$M/bus/platform/new_device" "sdk0"
D="$M/devices/platform/sdk0"
expect_eq "read of a show that throws" "EIO" "$(try_read "$D/boom")"
grep -q "plugin fx_sdk: show boom of sdk0 threw: kaboom" "$LOG" || fail "no log line naming show boom of sdk0"
pass "the log names the attribute that threw"
expect_write_errno EIO "$D/boom" "1"
grep -q "plugin fx_sdk: store boom of sdk0 threw a non-standard exception" "$LOG" || fail "no log line for store boom"
pass "a non-standard exception is logged too"
expect_eq "errno from show" "EAGAIN" "$(try_read "$D/err")"
write_attr "$D/err" "28"
expect_eq "errno from show after a write" "ENOSPC" "$(try_read "$D/err")"
expect_write_errno ERANGE "$D/err" "134"
expect_write_errno EINVAL "$D/err" "x"
pass "member-function show/store (err) pass their errno through"
expect_eq "member show of a fresh level" "OK:0|" "$(try_read "$D/level")"
write_attr "$D/level" "255"
expect_eq "member store then show" "OK:255|" "$(try_read "$D/level")"
expect_write_errno ERANGE "$D/level" "256"
expect_write_errno EINVAL "$D/level" "-1"
expect_eq "level after refused writes" "255" "$(read_attr "$D/level")"
expect_eq "read of a member show that throws" "EIO" "$(try_read "$D/mboom")"
grep -q "plugin fx_sdk: show mboom of sdk0 threw: member kaboom" "$LOG" || fail "no log line naming show mboom of sdk0"
pass "an exception from a member function is EIO and a log line naming the attribute"
expect_write_ok "$M/bus/platform/new_device" "sdk1 probe_errno=19"
[[ -e "$M/devices/platform/sdk1/driver" ]] && fail "sdk1 bound although probe threw Errno(ENODEV)"
grep -q "refused sdk1 (probe returned -19)" "$LOG" || fail "probe of sdk1 did not return -19"
pass "Errno thrown in a state constructor is probe's return value"
expect_write_ok "$M/bus/platform/new_device" "sdk2 probe_throws=1"
[[ -e "$M/devices/platform/sdk2/driver" ]] && fail "sdk2 bound although its state constructor threw"
grep -q "plugin fx_sdk: probe sdk of sdk2 threw: state constructor failed" "$LOG" || fail "no log line for probe of sdk2"
pass "a throwing state constructor refuses the device with a log line"
expect_daemon_alive
expect_write_ok "$M/control/unload" "fx_sdk"
