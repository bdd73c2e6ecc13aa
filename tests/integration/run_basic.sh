#!/usr/bin/env bash
# run_basic: driverfs-run's contract. /sys is a driverfs that statfs calls
# sysfs (through the preload) while the host's /sys is untouched;
# DRIVERFS_SOCKET reaches the daemon; LD_PRELOAD is appended to; the exit
# status is COMMAND's; usage errors give 2, a bad --config 1 with the
# reason, a missing program 127; SIGTERM reaches COMMAND. After every run,
# nothing is left mounted or running.
source "$(dirname "$0")/run_common.sh"
run_setup

# ---- usage and setup errors ---------------------------------------------------
drun 2>"$OUT/err"; expect_eq "no command: status" 2 "$?"
expect_match "no command: message" "no command" "$(cat "$OUT/err")"
drun --bogus -- true 2>"$OUT/err"; expect_eq "unknown option: status" 2 "$?"
drun --config 2>"$OUT/err"; expect_eq "--config without a value: status" 2 "$?"
drun --config "$WORK/nonexistent.json" -- touch "$OUT/ran" 2>"$OUT/err"
expect_eq "missing --config file: status" 1 "$?"
expect_match "missing --config file: reason" "nonexistent.json" "$(cat "$OUT/err")"
[[ ! -e "$OUT/ran" ]] || fail "COMMAND ran although the tree could not be set up"
expect_nothing_left
echo '{"plugins": ["nosuchplugin"]}' > "$WORK/bad.json"
drun --config "$WORK/bad.json" -- touch "$OUT/ran" 2>"$OUT/err"
expect_eq "config naming a missing plugin: status" 1 "$?"
expect_match "config naming a missing plugin: reason" "nosuchplugin" "$(cat "$OUT/err")"
[[ ! -e "$OUT/ran" ]] || fail "COMMAND ran although the tree could not be set up"
expect_nothing_left
drun -- "$WORK/no-such-program" 2>"$OUT/err"; expect_eq "missing program: status" 127 "$?"
expect_match "missing program: message" "no-such-program.*No such file" "$(cat "$OUT/err")"
expect_nothing_left

# ---- exit status ----------------------------------------------------------------
drun -- true; expect_eq "true: status" 0 "$?"
drun -- sh -c 'exit 7'; expect_eq "exit 7: status" 7 "$?"
drun -- sh -c 'kill -KILL $$'; expect_eq "COMMAND killed by SIGKILL: status" 137 "$?"
expect_nothing_left

# ---- what COMMAND sees ------------------------------------------------------------
host_type=$(stat -f -c %t /sys)
LD_PRELOAD=libm.so.6 drun --config "$DEMO" -- sh -c '
    stat -f -c %t /sys > "$OUT/type"
    stat -f -c %t /sys/class/leds/led0/brightness > "$OUT/type_file"
    LD_PRELOAD= stat -f -c %t /sys > "$OUT/type_raw"
    stat -f -c %t /proc > "$OUT/type_proc"
    printf "%s" "$LD_PRELOAD" > "$OUT/preload"
    printf "%s" "$DRIVERFS_SOCKET" > "$OUT/socket"
    cat /sys/class/leds/led0/max_brightness > "$OUT/max"
    driverfsctl add-device platform led7 max_brightness=9 && cat /sys/devices/platform/led7/leds/led7/max_brightness > "$OUT/max7"
    readlink /sys/bus/platform/devices/led0 > "$OUT/link"
    readlink /sys/class/leds/led0 > "$OUT/class_link"
    ls /sys/class/hwmon > "$OUT/hwmon" 2>&1
    cat /sys/class/hwmon/hwmon0/name > "$OUT/hwmon_name" 2>&1
    ls /run/udev > "$OUT/run_udev"
'
expect_eq "demo run: status" 0 "$?"
expect_eq "statfs(/sys).f_type inside" 62656572 "$(cat "$OUT/type")"
expect_eq "statfs of a file under /sys inside" 62656572 "$(cat "$OUT/type_file")"
expect_eq "statfs(/sys) without the preload (FUSE)" 65735546 "$(cat "$OUT/type_raw")"
expect_eq "statfs(/proc) inside is untouched" "$(stat -f -c %t /proc)" "$(cat "$OUT/type_proc")"
expect_eq "host /sys type unchanged afterwards" "$host_type" "$(stat -f -c %t /sys)"
expect_match "LD_PRELOAD keeps the old value first" "^libm\.so\.6:/.*libdriverfs-sysfs\.so$" "$(cat "$OUT/preload")"
expect_match "DRIVERFS_SOCKET" "^$RUN_TMP/driverfs-run\.[^/]+/control\.sock$" "$(cat "$OUT/socket")"
expect_eq "led0 max_brightness" 255 "$(cat "$OUT/max")"
expect_eq "led7 added through driverfsctl and DRIVERFS_SOCKET" 9 "$(cat "$OUT/max7")"
expect_eq "bus link" "../../../devices/platform/led0" "$(cat "$OUT/link")"
expect_eq "class link to the LED class device" "../../devices/platform/led0/leds/led0" "$(cat "$OUT/class_link")"
expect_eq "the demo's hwmon chip, through class/hwmon" hwmon "$(cat "$OUT/hwmon_name")"
expect_match "private /run/udev" "control" "$(cat "$OUT/run_udev")"
expect_nothing_left

# ---- signals ----------------------------------------------------------------------
# SIGTERM to driverfs-run reaches COMMAND, whose own exit status comes back.
# Not through drun: $! must be driverfs-run itself, not a subshell.
TMPDIR="$RUN_TMP" "$DRIVERFS_RUN" -- sh -c 'trap "exit 42" TERM; echo ready > "$OUT/ready"; while :; do sleep 0.05; done' &
pid=$!
wait_for_file "$OUT/ready" 60
kill -TERM "$pid"
wait "$pid"; expect_eq "SIGTERM handled by COMMAND: status" 42 "$?"
expect_nothing_left
rm -f "$OUT/ready"
# A COMMAND that does not handle it dies of it: 128 + 15.
TMPDIR="$RUN_TMP" "$DRIVERFS_RUN" -- sh -c 'echo ready > "$OUT/ready"; exec sleep 600' &
pid=$!
wait_for_file "$OUT/ready" 60
# `exec sleep` replaces sh; wait until it has so the signal meets sleep.
for ((i = 0; i < 600; i++)); do
    [[ -n "$(ps -o args= --ppid "$pid" | grep -x 'sleep 600')" ]] && break
    sleep 0.05
done
((i < 600)) || fail "COMMAND did not become 'sleep 600' within 30 s"
kill -TERM "$pid"
wait "$pid"; expect_eq "SIGTERM kills COMMAND: status" 143 "$?"
expect_nothing_left
