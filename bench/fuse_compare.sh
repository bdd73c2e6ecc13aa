#!/usr/bin/env bash
# fuse_compare.sh: driverfs against the FUSE floor, in the same run.
#
#   bench/fuse_compare.sh BUILD_DIR [--quick] [--reps N] [--seconds S]
#                         [--json FILE] [--tuning]
#
# Mounts, each in a fresh private temp dir:
#   baseline        build/bench/baseline_fs: one constant file `value` ("255\n")
#   baseline+flush  the same answering FLUSH (driverfsd answers it; the
#                   minimal daemon does not, so the kernel stops sending it)
#   driverfs        build/src/daemon/driverfsd, led plugin loaded from a private
#                   0700 copy of build/plugins/led/led.so, device led0; the file
#                   read is devices/platform/led0/leds/led0/max_brightness
#                   (led0's LED class device)
#   cacheable       driverfsd with build/bench/bench_attrs.so, device
#                   bench_attrs0, reading its cacheable attribute `cached`
#                   (the same 4 bytes, served from the kernel page cache)
# and runs fuse_bench in both modes (openread, pread) with 1 and 2 threads,
# interleaved, REPS times SECONDS each (default 3 x 2 s). --tuning adds
# driverfsd (and baseline_fs) with libfuse loop options (max_idle_threads,
# max_threads, clone_fd), driverfsd with entry/attr timeouts of 0 and 60 s and
# driverfsd with glibc's default malloc arenas, measured with 2 threads.
# Prints medians and the ratio to the baseline;
# writes every raw figure as JSON (default $TMPDIR/fuse_compare.json) for
# bench/plot.sh. --quick: one run of 0.2 s each (the meson smoke test).
#
# Every mount is undone on every exit path. A failed mount, a failed read or a
# daemon that dies is a failure (exit 1) with the daemon's log.
set -euo pipefail

die() { echo "fuse_compare: FAIL: $*" >&2; exit 1; }

[[ $# -ge 1 && $1 != -* ]] || die "usage: $0 BUILD_DIR [--quick] [--reps N] [--seconds S] [--json FILE] [--tuning]"
BUILD=$(cd "$1" && pwd) || die "no build dir $1"
shift
REPS=3 SECONDS_EACH=2 JSON="${TMPDIR:-/tmp}/fuse_compare.json" TUNING=0
while [[ $# -gt 0 ]]; do
    case $1 in
    --quick) REPS=1 SECONDS_EACH=0.2 ;;
    --reps) REPS=$2; shift ;;
    --seconds) SECONDS_EACH=$2; shift ;;
    --json) JSON=$2; shift ;;
    --tuning) TUNING=1 ;;
    *) die "unknown argument $1" ;;
    esac
    shift
done

BASELINE_FS="$BUILD/bench/baseline_fs"
FUSE_BENCH="$BUILD/bench/fuse_bench"
DRIVERFSD="$BUILD/src/daemon/driverfsd"
LED_SO="$BUILD/plugins/led/led.so"
ATTRS_SO="$BUILD/bench/bench_attrs.so"
for f in "$BASELINE_FS" "$FUSE_BENCH" "$DRIVERFSD"; do [[ -x $f ]] || die "$f is missing: build it first (ninja -C $BUILD)"; done
[[ -f $LED_SO ]] || die "$LED_SO is missing"
[[ -f $ATTRS_SO ]] || die "$ATTRS_SO is missing: build it first (ninja -C $BUILD)"
[[ -c /dev/fuse ]] || die "/dev/fuse is missing"
command -v fusermount3 >/dev/null || die "fusermount3 is not installed (package fuse3)"
command -v python3 >/dev/null || die "python3 is needed for the medians and the JSON"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fuse_compare.XXXXXX")
chmod 0700 "$WORK"
PLUGINS="$WORK/plugins"
mkdir -m 0700 "$PLUGINS"
install -m 0644 "$LED_SO" "$PLUGINS/led.so"
install -m 0644 "$ATTRS_SO" "$PLUGINS/bench_attrs.so"

declare -A MNT PID TYPE FILE
LABELS=()

is_mounted() { awk -v m="$1" -v t="$2" '$2 == m && $3 == t { f = 1 } END { exit !f }' /proc/self/mounts; }

