#!/usr/bin/env bash
# run_declared: declarative devices (a description's "devices", no plugin)
# through driverfs-run --device: a pci-like hierarchy with a code-less
# driver, a class device with a device number, attributes in groups, a
# writable attribute (write, read back, poll() wakes as sysfs pollers wait),
# a binary attribute and links; `udevadm info -q all` and `udevadm info -a`
# see KERNEL, SUBSYSTEM, DRIVER, ATTR{}, the parent chain, E: lines with
# udev's own keys, N: and S:; /dev/null recorded from the real /sys gives
# the same `udevadm info -a` as the real one; bad descriptions are refused
# naming the key and the daemon goes on; a plugin driver (fx_pm) binding to
# a declarative device hides its recorded file of the same name until unbind;
# remove-device PATH takes the subtree.
source "$(dirname "$0")/run_common.sh"
run_setup
command -v udevadm >/dev/null || fail "udevadm is needed (package udev/systemd)"
install_plugin "$(fixture_file fx_pm)"

# The description. 'config' is binary (base64 of 86 80 48 a3).
cat > "$WORK/devices.json" <<'JSON'
{"devices": [
  {"path": "devices/pci0000:00", "properties": {}},
  {"path": "devices/pci0000:00/0000:00:1f.3", "bus": "pci", "driver": "snd_hda_intel",
   "properties": {"PCI_CLASS": "40300", "PCI_ID": "8086:A348", "MODALIAS": "pci:v00008086d0000A348"},
   "attributes": {"vendor": "0x8086\n", "device": "0xa348\n", "power/control": "on\n",
                  "label": {"value": "front\n", "mode": "0644"},
                  "config": {"base64": "hoBIow==", "mode": "0644"},
                  "msi_irqs/130": "msi\n"},
   "links": {"firmware_node": "../../LNXSYSTM:00"}},
  {"path": "devices/pci0000:00/0000:00:1f.3/sound/card0/controlC0", "class": "sound",
   "devnum": {"type": "char", "major": 116, "minor": 2}, "devnode": "snd/controlC0",
   "udev": {"ID_PATH": "pci-0000:00:1f.3", "ID_PATH_TAG": "pci-0000_00_1f_3"},
   "devlinks": ["/dev/snd/by-path/pci-0000:00:1f.3"],
   "links": {"device": "../../../0000:00:1f.3"}},
  {"path": "devices/LNXSYSTM:00", "bus": "acpi", "attributes": {"hid": "LNXSYSTM\n"}},
  {"path": "devices/platform/pm0", "bus": "platform",
   "attributes": {"pmlog": "recorded\n", "modalias": "platform:pm\n"}}
]}
JSON

# /dev/null recorded by hand from the real /sys, as `driverfsctl record` would.
/usr/bin/python3 - "$WORK/null.json" <<'PY' || fail "cannot record /sys/class/mem/null"
import json, os, sys
base = os.path.realpath("/sys/class/mem/null")
attrs, props = {}, {}
for root, dirs, files in os.walk(base):
    for f in files:
        rel = os.path.relpath(os.path.join(root, f), base)
        if rel in ("uevent", "dev"):
            continue
        try:
            with open(os.path.join(root, f)) as fh:
                attrs[rel] = fh.read()
        except OSError:
            pass  # unreadable on Linux (autosuspend_delay_ms): udevadm skips it too
major = minor = devnode = None
for line in open(os.path.join(base, "uevent")).read().splitlines():
    k, v = line.split("=", 1)
    if k == "MAJOR": major = int(v)
    elif k == "MINOR": minor = int(v)
    elif k == "DEVNAME": devnode = v
    else: props[k] = v
desc = {"devices": [{"path": os.path.relpath(base, "/sys"),
                     "class": os.path.basename(os.path.realpath(os.path.join(base, "subsystem"))),
                     "devnum": {"type": "char", "major": major, "minor": minor}, "devnode": devnode,
                     "properties": props, "attributes": attrs}]}
json.dump(desc, open(sys.argv[1], "w"))
PY
udevadm info -a -p /devices/virtual/mem/null > "$WORK/null_real" 2>&1 || fail "udevadm info -a on the real /sys failed"

