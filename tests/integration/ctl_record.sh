#!/usr/bin/env bash
# ctl_record: `driverfsctl record` against this machine's /sys (lo, mem/null,
# cpu0, a tty): paths, bus/class, attribute names equal to the readable files,
# values equal for the stable ones, devnum of null, no subsystem attribute,
# --no-parents; its usage errors; and, on a test tree of our own
# (DRIVERFS_RECORD_SYSFS), a FIFO whose read blocks is abandoned at the 2 s
# bound, write-only and too-large files are skipped and counted, the udev
# database (DRIVERFS_RECORD_UDEV_DATA) is read. Needs no daemon.
set -u
CTL=${DRIVERFSCTL:?DRIVERFSCTL is not set (tests/integration/meson.build sets it)}
PY=${SYS_PYTHON:-/usr/bin/python3}
TEST_NAME=ctl_record
WORK=$(mktemp -d /tmp/ctl_record.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
failed=0
fail() { echo "FAIL [$TEST_NAME]: $*" >&2; failed=1; }
pass() { echo "ok [$TEST_NAME]: $*"; }

# ---- usage errors -------------------------------------------------------------
"$CTL" record 2>"$WORK/err"; rc=$?
[[ $rc == 2 ]] && grep -q "no SYSPATH" "$WORK/err" && pass "no SYSPATH: 2" || fail "no SYSPATH: status $rc: $(cat "$WORK/err")"
"$CTL" record --bogus /sys/class/net/lo 2>"$WORK/err"; rc=$?
[[ $rc == 2 ]] && grep -q "unknown option '--bogus'" "$WORK/err" && pass "unknown option: 2" || fail "unknown option: status $rc"
"$CTL" record /sys/class >"$WORK/out" 2>"$WORK/err"; rc=$?
[[ $rc == 1 && ! -s "$WORK/out" ]] && grep -q "not a device" "$WORK/err" && pass "not a device: 1, nothing printed" ||
    fail "/sys/class: status $rc: $(cat "$WORK/err")"
"$CTL" record /sys/class/net/lo /nonexistent >"$WORK/out" 2>"$WORK/err"; rc=$?
[[ $rc == 1 && ! -s "$WORK/out" ]] && grep -q "/nonexistent: No such file" "$WORK/err" && pass "missing path: 1" ||
    fail "/nonexistent: status $rc: $(cat "$WORK/err")"
"$CTL" record --help | grep -q "given 2 seconds" && pass "--help says the read bound" || fail "--help does not say the read bound"

# ---- this machine's devices -----------------------------------------------------
tty=/sys/class/tty/ttyS0
[[ -e $tty ]] || tty=/sys/class/tty/tty
devs=(/sys/class/net/lo /sys/class/mem/null /sys/devices/system/cpu/cpu0 "$tty")
"$CTL" record "${devs[@]}" >"$WORK/all.json" 2>"$WORK/err"; rc=$?
[[ $rc == 0 ]] && pass "record ${devs[*]}: 0" || fail "record: status $rc: $(cat "$WORK/err")"
grep -Eq "^recorded [0-9]+ devices, [0-9]+ attributes; skipped [0-9]+ files" "$WORK/err" &&
    pass "summary: $(cat "$WORK/err")" || fail "no summary line: $(cat "$WORK/err")"

"$PY" - "$WORK/all.json" "${devs[@]}" <<'PYEOF' || failed=1
import base64, json, os, re, signal, stat, sys

doc = json.load(open(sys.argv[1]))
devices = {d["path"]: d for d in doc["devices"]}
order = [d["path"] for d in doc["devices"]]
bad = []

# Values that change between our read and record's: counters and clocks.
VOLATILE = re.compile(r"(^|/)statistics/|power/runtime_(active|suspended)_time$|(^|/)cpuidle/|cur_freq$"
                      r"|(^|/)(time|usage|above|below|rejected)$|thermal_throttle/|carrier_(changes|up_count|down_count)$"
                      r"|(^|/)irq_?count|(^|/)stats?/")

def is_device(d):
    return os.path.isfile(os.path.join(d, "uevent"))

def read_with_deadline(path):
    # A sysfs read may block; give up as record does.
    signal.alarm(2)
    try:
        with open(path, "rb") as f:
            return f.read(65537)
    except OSError:
        return None
    finally:
        signal.alarm(0)

signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(OSError("timeout")))