cleanup() {
    local rc=$? l
    set +e
    for l in "${LABELS[@]}"; do
        if is_mounted "${MNT[$l]}" "${TYPE[$l]}"; then
            fusermount3 -u "${MNT[$l]}" 2>/dev/null || fusermount3 -uz "${MNT[$l]}" 2>/dev/null
        fi
    done
    for l in "${LABELS[@]}"; do
        local i
        for ((i = 0; i < 50; i++)); do kill -0 "${PID[$l]}" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "${PID[$l]}" 2>/dev/null; then
            echo "fuse_compare: $l (pid ${PID[$l]}) still running after unmount: killing it" >&2
            kill -KILL "${PID[$l]}" 2>/dev/null
            rc=1
        fi
        wait "${PID[$l]}" 2>/dev/null
        rmdir "${MNT[$l]}" 2>/dev/null
    done
    if [[ $rc -ne 0 ]]; then
        for l in "${LABELS[@]}"; do
            [[ -s $WORK/$l.log ]] && { echo "----- $l log -----" >&2; cat "$WORK/$l.log" >&2; }
        done
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'die interrupted' INT TERM

wait_mounted() {  # LABEL
    local l=$1 i
    for ((i = 0; i < 100; i++)); do
        is_mounted "${MNT[$l]}" "${TYPE[$l]}" && return 0
        kill -0 "${PID[$l]}" 2>/dev/null || die "$l: the daemon exited before mounting ${MNT[$l]}"
        sleep 0.1
    done
    die "$l: ${MNT[$l]} did not show up as ${TYPE[$l]} within 10 s"
}

# mount_baseline LABEL [baseline_fs args...]
mount_baseline() {
    local l=$1; shift
    MNT[$l]=$(mktemp -d "${TMPDIR:-/tmp}/fuse_compare-mnt.XXXXXX")
    TYPE[$l]=fuse.baseline_fs
    "$BASELINE_FS" "$@" "${MNT[$l]}" 2>"$WORK/$l.log" &
    PID[$l]=$!
    LABELS+=("$l")
    wait_mounted "$l"
    FILE[$l]="${MNT[$l]}/value"
    [[ $(cat "${FILE[$l]}") == 255 ]] || die "$l: ${FILE[$l]} does not read 255"
}

# [DAEMON_ENV=VAR=VALUE] mount_driverfs LABEL PLUGIN [driverfsd args...]
mount_driverfs() {
    local l=$1 plugin=$2; shift 2
    MNT[$l]=$(mktemp -d "${TMPDIR:-/tmp}/fuse_compare-mnt.XXXXXX")
    TYPE[$l]=fuse.driverfs
    env ${DAEMON_ENV:+"$DAEMON_ENV"} "$DRIVERFSD" -f --plugin-dir "$PLUGINS" --control "$WORK/$l.sock" "$@" "${MNT[$l]}" 2>"$WORK/$l.log" &
    PID[$l]=$!
    LABELS+=("$l")
    wait_mounted "$l"
    echo "$plugin" >"${MNT[$l]}/control/load" || die "$l: cannot load $plugin"
    case $plugin in
    led)
        echo led0 >"${MNT[$l]}/bus/platform/new_device" || die "$l: cannot create led0"
        FILE[$l]="${MNT[$l]}/devices/platform/led0/leds/led0/max_brightness"
        ;;
    bench_attrs)
        echo bench_attrs0 >"${MNT[$l]}/bus/platform/new_device" || die "$l: cannot create bench_attrs0"
        FILE[$l]="${MNT[$l]}/devices/platform/bench_attrs0/cached"
        ;;
    esac
    [[ -n $(cat "${FILE[$l]}") ]] || die "$l: ${FILE[$l]} reads empty"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
mount_baseline baseline
mount_baseline baseline+flush --flush
mount_driverfs driverfs led
mount_driverfs cacheable bench_attrs
COMPARE=(baseline baseline+flush driverfs cacheable)
TUNE=()
if [[ $TUNING -eq 1 ]]; then
    mount_driverfs "driverfs:max_idle_threads=1" led -o max_idle_threads=1
    mount_driverfs "driverfs:max_idle_threads=2" led -o max_idle_threads=2
    mount_driverfs "driverfs:max_threads=2" led -o max_threads=2
    mount_driverfs "driverfs:max_threads=4" led -o max_threads=4
    mount_driverfs "driverfs:clone_fd" led -o clone_fd
    mount_driverfs "driverfs:timeouts=0" led -o entry_timeout=0,attr_timeout=0
    mount_driverfs "driverfs:timeouts=60" led -o entry_timeout=60,attr_timeout=60
    # driverfsd bounds malloc to two arenas per core; this one has glibc's
    # default, eight per core.
    DAEMON_ENV="MALLOC_ARENA_MAX=$((8 * $(nproc)))" mount_driverfs "driverfs:arenas=glibc" led
    mount_baseline "baseline:clone_fd" -o clone_fd
    mount_baseline "baseline:max_threads=2" -o max_threads=2
    TUNE=("driverfs:max_idle_threads=1" "driverfs:max_idle_threads=2" "driverfs:max_threads=2" "driverfs:max_threads=4"
        "driverfs:clone_fd" "driverfs:timeouts=0" "driverfs:timeouts=60" "driverfs:arenas=glibc" "baseline:clone_fd" "baseline:max_threads=2")