# Bad descriptions, each refused with its key.
printf '%s' '{"devices": [{"path": "devices/x", "links": {"l": "/etc/passwd"}}]}' > "$WORK/bad_link.json"
printf '%s' '{"devices": [{"path": "devices/x", "bus": "pci", "class": "tty"}]}' > "$WORK/bad_both.json"
printf '%s' '{"devices": [{"path": "devices/x", "attributes": {"a": {"value": "1", "mode": "0777"}}}]}' > "$WORK/bad_mode.json"
printf '%s' '{"devices": [{"path": "devices/x/y"}, {"path": "devices/x"}]}' > "$WORK/bad_order.json"
printf '%s' '{"devices": [{"path": "devices/ok", "bus": "isa"}, {"path": "devices/y", "class": "mem", "devnum": {"type": "char", "major": 1, "minor": 3}}]}' > "$WORK/bad_late.json"
printf '%s' '{"devices": [{"path": "devices/x", "attributes": {"../escape": "1"}}]}' > "$WORK/bad_name.json"
python3 -c 'import json; print(json.dumps({"devices": [{"path": "devices/x", "attributes": {"big": "x" * 4097}}]}))' > "$WORK/bad_big.json"
printf '%s' '{"devices": [{"path": "devices/x", "links": {"l": "../../../.."}}]}' > "$WORK/bad_leave.json"
printf '%s' '{"devices": [{"path": "bus/x"}]}' > "$WORK/bad_where.json"
printf 'P: /devices/platform/u0\nE: SUBSYSTEM=platform\nA: ok=1\nZ: what\n' > "$WORK/bad_dump.json"
export WORK

# A refused --device: nothing runs, status 1, the key named.
drun --device "$WORK/bad_both.json" -- touch "$OUT/ran" 2> "$WORK/bad_run.err"
rc=$?
expect_eq "driverfs-run with a refused --device exits 1" 1 "$rc"
[[ ! -e "$OUT/ran" ]] || fail "COMMAND ran although --device was refused"
expect_match "driverfs-run names the key" '\$\.devices\[0\]\.class: a device has a bus or a class' "$(cat "$WORK/bad_run.err")"

cat > "$WORK/inner.sh" <<'INNER'
source "$INNER_LIB_FILE"
D=/devices/pci0000:00/0000:00:1f.3
C=$D/sound/card0/controlC0
udevadm info -q all -p $D > "$OUT/info_pci" 2>&1
udevadm info -q all -p $C > "$OUT/info_card" 2>&1
udevadm info -a -p $C > "$OUT/walk" 2>&1
udevadm info -a -p /devices/virtual/mem/null > "$OUT/null_served" 2>&1
cp /run/udev/data/c116:2 "$OUT/db_card" 2>>"$OUT/errors"
ls /sys$D/power > "$OUT/power_ls"
readlink /sys/dev/char/116:2 > "$OUT/devlink"
readlink /sys/class/sound/controlC0 > "$OUT/classlink"
readlink /sys/bus/pci/drivers/snd_hda_intel/0000:00:1f.3 > "$OUT/backlink"
ls /sys/bus/pci > "$OUT/bus_ls"
od -An -tx1 /sys$D/config | tr -s ' ' > "$OUT/config_bytes"
stat -c %a /sys$D/config /sys$D/label /sys$D/vendor > "$OUT/modes"
( echo x > /sys$D/vendor ) 2> "$OUT/ro_write" && echo "writing vendor worked" >> "$OUT/errors"

# A writable attribute: write, read back, and poll() wakes as for sysfs_notify.
/usr/bin/python3 - /sys$D/label > "$OUT/poll" 2>&1 <<'PY'
import os, select, subprocess, sys, time
path = sys.argv[1]
fd = os.open(path, os.O_RDONLY)
first = os.read(fd, 4096)
p = select.poll()
p.register(fd, select.POLLPRI | select.POLLERR)
idle = p.poll(200)
writer = subprocess.Popen(["sh", "-c", "sleep 0.3; echo rear > " + path])
start = time.monotonic()
ev = p.poll(10000)
writer.wait()
os.lseek(fd, 0, os.SEEK_SET)
second = os.read(fd, 4096)
print("first", first.decode().strip())
print("idle", len(idle))
print("woke", bool(ev) and bool(ev[0][1] & (select.POLLPRI | select.POLLERR)), "after", round(time.monotonic() - start, 1) < 9)
print("second", second.decode().strip())
PY

# Bad descriptions: refused naming the key, nothing of them applied, the daemon alive.
for b in bad_link bad_both bad_mode bad_order bad_late bad_name bad_big bad_leave bad_where bad_dump; do
    driverfsctl apply "$WORK/$b.json" > /dev/null 2> "$OUT/$b.err" && echo "$b was accepted" >> "$OUT/errors"
