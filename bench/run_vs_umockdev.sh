#!/usr/bin/env bash
# run_vs_umockdev.sh: the cost of a simulated /sys per program run.
#
#   bench/run_vs_umockdev.sh BUILD_DIR [RUNS]
#
# Times RUNS (default 20) runs each, interleaved, of
#   driverfs-run -- true                         (empty tree: daemon, mount, namespaces)
#   driverfs-run --config demo.json -- true      (five plugins, seven devices)
#   umockdev-run -d lo.umockdev -- true          (umockdev's LD_PRELOAD sandbox with
#                                                 /sys/class/net/lo as recorded here)
# and prints the median, min and max wall time of each in milliseconds. The
# umockdev description is recorded once, at the start, with umockdev-record.
set -euo pipefail

die() { echo "run_vs_umockdev: FAIL: $*" >&2; exit 1; }

build=${1:-}
runs=${2:-20}
[[ -n "$build" && -x "$build/src/run/driverfs-run" ]] || die "usage: $0 BUILD_DIR [RUNS] (no BUILD_DIR/src/run/driverfs-run)"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number"
command -v umockdev-run >/dev/null || die "umockdev-run is not installed (apt-get install umockdev)"
command -v umockdev-record >/dev/null || die "umockdev-record is not installed (apt-get install umockdev)"
src=$(cd "$(dirname "$0")/.." && pwd)
run="$build/src/run/driverfs-run"

work=$(mktemp -d "${TMPDIR:-/tmp}/run_vs_umockdev.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
umockdev-record /sys/class/net/lo > "$work/lo.umockdev" || die "umockdev-record /sys/class/net/lo failed"

# now_us: wall clock in microseconds (EPOCHREALTIME), enough for runs of
# milliseconds.
now_us() { local t=${EPOCHREALTIME/./}; printf '%s' "$t"; }

declare -A times
names=(driverfs-run driverfs-run-demo umockdev-run)
cmd_of() {
    case $1 in
    driverfs-run) "$run" -- true ;;
    driverfs-run-demo) "$run" --config "$src/mountscripts/etc/demo.json" -- true ;;
    umockdev-run) umockdev-run -d "$work/lo.umockdev" -- true ;;
    esac
}
for ((i = 0; i < runs; i++)); do
    for n in "${names[@]}"; do
        t0=$(now_us)
        cmd_of "$n" || die "$n failed (run $i)"
        t1=$(now_us)
        times[$n]+="$(( t1 - t0 )) "
    done
done

printf '%-20s %10s %10s %10s   (%d runs each, ms)\n' what median min max "$runs"
for n in "${names[@]}"; do
    # shellcheck disable=SC2086
    sorted=$(printf '%s\n' ${times[$n]} | sort -n)
    count=$(wc -l <<< "$sorted")
    med=$(sed -n "$(( (count + 1) / 2 ))p" <<< "$sorted")
    min=$(head -1 <<< "$sorted")
    max=$(tail -1 <<< "$sorted")
    awk -v n="$n" -v a="$med" -v b="$min" -v c="$max" 'BEGIN { printf "%-20s %10.1f %10.1f %10.1f\n", n, a / 1000, b / 1000, c / 1000 }'
done
