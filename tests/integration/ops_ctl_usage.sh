#!/bin/bash
# ops_ctl_usage: driverfsctl's command line as documented. `-V`/`--version`
# print the version (exit 0); `--help` lists -V/--version, DRIVERFS_SOCKET and
# the --opt=VALUE forms; an unknown dash word before the command (`--bogus`,
# `-x`) is an "unknown option" (exit 2), not an unknown command, and after it
# names the command; `--` ends the options (a device named "-1" can be
# removed); `--socket=PATH`, `--mount=M`, `--timeout=S` work, and
# DRIVERFS_SOCKET is used without --socket/--mount. driverfsctl(8) documents
# the same, and driverfs(5) and driverfsd(8) refer to driverfsctl(8) and
# driverfs-plugin(7) in SEE ALSO. (man/lint.sh, suite docs, keeps the pages
# clean for groff.)
. "$(dirname "$0")/lib/common.sh"
setup
ctl_preflight
MAN=$(cd "$(dirname "$0")/../../man" && pwd) || fail "man/ not found next to tests/"

run_ctl() {
    RC=0
    timeout 60 "$DRIVERFSCTL" "$@" >"$WORK/out" 2>"$WORK/err" || RC=$?
}

for v in -V --version; do
    run_ctl "$v"
    expect_eq "driverfsctl $v: exit status" "0" "$RC"
    expect_match "driverfsctl $v" '^driverfsctl [0-9]+\.[0-9]+' "$(cat "$WORK/out")"
done

run_ctl --help
expect_eq "--help: exit status" "0" "$RC"
HELP=$(cat "$WORK/out")
for want in '-V, --version' 'DRIVERFS_SOCKET' '--opt=VALUE' '--timeout[=]SECS' '--parent[=]DEV' '-h, --help'; do
    [[ "$HELP" == *"$want"* ]] || fail "--help does not mention '$want': $HELP"
    pass "--help mentions '$want'"
done

for bad in --bogus -x --bogus=1; do
    run_ctl "$bad" ping
    expect_eq "driverfsctl $bad ping: exit status" "2" "$RC"
    expect_match "driverfsctl $bad ping: stderr" "unknown option '$bad'" "$(cat "$WORK/err")"
    [[ "$(cat "$WORK/err")" != *"unknown command"* ]] || fail "$bad reported as an unknown command"
done
run_ctl --socket /nonexistent ping --bogus
expect_eq "driverfsctl ping --bogus: exit status" "2" "$RC"
expect_match "driverfsctl ping --bogus: stderr" "unknown option '--bogus' for ping" "$(cat "$WORK/err")"
run_ctl --socket /nonexistent frobnicate
expect_eq "unknown command: exit status" "2" "$RC"
expect_match "unknown command: stderr" "unknown command 'frobnicate'" "$(cat "$WORK/err")"

# The documented forms work against a daemon.
start_ctl_daemon
load_led
run_ctl --socket="$SOCK" --json ping
expect_eq "--socket=PATH ping" "0" "$RC"
RC=0
DRIVERFS_SOCKET="$SOCK" timeout 60 "$DRIVERFSCTL" --json ping >"$WORK/out" 2>"$WORK/err" || RC=$?
expect_eq "DRIVERFS_SOCKET ping: exit status" "0" "$RC"
expect_eq "DRIVERFS_SOCKET ping: pid" "$DAEMON_PID" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$WORK/out")"
run_ctl --socket "$SOCK" add-device platform led0 --parent=nosuch
expect_eq "--parent=DEV reaches the daemon (no such parent)" "1" "$RC"
run_ctl --socket "$SOCK" unload led --timeout=2.5
expect_eq "unload --timeout=SECS" "0" "$RC"

# "--" ends the options: a device a control file named "-1" can be removed.
expect_write_ok "$M/bus/platform/new_device" "-1"
run_ctl --socket "$SOCK" remove-device -1
expect_eq "remove-device -1: exit status (an option)" "2" "$RC"
[[ -d "$M/devices/platform/-1" ]] || fail "remove-device -1 (refused) removed the device"
run_ctl --socket "$SOCK" remove-device -- -1
expect_eq "remove-device -- -1: exit status" "0" "$RC"
[[ ! -e "$M/devices/platform/-1" ]] || fail "remove-device -- -1 left devices/platform/-1"
expect_write_ok "$M/bus/platform/new_device" "-2"
run_ctl --socket "$SOCK" -- remove-device -2
expect_eq "-- remove-device -2: exit status" "0" "$RC"
[[ ! -e "$M/devices/platform/-2" ]] || fail "-- remove-device -2 left devices/platform/-2"
run_ctl --socket "$SOCK" add-device platform -- -3 --parent
expect_eq "add-device platform -- -3 --parent: the last word is a property, not an option" "2" "$RC"
expect_match "... and says so" "property '--parent' is not KEY=VALUE" "$(cat "$WORK/err")"

# The man pages.
CTL8=$(groff -man -Tascii -P-cbou "$MAN/driverfsctl.8" 2>/dev/null)
[[ -n "$CTL8" ]] || fail "groff could not render driverfsctl.8"
for want in '-V, --version' 'DRIVERFS_SOCKET' '--socket=' '--timeout=secs' '--parent=device' '"ok": false' 'unknown option' 'remove-device -- -1'; do
    [[ "$CTL8" == *"$want"* ]] || fail "driverfsctl(8) does not mention '$want'"
    pass "driverfsctl(8) mentions '$want'"
done
see_also() { sed -n '/^\.SH SEE ALSO/,/^\.SH/p' "$MAN/$1" | sed 's/\\-/-/g'; }
for page in driverfs.5 driverfsd.8; do
    for ref in 'driverfsctl (8)' 'driverfs-plugin (7)'; do
        [[ "$(see_also "$page")" == *".BR $ref"* ]] || fail "$page: SEE ALSO misses ${ref/ /}"
        pass "$page: SEE ALSO has ${ref/ /}"
    done
done
