#!/usr/bin/env bash
# declared.sh: devices described rather than coded (issue 11), against
# umockdev on the same devices, in the same run.
#
#   bench/declared.sh BUILD_DIR [--devices N] [--reps R] [--quick]
#
# 1. Makes one description of N devices (default 10000: N/10 platform
#    devices, each with 9 class devices below it, 4 text attributes each) in
#    both forms, JSON and .umockdev, and times, R times (default 3),
#    interleaved:
#      apply     `driverfsctl apply` of the JSON into a running driverfsd;
#      run       `driverfs-run --device FILE.json -- true` (a fresh daemon,
#                mount, apply, teardown);
#      umockdev  `umockdev-run -d FILE.umockdev -- true` (umockdev's testbed
#                of the same devices), the baseline; in the first repetition
#                only (it takes 18 s for 2,000 devices here).
#    Every apply is checked: N uevent files in the tree afterwards.
# 2. Records this machine's /sys/devices with `driverfsctl record` and with
#    `umockdev-record --all`: time, devices, files skipped; then replays each
#    recording once (driverfs-run and umockdev-run) and times that.
# --quick: 200 devices, one repetition (the meson smoke test).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

die() { echo "declared: FAIL: $*" >&2; exit 1; }

[[ $# -ge 1 && $1 != -* ]] || die "usage: $0 BUILD_DIR [--devices N] [--reps R] [--quick]"
BUILD=$(cd "$1" && pwd) || die "no build dir $1"
shift
N=10000 REPS=3 QUICK=0
while [[ $# -gt 0 ]]; do
    case $1 in
    --devices) N=$2; shift ;;
    --reps) REPS=$2; shift ;;
    --quick) N=200 REPS=1 QUICK=1 ;;
    *) die "unknown argument $1" ;;
    esac
    shift
done
DRIVERFSD="$BUILD/src/daemon/driverfsd"
DRIVERFSCTL="$BUILD/src/cli/driverfsctl"
DRIVERFS_RUN="$BUILD/src/run/driverfs-run"
for b in "$DRIVERFSD" "$DRIVERFSCTL" "$DRIVERFS_RUN"; do
    [[ -x $b ]] || die "$b is missing: build it first (ninja -C $BUILD)"
done
for t in fusermount3 umockdev-run umockdev-record python3; do
    command -v "$t" >/dev/null || die "$t is not installed"
done
[[ -c /dev/fuse ]] || die "/dev/fuse is missing"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/declared.XXXXXX")
MNT=$(mktemp -d "${TMPDIR:-/tmp}/declared-mnt.XXXXXX")
PID=""
cleanup() {
    local rc=$?
    set +e
    stop_daemon "$PID" "$MNT"
    rmdir "$MNT" 2>/dev/null
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }

python3 - "$N" "$WORK/devs.json" "$WORK/devs.umockdev" <<'PY'
import json, sys
n, jpath, upath = int(sys.argv[1]), sys.argv[2], sys.argv[3]
devices, dump = [], []
def add(path, kind, sub, attrs):
    d = {"path": path, kind: sub, "attributes": attrs}
    devices.append(d)
    lines = [f"P: /{path}", f"E: SUBSYSTEM={sub}"]
    lines += [f"A: {k}={v.rstrip(chr(10))}\\n" for k, v in attrs.items()]
    dump.append("\n".join(lines))