done
[[ -e /sys/devices/ok ]] && echo "devices/ok of a refused description stayed" >> "$OUT/errors"
[[ -e /sys/bus/isa ]] && echo "bus isa of a refused description stayed" >> "$OUT/errors"
[[ -e /sys/devices/x || -e /sys/devices/platform/u0 ]] && echo "a device of a refused description is there" >> "$OUT/errors"
driverfsctl ping > "$OUT/ping" 2>&1 || echo "daemon gone after bad descriptions" >> "$OUT/errors"
driverfsctl apply "$WORK/devices.json" > "$OUT/apply_again" 2>&1 || echo "applying again failed" >> "$OUT/errors"

# A plugin driver binds over a declarative device; its file hides the recorded one.
cat /sys/devices/platform/pm0/pmlog > "$OUT/pm_before"
driverfsctl load fx_pm > /dev/null 2>> "$OUT/errors"
readlink /sys/devices/platform/pm0/driver > "$OUT/pm_driver"
cat /sys/devices/platform/pm0/pmlog > "$OUT/pm_bound"
echo pm0 > /sys/bus/platform/drivers/pm/unbind
cat /sys/devices/platform/pm0/pmlog > "$OUT/pm_after"

# Removal by path: the device and what is below it.
driverfsctl remove-device /sys$D > /dev/null 2>> "$OUT/errors" || echo "remove-device $D failed" >> "$OUT/errors"
waitgone /run/udev/data/c116:2
[[ -e /sys$D || -e /sys/class/sound/controlC0 || -e /sys/dev/char/116:2 ]] && echo "$D left something" >> "$OUT/errors"
exit 0
INNER
drun --plugin-dir "$PLUGINS_COPY" --device "$WORK/devices.json" --device "$WORK/null.json" -- bash "$WORK/inner.sh"
inner_status "declarative devices session" "$?"
[[ ! -s "$OUT/errors" ]] || fail "inside the session: $(cat "$OUT/errors")"

expect_line "info -q all: path" "$OUT/info_pci" "P: /devices/pci0000:00/0000:00:1f.3"
expect_line "info -q all: bus" "$OUT/info_pci" "E: SUBSYSTEM=pci"
expect_line "info -q all: code-less driver" "$OUT/info_pci" "E: DRIVER=snd_hda_intel"
expect_line "info -q all: recorded property" "$OUT/info_pci" "E: PCI_ID=8086:A348"
expect_line "info -q all of the card: node" "$OUT/info_card" "N: snd/controlC0"
expect_line "info -q all of the card: devlink" "$OUT/info_card" "S: snd/by-path/pci-0000:00:1f.3"
expect_line "info -q all of the card: udev's key" "$OUT/info_card" "E: ID_PATH=pci-0000:00:1f.3"
expect_line "info -q all of the card: DEVLINKS" "$OUT/info_card" "E: DEVLINKS=/dev/snd/by-path/pci-0000:00:1f.3"
expect_line "info -q all of the card: class" "$OUT/info_card" "E: SUBSYSTEM=sound"
expect_line "info -q all of the card: major" "$OUT/info_card" "E: MAJOR=116"
expect_line "udev database: S: line" "$OUT/db_card" "S:snd/by-path/pci-0000:00:1f.3"
expect_line "udev database: E: line" "$OUT/db_card" "E:ID_PATH_TAG=pci-0000_00_1f_3"
expect_no_line "udev database: DEVLINKS only as S:" "$OUT/db_card" "^E:DEVLINKS"
expect_line "info -a: the card" "$OUT/walk" "  looking at device '/devices/pci0000:00/0000:00:1f.3/sound/card0/controlC0':"
expect_line "info -a: KERNEL" "$OUT/walk" '    KERNEL=="controlC0"'
expect_line "info -a: SUBSYSTEM" "$OUT/walk" '    SUBSYSTEM=="sound"'
expect_line "info -a: parent pci device" "$OUT/walk" "  looking at parent device '/devices/pci0000:00/0000:00:1f.3':"
expect_line "info -a: its bus" "$OUT/walk" '    SUBSYSTEMS=="pci"'
expect_line "info -a: its driver" "$OUT/walk" '    DRIVERS=="snd_hda_intel"'
expect_line "info -a: its attribute" "$OUT/walk" '    ATTRS{vendor}=="0x8086"'
expect_line "info -a: an attribute in a group" "$OUT/walk" '    ATTRS{power/control}=="on"'
expect_line "info -a: the host bridge" "$OUT/walk" "  looking at parent device '/devices/pci0000:00':"
expect_no_line "info -a: undescribed glue directories are no devices" "$OUT/walk" "looking at parent device '.*/sound(/card0)?'"
expect_eq "power/ holds what was recorded" "control" "$(cat "$OUT/power_ls")"
expect_eq "dev/char link" "../../devices/pci0000:00/0000:00:1f.3/sound/card0/controlC0" "$(cat "$OUT/devlink")"
expect_eq "class link" "../../devices/pci0000:00/0000:00:1f.3/sound/card0/controlC0" "$(cat "$OUT/classlink")"
expect_eq "driver's back link" "../../../../devices/pci0000:00/0000:00:1f.3" "$(cat "$OUT/backlink")"
expect_eq "a bus a description made is laid out as every bus" "delete_device devices drivers drivers_autoprobe drivers_probe new_device" \
    "$(sort "$OUT/bus_ls" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "binary attribute" " 86 80 48 a3" "$(head -1 "$OUT/config_bytes")"