fi

RAW="$WORK/raw.txt"
: >"$RAW"
bench_one() {  # LABEL MODE THREADS REP
    local out
    out=$("$FUSE_BENCH" "${FILE[$1]}" --seconds "$SECONDS_EACH" --threads "$3" --mode "$2") ||
        die "$1: fuse_bench ${FILE[$1]} --mode $2 --threads $3 failed"
    kill -0 "${PID[$1]}" 2>/dev/null || die "$1: the daemon died"
    echo "label=$1 rep=$4 $out" >>"$RAW"
    [[ ${QUIET:-0} == 1 ]] || echo "  $1 rep $4: $out" >&2
}

echo "fuse_compare: $REPS x ${SECONDS_EACH}s per figure, load average before: $LOAD_BEFORE" >&2
# Warm-up (not recorded): first opens, thread creation in the daemons.
for l in "${COMPARE[@]}" "${TUNE[@]}"; do
    "$FUSE_BENCH" "${FILE[$l]}" --seconds 0.1 --threads 2 --mode openread >/dev/null || die "$l: warm-up read of ${FILE[$l]} failed"
done
for ((rep = 1; rep <= REPS; rep++)); do
    for mode in openread pread; do
        for threads in 1 2; do
            for l in "${COMPARE[@]}"; do bench_one "$l" "$mode" "$threads" "$rep"; done
            if [[ $threads -eq 2 ]]; then
                for l in "${TUNE[@]}"; do bench_one "$l" "$mode" 2 "$rep"; done
            fi
        done
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$RAW" "$JSON" "$REPS" "$SECONDS_EACH" "$LOAD_BEFORE" "$LOAD_AFTER" "$(nproc)" <<'EOF'
import json, statistics, sys, time
raw, out, reps, secs, lb, la, ncpu = sys.argv[1:]
runs = []
for line in open(raw):
    kv = dict(f.split("=", 1) for f in line.split())
    runs.append({"target": kv["label"], "mode": kv["mode"], "threads": int(kv["threads"]), "rep": int(kv["rep"]),
                 "ops": int(kv["ops"]), "seconds": float(kv["seconds"]), "ops_per_s": float(kv["ops_per_s"]),
                 "p50_us": float(kv["p50_us"]), "p99_us": float(kv["p99_us"])})
groups = {}
for r in runs:
    groups.setdefault((r["target"], r["mode"], r["threads"]), []).append(r)
med = []
for (t, m, n), rs in groups.items():
    med.append({"target": t, "mode": m, "threads": n, "runs": len(rs),
                "ops_per_s": statistics.median(r["ops_per_s"] for r in rs),
                "p50_us": statistics.median(r["p50_us"] for r in rs),
                "p99_us": statistics.median(r["p99_us"] for r in rs)})
base = {(m["mode"], m["threads"]): m["ops_per_s"] for m in med if m["target"] == "baseline"}
for m in med:
    b = base.get((m["mode"], m["threads"]))
    m["ratio_vs_baseline"] = round(m["ops_per_s"] / b, 3) if b else None
doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "nproc": int(ncpu), "reps": int(reps), "seconds": float(secs),
       "loadavg_before": lb, "loadavg_after": la, "runs": runs, "medians": med}
with open(out, "w") as f:
    json.dump(doc, f, indent=1)
print(f"medians of {reps} x {secs} s; load average before {lb}, after {la}; {ncpu} CPUs")
print(f"{'target':<28} {'mode':<9} {'thr':>3} {'ops/s':>9} {'p50 us':>8} {'p99 us':>8} {'x baseline':>10}")
for m in med:
    r = "" if m["ratio_vs_baseline"] is None else f"{m['ratio_vs_baseline']:.2f}"
    print(f"{m['target']:<28} {m['mode']:<9} {m['threads']:>3} {m['ops_per_s']:>9.0f} {m['p50_us']:>8.1f} {m['p99_us']:>8.1f} {r:>10}")
print(f"raw figures: {out}")
EOF
