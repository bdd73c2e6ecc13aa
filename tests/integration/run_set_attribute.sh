#!/usr/bin/env bash
# run_set_attribute: `driverfsctl set-attribute` changes a recorded value as
# hardware would, under a read-only file. A described hwmon chip (no plugin)
# replayed with driverfs-run: `sensors` (unmodified) shows 45.0 C; a poller of
# temp1_input (open, read, poll for POLLPRI, as for sysfs_notify) wakes when
# the value is set to 61500 (named through /sys/class/hwmon, a link); `sensors`
# then shows 61.5 C while the file stays 0444. -n stores no newline; refusals name the file: ENOENT for nothing
# there, EINVAL for the core's uevent and for a directory; a missing VALUE is
# a usage error.
source "$(dirname "$0")/run_common.sh"
run_setup
command -v sensors >/dev/null || fail "sensors is not installed (apt-get install lm-sensors)"

cat > "$WORK/chip.json" <<'JSON'
{"devices": [
  {"path": "devices/platform/coretemp.0", "bus": "platform", "driver": "coretemp"},
  {"path": "devices/platform/coretemp.0/hwmon/hwmon3", "class": "hwmon",
   "attributes": {"name": "coretemp\n", "temp1_input": "45000\n", "temp1_label": "Package id 0\n",
                  "temp1_max": "80000\n"},
   "links": {"device": "../../../coretemp.0"}}
]}
JSON

cat > "$WORK/poll.py" <<'PY'
# Arm a poll on the file (read it first, as sysfs wants), say so, then wait
# for the change: what woke it and the value read after seeking back.
import os, select, sys
path, ready, out = sys.argv[1:4]
fd = os.open(path, os.O_RDONLY)
os.read(fd, 4096)
open(ready, "w").close()
p = select.poll()
p.register(fd, select.POLLPRI | select.POLLERR)
events = p.poll(60000)
os.lseek(fd, 0, os.SEEK_SET)
with open(out, "w") as f:
    f.write("woken" if any(e & select.POLLPRI for _, e in events) else "not woken")
    f.write(" " + os.read(fd, 4096).decode().strip() + "\n")
PY

cat > "$WORK/inner.sh" <<'INNER'
source "$INNER_LIB_FILE"
chip=/sys/devices/platform/coretemp.0/hwmon/hwmon3
sensors > "$OUT/before" 2>&1 || echo "sensors failed" >> "$OUT/errors"
"$SYS_PYTHON" "$WORK/poll.py" "$chip/temp1_input" "$OUT/armed" "$OUT/poll" &
poller=$!
for ((i = 0; i < 1200; i++)); do [[ -e "$OUT/armed" ]] && break; sleep 0.05; done
[[ -e "$OUT/armed" ]] || echo "the poller did not arm" >> "$OUT/errors"
driverfsctl set-attribute /sys/class/hwmon/hwmon3/temp1_input 61500 > "$OUT/set" 2>&1 || echo "set-attribute failed: $(cat "$OUT/set")" >> "$OUT/errors"
wait "$poller" || echo "the poller failed" >> "$OUT/errors"
sensors > "$OUT/after" 2>&1 || echo "sensors after the change failed" >> "$OUT/errors"
stat -c %a "$chip/temp1_input" > "$OUT/mode"
driverfsctl --json set-attribute -n devices/platform/coretemp.0/hwmon/hwmon3/temp1_label CPU > "$OUT/json" 2>&1
od -An -c "$chip/temp1_label" | tr -s ' ' > "$OUT/label"
driverfsctl set-attribute devices/platform/coretemp.0/hwmon/hwmon3/nosuch 1 > "$OUT/enoent" 2>&1
echo "status $?" >> "$OUT/enoent"
driverfsctl set-attribute /sys/devices/platform/coretemp.0/uevent x > "$OUT/uevent" 2>&1
echo "status $?" >> "$OUT/uevent"
driverfsctl set-attribute devices/platform/coretemp.0/hwmon/hwmon3 5 > "$OUT/dir" 2>&1
echo "status $?" >> "$OUT/dir"
driverfsctl set-attribute "$chip/temp1_max" > "$OUT/usage" 2>&1
echo "status $?" >> "$OUT/usage"
[[ ! -s "$OUT/errors" ]]
INNER
WORK="$WORK" drun --device "$WORK/chip.json" -- bash "$WORK/inner.sh"
inner_status "set-attribute" "$?"

expect_match "sensors before: the recorded 45.0 C" "Package id 0: +\+45\.0.C" "$(cat "$OUT/before")"
expect_eq "the poller woke with the new value" "woken 61500" "$(cat "$OUT/poll")"
expect_match "sensors after: 61.5 C" "Package id 0: +\+61\.5.C" "$(cat "$OUT/after")"
expect_eq "the file is still read-only" 444 "$(cat "$OUT/mode")"
expect_eq "--json: the path and the bytes stored" '{"bytes":3,"path":"devices/platform/coretemp.0/hwmon/hwmon3/temp1_label"}' \
    "$(cat "$OUT/json")"
expect_eq "-n: no newline" " C P U" "$(cat "$OUT/label")"
expect_match "nothing there: ENOENT" "no such file in the tree \(ENOENT\)"$'\n'"status 1" "$(cat "$OUT/enoent")"
expect_match "the core's uevent: EINVAL" "uevent: not a recorded attribute.*\(EINVAL\)"$'\n'"status 1" "$(cat "$OUT/uevent")"
expect_match "a directory: EINVAL" "hwmon3: not a recorded attribute.*\(EINVAL\)"$'\n'"status 1" "$(cat "$OUT/dir")"
expect_match "no VALUE: usage" "usage: driverfsctl set-attribute PATH VALUE"$'.*\n'"status 2" "$(cat "$OUT/usage")"
expect_nothing_left