expect_eq "modes" $'644\n644\n444' "$(cat "$OUT/modes")"
expect_match "read-only recorded attribute refuses a write" "Permission denied" "$(cat "$OUT/ro_write")"
expect_line "poll: first value" "$OUT/poll" "first front"
expect_line "poll: no event before the write" "$OUT/poll" "idle 0"
expect_line "poll: the write wakes the poller with POLLPRI|POLLERR" "$OUT/poll" "woke True after True"
expect_line "poll: the written value reads back" "$OUT/poll" "second rear"
expect_match "bad link refused naming the key" '\$\.devices\[0\]\.links\.l: .*must be relative' "$(cat "$OUT/bad_link.err")"
expect_match "bus and class refused naming the key" '\$\.devices\[0\]\.class: a device has a bus or a class, not both' "$(cat "$OUT/bad_both.err")"
expect_match "bad mode refused naming the key" '\$\.devices\[0\]\.attributes\.a\.mode: ' "$(cat "$OUT/bad_mode.err")"
expect_match "ancestor after descendant refused" '\$\.devices\[1\]\.path: .*must come before it' "$(cat "$OUT/bad_order.err")"
expect_match "a clash at apply is refused naming the device and undone" '\$\.devices\[1\]\.devnum: device number 1:3 is taken' "$(cat "$OUT/bad_late.err")"
expect_match "an attribute name with .. refused naming the key" '\$\.devices\[0\]\.attributes\.\.\./escape: ' "$(cat "$OUT/bad_name.err")"
expect_match "a value over a page refused naming the key" '\$\.devices\[0\]\.attributes\.big: .*at most 4096 bytes' "$(cat "$OUT/bad_big.err")"
expect_match "a link leaving the tree refused naming the key" '\$\.devices\[0\]\.links\.l: .*leaves the tree' "$(cat "$OUT/bad_leave.err")"
expect_match "a path outside devices/ refused naming the key" '\$\.devices\[0\]\.path: ' "$(cat "$OUT/bad_where.err")"
expect_match "a malformed .umockdev line refused naming the line" 'bad_dump\.json:4: ' "$(cat "$OUT/bad_dump.err")"
expect_match "applying twice is harmless" "already present:.*devices/pci0000:00/0000:00:1f.3" "$(cat "$OUT/apply_again")"
expect_eq "recorded pmlog before the plugin" "recorded" "$(cat "$OUT/pm_before")"
expect_eq "fx_pm binds to the declarative pm0" "../../../bus/platform/drivers/pm" "$(cat "$OUT/pm_driver")"
[[ "$(cat "$OUT/pm_bound")" != "recorded" ]] || fail "while bound, the driver's pmlog must hide the recorded one"
pass "while bound, the driver's pmlog hides the recorded one"
expect_eq "after unbind the recorded pmlog is back" "recorded" "$(cat "$OUT/pm_after")"
# The real /dev/null and the recorded one, as udevadm sees them.
diff "$WORK/null_real" "$OUT/null_served" > "$WORK/null_diff" || fail "udevadm info -a of mem/null differs from the real one:"$'\n'"$(cat "$WORK/null_diff")"
pass "udevadm info -a of mem/null: served = real /sys"
expect_nothing_left