def expected_files(dev):
    out = {}
    for dirpath, dirnames, filenames in os.walk(dev, followlinks=False):
        dirnames[:] = [n for n in dirnames
                       if not os.path.islink(os.path.join(dirpath, n)) and not is_device(os.path.join(dirpath, n))]
        rel = os.path.relpath(dirpath, dev)
        for n in filenames:
            full = os.path.join(dirpath, n)
            name = n if rel == "." else rel + "/" + n
            st = os.lstat(full)
            if not stat.S_ISREG(st.st_mode) or name in ("uevent", "dev"):
                continue
            if not st.st_mode & 0o444:
                continue
            data = read_with_deadline(full)
            if data is not None and len(data) <= 65536:
                out[name] = (data, st.st_mode & 0o666)
    return out

def value_of(v):
    if isinstance(v, str):
        return v.encode(), 0o444
    if "base64" in v:
        return base64.b64decode(v["base64"]), int(v["mode"], 8)
    return v["value"].encode(), int(v["mode"], 8)

for arg in sys.argv[2:]:
    real = os.path.realpath(arg)
    path = os.path.relpath(real, "/sys")
    d = devices.get(path)
    if d is None:
        bad.append(f"{arg}: no device {path}")
        continue
    target = os.readlink(os.path.join(real, "subsystem"))
    kind = target.split("/")[-2]
    if d.get(kind) != os.path.basename(target):
        bad.append(f"{path}: {kind} should be {os.path.basename(target)}, got {d}")
    if os.path.islink(os.path.join(real, "driver")) and d.get("driver") != os.path.basename(os.readlink(os.path.join(real, "driver"))):
        bad.append(f"{path}: driver differs")
    attrs = d.get("attributes", {})
    if "subsystem" in attrs or "subsystem" in d.get("links", {}) or "driver" in d.get("links", {}):
        bad.append(f"{path}: subsystem/driver recorded as attribute or link")
    exp = expected_files(real)
    if set(exp) != set(attrs):
        bad.append(f"{path}: attribute names differ: only real {sorted(set(exp) - set(attrs))[:10]}, "
                   f"only recorded {sorted(set(attrs) - set(exp))[:10]}")
    checked = 0
    for name in set(exp) & set(attrs):
        data, mode = value_of(attrs[name])
        if mode != exp[name][1]:
            bad.append(f"{path}/{name}: mode {mode:o}, real {exp[name][1]:o}")
        if not VOLATILE.search(name):
            checked += 1
            if data != exp[name][0]:
                bad.append(f"{path}/{name}: {data[:60]!r} != real {exp[name][0][:60]!r}")
    print(f"ok [ctl_record]: {path}: {len(attrs)} attributes, {checked} stable values compared")
    # Every ancestor that is a device is there, before it.
    p = os.path.dirname(real)
    while p != "/sys/devices":
        rp = os.path.relpath(p, "/sys")
        if is_device(p) and (rp not in devices or order.index(rp) > order.index(path)):
            bad.append(f"{path}: ancestor {rp} missing or after it")
        p = os.path.dirname(p)

null = devices.get(os.path.relpath(os.path.realpath("/sys/class/mem/null"), "/sys"), {})
if null.get("devnum") != {"type": "char", "major": 1, "minor": 3} or null.get("devnode") != "null":
    bad.append(f"mem/null: devnum/devnode {null.get('devnum')} {null.get('devnode')}")
lo = devices.get("devices/virtual/net/lo", {})
if lo.get("properties", {}).get("INTERFACE") != "lo":
    bad.append(f"lo: INTERFACE property missing: {lo.get('properties')}")
