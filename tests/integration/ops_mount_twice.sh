#!/bin/bash
# ops_mount_twice: a second driverfsd for a mount point already served is
# refused. With a driverfs mounted at M (default control socket), `driverfsd
# M`, `driverfsd -f M` and `driverfsd --control OTHER M` exit 1 saying "already
# mounted (EBUSY)"; M keeps exactly one fuse.driverfs mount, the first daemon
# still serves it with its state (led0 at brightness 42) and still answers on
# its socket. And a daemon answering on M's default socket while mounted
# elsewhere also makes `driverfsd M` exit 1 (EBUSY, naming the socket),
# mounting nothing at M and leaving that socket working.
. "$(dirname "$0")/lib/common.sh"
setup
ctl_preflight
command -v systemd-escape >/dev/null || fail "systemd-escape is needed to name the default socket"
[[ $(id -u) -eq 0 ]] || fail "needs root: the default socket of a root daemon is in /run/driverfs"

mounts_at() { awk -v m="$1" '$2 == m && $3 == "fuse.driverfs" { n++ } END { print n + 0 }' /proc/self/mounts; }
socket_of() { printf '/run/driverfs/%s.sock' "$(systemd-escape --path "$1")"; }
ping_pid() {
    timeout 60 "$DRIVERFSCTL" --socket "$1" --json ping |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])'
}

start_daemon
load_led
expect_write_ok "$M/bus/platform/new_device" "led0"
expect_write_ok "$(led_dir led0)/brightness" "42"
SOCK=$(socket_of "$M")
expect_eq "first daemon answers on $SOCK" "$DAEMON_PID" "$(ping_pid "$SOCK")"

# expect_busy WHAT REGEX CMD...: exit 1, REGEX on stderr, still one mount at
# M, the first daemon and its state untouched.
expect_busy() {
    local what=$1 re=$2 rc=0
    shift 2
    # A watchdog only: the refusal is immediate.
    timeout 60 "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
    if [[ "$(mounts_at "$M")" != 1 ]]; then
        fusermount3 -u "$M" 2>/dev/null  # the top one: the second daemon's
        fail "$what: $M now has $(($(mounts_at "$M") + 1)) driverfs mounts (stderr: $(cat "$WORK/err"))"
    fi
    expect_eq "$what: exit status" "1" "$rc"
    expect_match "$what: stderr" "$re" "$(cat "$WORK/err")"
    expect_eq "$what: stdout" "" "$(cat "$WORK/out")"
    expect_eq "$what: led0 brightness" "42" "$(read_attr "$(led_dir led0)/brightness")"
    expect_eq "$what: first daemon still on its socket" "$DAEMON_PID" "$(ping_pid "$SOCK")"
    expect_daemon_alive
}

ALREADY='already mounted.*\(EBUSY\)'
expect_busy "driverfsd M" "$ALREADY" "$DRIVERFSD" --plugin-dir "$PLUGINS_COPY" "$M"
expect_busy "driverfsd -f M" "$ALREADY" "$DRIVERFSD" -f --plugin-dir "$PLUGINS_COPY" "$M"
expect_busy "driverfsd --control OTHER M" "$ALREADY" \
    "$DRIVERFSD" --control "$WORK/other.sock" --plugin-dir "$PLUGINS_COPY" "$M"
[[ ! -e "$WORK/other.sock" ]] || fail "the refused daemon created $WORK/other.sock"
expect_busy "driverfsd M/ (trailing slash)" "$ALREADY" "$DRIVERFSD" --plugin-dir "$PLUGINS_COPY" "$M/"

# Not mounted at M2, but a daemon answers on M2's default socket (it was
# told to use that path while serving M3).
M2=$(mktemp -d "${TMPDIR:-/tmp}/driverfs-mnt2.XXXXXX") || fail "mktemp -d failed"
M3=$(mktemp -d "${TMPDIR:-/tmp}/driverfs-mnt3.XXXXXX") || fail "mktemp -d failed"
SOCK2=$(socket_of "$M2")
"$DRIVERFSD" -f --plugin-dir "$PLUGINS_COPY" --control "$SOCK2" "$M3" 2>"$WORK/third.log" &
THIRD=$!
EXTRA_PIDS+=("$THIRD")
wait_until 60 "the daemon at $M3 answering on $SOCK2" mounted "$M3"
wait_until 60 "the daemon at $M3 answering on $SOCK2" test -S "$SOCK2"
expect_eq "daemon of M3 answers on M2's socket" "$THIRD" "$(ping_pid "$SOCK2")"
rc=0
timeout 60 "$DRIVERFSD" --plugin-dir "$PLUGINS_COPY" "$M2" >"$WORK/out" 2>"$WORK/err" || rc=$?
if [[ "$(mounts_at "$M2")" != 0 ]]; then
    fusermount3 -u "$M2" 2>/dev/null
    fail "driverfsd M2 mounted although a daemon answers on $SOCK2"
fi
expect_eq "driverfsd M2 (socket answers): exit status" "1" "$rc"
expect_match "driverfsd M2 (socket answers): stderr" "answers on ${SOCK2//\\/\\\\}.*\\(EBUSY\\)" "$(cat "$WORK/err")"
expect_eq "its socket still works" "$THIRD" "$(ping_pid "$SOCK2")"

fusermount3 -u "$M3" || fail "fusermount3 -u $M3 failed"
wait_gone "$THIRD" 30 || fail "the daemon of $M3 did not exit after unmount"
rc=0
wait "$THIRD" || rc=$?
expect_eq "daemon of M3 exit status" "0" "$rc"
rmdir -- "$M2" "$M3" || fail "cannot remove $M2 $M3"