parents = max(1, n // 10)
for p in range(parents):
    base = f"devices/platform/bench{p}"
    add(base, "bus", "platform", {f"a{k}": f"{p * 10 + k}\n" for k in range(4)})
    for c in range(9):
        if len(devices) >= n:
            break
        add(f"{base}/benchclass/bench{p}c{c}", "class", "benchclass",
            {f"a{k}": f"{p}:{c}:{k}\n" for k in range(4)})
json.dump({"devices": devices[:n]}, open(jpath, "w"))
# umockdev-record writes a device before its parents; either order replays.
open(upath, "w").write("\n\n".join(dump[:n]) + "\n")
PY
echo "declared: $N devices, $REPS repetitions; JSON $(stat -c %s "$WORK/devs.json") bytes, .umockdev $(stat -c %s "$WORK/devs.umockdev") bytes"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

apply_once() {
    "$DRIVERFSD" -f --control "$WORK/ctl.sock" "$MNT" 2>"$WORK/daemon.log" &
    PID=$!
    local i
    for ((i = 0; i < 200; i++)); do
        [[ -S $WORK/ctl.sock ]] && awk -v m="$MNT" '$2 == m { f = 1 } END { exit !f }' /proc/self/mounts && break
        kill -0 "$PID" 2>/dev/null || die "driverfsd exited before mounting: $(cat "$WORK/daemon.log")"
        sleep 0.05
    done
    local t0 t1
    t0=$(now)
    "$DRIVERFSCTL" --socket "$WORK/ctl.sock" apply "$WORK/devs.json" >/dev/null || die "apply failed"
    t1=$(now)
    local got
    got=$(find "$MNT/devices/platform" -name uevent | grep -c /bench) || true
    [[ $got -eq $N ]] || die "after apply the tree has $got bench uevent files, not $N"
    fusermount3 -u "$MNT"
    wait "$PID" || die "driverfsd exited with status $? after fusermount3 -u"
    PID=""
    elapsed "$t0" "$t1"
}

timed() {
    local t0 t1
    t0=$(now)
    "$@" >"$WORK/cmd.log" 2>&1 || die "$* failed: $(tail -5 "$WORK/cmd.log")"
    t1=$(now)
    elapsed "$t0" "$t1"
}

: >"$WORK/raw"
# record KEY CMD...: CMD prints seconds; a failure inside $(...) would only
# end the subshell, so its status is checked here.
record() {
    local key=$1 t
    shift
    t=$("$@") || exit 1
    echo "$key $t" >>"$WORK/raw"
}
for ((r = 0; r < REPS; r++)); do
    record apply apply_once
    record run timed "$DRIVERFS_RUN" --device "$WORK/devs.json" -- true
    [[ $r -ne 0 ]] || record umockdev timed umockdev-run -d "$WORK/devs.umockdev" -- true
done

# This machine's /sys/devices, recorded both ways.
mapfile -t SYSDEVS < <(find /sys/devices -name uevent -printf '%h\n' | sort)
[[ $QUICK -eq 1 ]] && SYSDEVS=("${SYSDEVS[@]:0:20}")
t0=$(now)
"$DRIVERFSCTL" record "${SYSDEVS[@]}" >"$WORK/sys.json" 2>"$WORK/record.err" || die "driverfsctl record failed: $(cat "$WORK/record.err")"
t1=$(now)
echo "record $(elapsed "$t0" "$t1")" >>"$WORK/raw"
t0=$(now)
if [[ $QUICK -eq 1 ]]; then
    umockdev-record "${SYSDEVS[@]}" >"$WORK/sys.umockdev" 2>"$WORK/urecord.err" || die "umockdev-record failed"
else
    umockdev-record --all >"$WORK/sys.umockdev" 2>"$WORK/urecord.err" || die "umockdev-record --all failed"
fi
t1=$(now)
echo "umockdev-record $(elapsed "$t0" "$t1")" >>"$WORK/raw"
record replay timed "$DRIVERFS_RUN" --device "$WORK/sys.json" -- true
record replay-umockdev-file timed "$DRIVERFS_RUN" --device "$WORK/sys.umockdev" -- true
record umockdev-replay timed umockdev-run -d "$WORK/sys.umockdev" -- true

python3 - "$WORK/raw" "$N" "$WORK/sys.json" "$WORK/sys.umockdev" "$WORK/record.err" <<'PY'
import json, statistics, sys
raw, n, sysjson, sysum, recerr = sys.argv[1:]
t = {}
for line in open(raw):
    k, v = line.split()
    t.setdefault(k, []).append(float(v))
med = {k: statistics.median(v) for k, v in t.items()}
print(f"{n} described devices, medians of {len(t['apply'])}:")
print(f"  driverfsctl apply into a running daemon   {med['apply']:8.3f} s")
print(f"  driverfs-run --device FILE.json -- true    {med['run']:8.3f} s")
print(f"  umockdev-run -d FILE.umockdev -- true      {med['umockdev']:8.3f} s   (baseline, one run; driverfs-run {med['run'] / med['umockdev']:.3f}x)")
devs = len(json.load(open(sysjson))["devices"])
udevs = sum(1 for l in open(sysum) if l.startswith("P: "))
print(f"this machine's /sys/devices:")
print(f"  driverfsctl record       {med['record']:8.3f} s  {devs} devices; {open(recerr).read().strip().splitlines()[-1]}")
print(f"  umockdev-record --all    {med['umockdev-record']:8.3f} s  {udevs} devices")
print(f"  driverfs-run replay of the record           {med['replay']:8.3f} s")
print(f"  driverfs-run replay of the umockdev dump    {med['replay-umockdev-file']:8.3f} s")
print(f"  umockdev-run replay of the umockdev dump    {med['umockdev-replay']:8.3f} s")
PY
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