for b in bad:
    print("FAIL [ctl_record]:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PYEOF

"$CTL" record --no-parents "$tty" >"$WORK/one.json" 2>"$WORK/err" &&
    "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))["devices"]; sys.exit(0 if len(d)==1 else 1)' "$WORK/one.json" &&
    pass "--no-parents: one device" || fail "--no-parents: not one device: $(cat "$WORK/err")"

# A child named before its parent still comes after it.
"$CTL" record --no-parents /sys/devices/system/cpu/cpu0 /sys/devices/system/cpu >"$WORK/two.json" 2>/dev/null
"$PY" - "$WORK/two.json" /sys/devices/system/cpu/cpu0 <<'PYEOF' && pass "child named first: parent still first" || fail "child named first: wrong order"
import json, sys
d = json.load(open(sys.argv[1]))["devices"]
sys.exit(0 if len(d) == 2 and "/sys/" + d[1]["path"] == sys.argv[2] else 1)
PYEOF

# ---- a tree of our own: blocking, write-only, too large, udev data --------------
S=$WORK/sys
mkdir -p "$S/devices/fake/grp" "$S/devices/fake/child" "$S/class/fakeclass" "$WORK/udev"
printf 'MAJOR=10\nMINOR=7\nDEVNAME=fake0\nDEVTYPE=thing\n' > "$S/devices/fake/uevent"
printf 'x\n' > "$S/devices/fake/name"
printf 'y\n' > "$S/devices/fake/grp/inner"; chmod 0644 "$S/devices/fake/grp/inner"
printf 'a\0b' > "$S/devices/fake/bin"; chmod 0444 "$S/devices/fake/bin"
printf 'w' > "$S/devices/fake/wo"; chmod 0200 "$S/devices/fake/wo"
head -c 70000 /dev/zero > "$S/devices/fake/big"
mkfifo "$S/devices/fake/slow"
printf '' > "$S/devices/fake/child/uevent"; printf 'no\n' > "$S/devices/fake/child/hidden"
ln -s ../../class/fakeclass "$S/devices/fake/subsystem"
ln -s ../other "$S/devices/fake/peer"
ln -s ../../devices/fake "$S/class/fakeclass/fake0"
printf 'E:ID_FOO=bar\nS:fake/by-id/x\nG:uaccess\nQ:uaccess\nI:123\nL:0\n' > "$WORK/udev/c10:7"
start=$(date +%s.%N)
DRIVERFS_RECORD_SYSFS=$S DRIVERFS_RECORD_UDEV_DATA=$WORK/udev timeout 30 "$CTL" record --verbose "$S/class/fakeclass/fake0" \
    >"$WORK/fake.json" 2>"$WORK/err"; rc=$?
took=$("$PY" -c "import sys; print(round($(date +%s.%N) - $start, 1))")
[[ $rc == 0 ]] && pass "test tree: 0 after ${took}s" || fail "test tree: status $rc: $(cat "$WORK/err")"
"$PY" -c "import sys; sys.exit(0 if 1.5 <= $took <= 10 else 1)" && pass "blocking read abandoned at the bound (${took}s)" ||
    fail "blocking FIFO: took ${took}s (expected about 2)"
grep -q "slow: timeout" "$WORK/err" && grep -q "wo: write-only" "$WORK/err" && grep -q "big: too large" "$WORK/err" &&
    pass "--verbose names each skipped file" || fail "--verbose: $(cat "$WORK/err")"
grep -q "^recorded 1 device, 3 attributes; skipped 3 files: 1 timeout, 1 too large, 1 write-only$" "$WORK/err" &&
    pass "summary counts the reasons" || fail "summary: $(cat "$WORK/err")"
"$PY" - "$WORK/fake.json" <<'PYEOF' || failed=1
import json, sys
d = json.load(open(sys.argv[1]))["devices"]
want = [{
    "path": "devices/fake", "class": "fakeclass",
    "devnum": {"type": "char", "major": 10, "minor": 7}, "devnode": "fake0",
    "properties": {"DEVTYPE": "thing"},
    "udev": {"ID_FOO": "bar", "TAGS": ":uaccess:", "CURRENT_TAGS": ":uaccess:", "USEC_INITIALIZED": "123"},
    "devlinks": ["/dev/fake/by-id/x"],
    "attributes": {"name": {"value": "x\n", "mode": "0644"}, "grp/inner": {"value": "y\n", "mode": "0644"},
                   "bin": {"base64": "YQBi", "mode": "0444"}},
    "links": {"peer": "../other"},
}]
if d != want:
    print("FAIL [ctl_record]: test tree:\n", json.dumps(d, indent=1), "\nwanted\n", json.dumps(want, indent=1), file=sys.stderr)
    sys.exit(1)
print("ok [ctl_record]: test tree recorded as expected")
PYEOF
# The killed reader of the FIFO is reaped before record exits (only one stuck
# in the kernel would be left behind), so nothing of ours holds the FIFO.
grep -q "still blocked" "$WORK/err" && fail "the FIFO's reader was not reaped: $(cat "$WORK/err")"
if command -v fuser >/dev/null && fuser "$S/devices/fake/slow" 2>/dev/null | grep -q '[0-9]'; then
    fail "a reader still has the FIFO open"
fi
if [[ $(id -u) != 0 ]]; then
    printf 's' > "$S/devices/fake/secret"; chmod 0400 "$S/devices/fake/secret"; rm -f "$S/devices/fake/slow"
    chmod 0000 "$S/devices/fake/secret"
    DRIVERFS_RECORD_SYSFS=$S "$CTL" record "$S/devices/fake" >/dev/null 2>"$WORK/err"
    grep -q "1 EACCES" "$WORK/err" && pass "EACCES counted" || fail "EACCES: $(cat "$WORK/err")"
fi
exit $failed
