#!/bin/bash
# ctl_commands: every driverfsctl command against a mounted daemon, checked
# both in its output and in the mounted tree: load (by name and by path),
# list, add-device (properties, --parent), devices, bind, unbind, suspend,
# resume, stats, remove-device, unload --timeout, purge, apply, ping, --json,
# --mount (the default socket path), and the exit codes 0 / 1 / 2.
. "$(dirname "$0")/lib/common.sh"
setup
start_ctl_daemon
install_plugin "$(plugin_file led)" led.so

expect_match "ping" '^driverfsd [0-9.]+ \(pid [0-9]+\)$' "$(ctl_ok ping)"

# load by name; the module appears in the tree and in list.
ctl_ok load led >/dev/null
expect_eq "module/led/state after load" "live" "$(read_attr "$M/module/led/state")"
list=$(ctl_ok list)
expect_eq "list header" "Module                Gen State  Refcnt Devices  Drivers" "$(sed -n 1p <<<"$list")"
expect_match "list row for led" '^led +1 live +0 +0  led$' "$(sed -n 2p <<<"$list")"
expect_ctl_status 1 'load: .*(EEXIST|already)' load led

# add-device with a property and a child with --parent.
ctl_ok add-device platform led0 max_brightness=100 >/dev/null
ctl_ok add-device platform led1 --parent led0 >/dev/null
expect_eq "led0 max_brightness from the property" "100" "$(read_attr "$(led_dir led0)/max_brightness")"
expect_eq "led1 below led0" "led" "$(basename "$(readlink "$M/devices/platform/led0/led1/driver")")"
expect_eq "devices tree" "led0 (platform) driver=led state=active max_brightness=100
  led1 (platform) driver=led state=active" "$(ctl_ok devices)"
expect_match "list counts bound devices" '^led +1 live +0 +2  led$' "$(ctl_ok list | sed -n 2p)"
expect_ctl_status 1 'add-device: .*\(EEXIST\)' add-device platform led0
expect_ctl_status 1 'add-device: .*\(ENOENT\)' add-device nobus x0
expect_ctl_status 2 'not KEY=VALUE' add-device platform led9 oops

# unbind / bind, seen in the tree.
ctl_ok unbind platform led led1 >/dev/null
[[ -e "$M/devices/platform/led0/led1/driver" ]] && fail "led1 still has a driver link after unbind"
expect_match "devices after unbind" 'led1 \(platform\) driver=- state=active' "$(ctl_ok devices)"
ctl_ok bind platform led led1 >/dev/null
expect_eq "led1 driver after bind" "led" "$(basename "$(readlink "$M/devices/platform/led0/led1/driver")")"
expect_ctl_status 1 'bind: .*\((EBUSY|EEXIST|EALREADY)\)' bind platform led led1

# suspend / resume.
ctl_ok suspend >/dev/null
expect_eq "devices while suspended" "led0 (platform) driver=led state=suspended max_brightness=100
  led1 (platform) driver=led state=suspended" "$(ctl_ok devices)"
ctl_ok resume >/dev/null
expect_match "devices after resume" 'led0 \(platform\) driver=led state=active' "$(ctl_ok devices)"

# stats, human and JSON.
stats=$(ctl_ok stats)
expect_match "stats devices" '(^|
)devices +2(
|$)' "$stats"
expect_match "stats bound_devices" 'bound_devices +2' "$stats"
expect_match "stats plugins_loaded" 'plugins_loaded +1' "$stats"
json=$(ctl_ok --json stats)
expect_eq "stats --json devices" "2" "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["devices"])' "$json")"
json=$(ctl_ok --json devices)
expect_eq "devices --json parent of led1" "led0" \
    "$(python3 -c 'import json,sys; print([d for d in json.loads(sys.argv[1])["devices"] if d["name"]=="led1"][0]["parent"])' "$json")"
expect_eq "list --json generation" "1" \
    "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["modules"][0]["generation"])' "$(ctl_ok --json list)")"

# remove-device removes the child too.
ctl_ok remove-device led0 >/dev/null
[[ -e "$M/devices/platform/led0" ]] && fail "led0 still in the tree after remove-device"
expect_eq "devices after remove-device" "" "$(ctl_ok devices)"
expect_ctl_status 1 'remove-device: .*\(ENODEV|ENOENT\)' remove-device led0

