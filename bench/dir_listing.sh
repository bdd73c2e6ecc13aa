#!/usr/bin/env bash
# dir_listing.sh: a big directory through driverfs against the same listing
# on tmpfs, in the same run.
#
#   bench/dir_listing.sh BUILD_DIR [--devices N] [--reps R] [--quick]
#
# Mounts driverfsd with the vbus plugin and N devices (DRIVERFS_VBUS_DEVICES,
# default 100000), so bus/vbus/devices holds N symlinks, and makes a tmpfs
# directory (under /dev/shm) with N symlinks of the same names and targets.
# Then, R times (default 5), interleaved: `ls -f` (names only: READDIR) and
# `ls -l` (every entry stat'ed: READDIRPLUS or LOOKUP+GETATTR) of both, each
# after dropping the kernel's caches (as root) so that every run asks the
# daemon; then `ls -l` again 1.5 s later without dropping them ("ls-l again":
# what the kernel kept, past the default 1 s timeouts, spares the daemon).
# Prints the median of each, the ratio driverfs/tmpfs, the daemon's
# RSS with the devices, and how long the daemon took to exit after
# `fusermount3 -u` (it unloads vbus and removes every device first).
# --quick: 2000 devices, one repetition (the meson smoke test).
#
# Every listing is checked: N entries, each name once. A failed mount, a
# wrong listing or a daemon that dies is a failure (exit 1) with its log.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

die() { echo "dir_listing: FAIL: $*" >&2; exit 1; }

[[ $# -ge 1 && $1 != -* ]] || die "usage: $0 BUILD_DIR [--devices N] [--reps R] [--quick]"
BUILD=$(cd "$1" && pwd) || die "no build dir $1"
shift
N=100000 REPS=5
while [[ $# -gt 0 ]]; do
    case $1 in
    --devices) N=$2; shift ;;
    --reps) REPS=$2; shift ;;
    --quick) N=2000 REPS=1 ;;
    *) die "unknown argument $1" ;;
    esac
    shift
done
DRIVERFSD="$BUILD/src/daemon/driverfsd"
VBUS_SO="$BUILD/plugins/vbus/vbus.so"
[[ -x $DRIVERFSD ]] || die "$DRIVERFSD is missing: build it first (ninja -C $BUILD)"
[[ -f $VBUS_SO ]] || die "$VBUS_SO is missing"
[[ -c /dev/fuse ]] || die "/dev/fuse is missing"
command -v fusermount3 >/dev/null || die "fusermount3 is not installed (package fuse3)"
[[ -d /dev/shm ]] || die "/dev/shm (a tmpfs) is missing"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dir_listing.XXXXXX")
chmod 0700 "$WORK"
mkdir -m 0700 "$WORK/plugins"
install -m 0644 "$VBUS_SO" "$WORK/plugins/vbus.so"
MNT=$(mktemp -d "${TMPDIR:-/tmp}/dir_listing-mnt.XXXXXX")
SHM=$(mktemp -d /dev/shm/dir_listing.XXXXXX)
PID=""

cleanup() {
    local rc=$?
    set +e
    stop_daemon "$PID" "$MNT"
    [[ $rc -ne 0 && -s $WORK/driverfsd.log ]] && { echo "----- driverfsd log (last 20 lines) -----" >&2; tail -20 "$WORK/driverfsd.log" >&2; }
    rmdir "$MNT" 2>/dev/null
    rm -rf "$WORK" "$SHM"
    exit "$rc"
}
trap cleanup EXIT
trap 'die interrupted' INT TERM

drop_caches() { [[ $(id -u) -ne 0 ]] || { sync; echo 3 >/proc/sys/vm/drop_caches; }; }
now() { date +%s.%N; }

t0=$(now)
DRIVERFS_VBUS_DEVICES=$N "$DRIVERFSD" -f --plugin-dir "$WORK/plugins" --control "$WORK/ctl.sock" \
    --load vbus "$MNT" 2>"$WORK/driverfsd.log" &
PID=$!
for ((i = 0; i < 600; i++)); do
    awk -v m="$MNT" '$2 == m && $3 == "fuse.driverfs" { f = 1 } END { exit !f }' /proc/self/mounts && break
    kill -0 "$PID" 2>/dev/null || die "the daemon exited before mounting"
    sleep 0.1
done
[[ -d $MNT/bus/vbus/devices ]] || die "no bus/vbus/devices after 60 s"
t_mount=$(now)
DIR="$MNT/bus/vbus/devices"
python3 - "$SHM" "$N" <<'EOF'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    os.symlink(f"../../../devices/vbus{i}", f"{d}/vbus{i}")
EOF
rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$PID/status")

check_listing() {  # DIR LABEL: N entries, none twice, from one listing
    local names count unique
    names=$(ls -f "$1" | grep -v '^\.\.\?$')
    count=$(wc -l <<<"$names")
    unique=$(sort -u <<<"$names" | wc -l)
    [[ $count -eq $N && $unique -eq $N ]] || die "$2: $count entries, $unique distinct, expected $N"
}
check_listing "$DIR" driverfs
check_listing "$SHM" tmpfs

RAW="$WORK/raw.txt"
: >"$RAW"
time_one() {  # LABEL CMD... (drops the caches first unless LABEL ends in "again")
    local label=$1 t1 t2
    shift
    [[ $label == *again ]] || drop_caches
    t1=$(now)
    "$@" >/dev/null
    t2=$(now)
    echo "$label $t1 $t2" >>"$RAW"
}
echo "dir_listing: $N entries, $REPS repetitions, load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((r = 1; r <= REPS; r++)); do
    time_one "driverfs:ls-f" ls -f "$DIR"
    time_one "tmpfs:ls-f" ls -f "$SHM"
    time_one "driverfs:ls-l" ls -l "$DIR"
    sleep 1.5
    time_one "driverfs:ls-l-again" ls -l "$DIR"
    time_one "tmpfs:ls-l" ls -l "$SHM"
    sleep 1.5
    time_one "tmpfs:ls-l-again" ls -l "$SHM"
done
kill -0 "$PID" 2>/dev/null || die "the daemon died during the listings"

t_umount=$(now)
fusermount3 -u "$MNT" || die "fusermount3 -u failed"
wait "$PID" || die "the daemon exited with status $? after fusermount3 -u"
PID=""
t_exit=$(now)

python3 - "$RAW" "$N" "$REPS" "$rss_kb" "$t0" "$t_mount" "$t_umount" "$t_exit" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF'
import statistics, sys
raw, n, reps, rss_kb, t0, t_mount, t_umount, t_exit, load = sys.argv[1:]
t_mount, t_exit = float(t_mount) - float(t0), float(t_exit) - float(t_umount)
times = {}
for line in open(raw):
    label, start, end = line.split()
    times.setdefault(label, []).append(float(end) - float(start))
med = {k: statistics.median(v) for k, v in times.items()}
print(f"{n} entries, medians of {reps}; load average after {load}")
print(f"{'listing':<10} {'driverfs s':>11} {'tmpfs s':>9} {'x tmpfs':>8}")
for op in ("ls-f", "ls-l", "ls-l-again"):
    d, t = med[f"driverfs:{op}"], med[f"tmpfs:{op}"]
    print(f"{op:<10} {d:>11.3f} {t:>9.3f} {d / t:>8.2f}")
print(f"daemon: mounted with {n} devices in {t_mount:.2f} s, RSS {int(rss_kb) / 1024:.0f} MiB;"
      f" exit {t_exit:.2f} s after fusermount3 -u")
EOF