# unload --timeout, then purge frees its stub; reload by path bumps the generation.
ctl_ok unload led --timeout 2 >/dev/null
expect_eq "module/led/state after unload" "gone" "$(read_attr "$M/module/led/state")"
expect_ctl_status 1 'unload: .*\(ENOENT\)' unload led
expect_ctl_status 2 'timeout' unload led --timeout -3
# The stub stays reachable from led0's removed attribute nodes until the
# kernel forgets them (FUSE forget and release are asynchronous), so purge
# may free it only on a later call; it must free it exactly once in time.
freed=0
end=$((SECONDS + 60))
while ((freed == 0 && SECONDS < end)); do
    out=$(ctl_ok purge)
    [[ "$out" =~ ^freed\ ([0-9]+)\ inactive\ stubs$ ]] || fail "purge printed '$out'"
    freed=$((freed + BASH_REMATCH[1]))
    ((freed)) || sleep 0.1
done
expect_eq "purge frees the unloaded driver's stub" "1" "$freed"
expect_eq "purge again" "freed 0 inactive stubs" "$(ctl_ok purge)"
ctl_ok load "$PLUGINS_COPY/led.so" >/dev/null
expect_eq "module/led/state after load by path" "live" "$(read_attr "$M/module/led/state")"

# apply: a description with a parent and a property; applying again is a no-op.
cat >"$WORK/tree.json" <<'JSON'
{"plugins": ["led"],
 "buses": {"platform": {"devices": [
    {"name": "led2", "properties": {"max_brightness": 7}},
    {"name": "led3", "parent": "led2"}]}}}
JSON
expect_eq "apply" "loaded: -
added: led2 led3
already present: led" "$(ctl_ok apply "$WORK/tree.json")"
expect_eq "led2 max_brightness" "7" "$(read_attr "$(led_dir led2)/max_brightness")"
[[ -d "$M/devices/platform/led2/led3" ]] || fail "led3 not below led2"
expect_eq "apply again" "loaded: -
added: -
already present: led led2 led3" "$(ctl_ok apply "$WORK/tree.json")"

# --mount finds the default socket of a second daemon started without --control.
M1=$M; LOG1=$LOG; PID1=$DAEMON_PID
M2=$(mktemp -d "${TMPDIR:-/tmp}/driverfs-mnt2.XXXXXX")
"$DRIVERFSD" -f --plugin-dir "$PLUGINS_COPY" --load led "$M2" 2>"$WORK/d2.log" &
PID2=$!
EXTRA_PIDS+=("$PID2")
mounted_m2() { mounted "$M2"; }
wait_until 60 "second daemon to mount $M2 ($(cat "$WORK/d2.log"))" mounted_m2
id=$(systemd-escape --path "$M2" 2>/dev/null || printf '%s' "${M2#/}" | tr / -)
expect_eq "default socket exists" "yes" "$([[ -S /run/driverfs/$id.sock ]] && echo yes)"
expect_match "list --mount" '^led +1 live' "$("$DRIVERFSCTL" --mount "$M2" list | sed -n 2p)"
fusermount3 -u "$M2"
wait "$PID2"; expect_eq "second daemon exit status" "0" "$?"
expect_eq "default socket removed at exit" "no" "$([[ -e /run/driverfs/$id.sock ]] && echo yes || echo no)"
rmdir "$M2"
M=$M1; LOG=$LOG1; DAEMON_PID=$PID1

# Usage errors exit 2; an absent daemon is a failure, 1.
rc=0; "$DRIVERFSCTL" --socket "$SOCK" >/dev/null 2>&1 || rc=$?
expect_eq "no command" "2" "$rc"
expect_ctl_status 2 "unknown command 'frob'" frob
expect_ctl_status 2 'usage: driverfsctl bind BUS DRIVER DEVICE' bind platform led
rc=0; "$DRIVERFSCTL" list >/dev/null 2>&1 || rc=$?
expect_eq "no --socket/--mount" "2" "$rc"
rc=0; "$DRIVERFSCTL" --socket "$WORK/nothing.sock" list 2>"$WORK/err" || rc=$?
expect_eq "absent daemon" "1" "$rc"
expect_match "absent daemon message" 'cannot connect' "$(cat "$WORK/err")"
expect_daemon_alive
