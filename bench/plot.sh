#!/usr/bin/env bash
# plot.sh: the two plots of bench/README.md, from the benchmarks' JSON output.
#
#   bench/plot.sh PIN_JSON FUSE_JSON [OUTDIR]
#
#   PIN_JSON   build/bench/pin_bench --benchmark_format=json > PIN_JSON
#              (any --benchmark_repetitions; the median of the runs is drawn)
#   FUSE_JSON  bench/fuse_compare.sh BUILD --json FUSE_JSON
#   OUTDIR     where the PNGs go (default /tmp): pin_cost.png, fuse_ops.png
#
# pin_cost.png: pin+unpin cost against drivers loaded, stub pin vs list scan,
# log-log. fuse_ops.png: ops/s through FUSE (median, bars from the slowest to
# the fastest run) for baseline, baseline+flush, driverfs and, when measured,
# driverfs cacheable, per loop and thread count.
# Needs gnuplot (Debian: apt-get install gnuplot-nox) and python3.
set -euo pipefail

die() { echo "plot.sh: $*" >&2; exit 1; }
[[ $# -ge 2 ]] || die "usage: $0 PIN_JSON FUSE_JSON [OUTDIR]"
PIN_JSON=$1 FUSE_JSON=$2 OUT=${3:-/tmp}
[[ -f $PIN_JSON ]] || die "no $PIN_JSON"
[[ -f $FUSE_JSON ]] || die "no $FUSE_JSON"
mkdir -p "$OUT"
if ! command -v gnuplot >/dev/null; then
    echo "plot.sh: gnuplot missing, installing gnuplot-nox" >&2
    if [[ $(id -u) -eq 0 ]]; then SUDO=(); else SUDO=(sudo); fi
    "${SUDO[@]}" apt-get install -y gnuplot-nox >/dev/null || die "cannot install gnuplot-nox"
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

python3 - "$PIN_JSON" "$FUSE_JSON" "$TMP" <<'EOF'
import json, re, statistics, sys
pin, fuse, tmp = sys.argv[1:]
# pin: median real_time per (family, N) over the iteration runs, single thread only.
runs = {}
for b in json.load(open(pin))["benchmarks"]:
    if b.get("run_type", "iteration") != "iteration":
        continue
    m = re.fullmatch(r"BM_(StubPin|ListScanPin)/(\d+)", b["run_name"] if "run_name" in b else b["name"])
    if not m:
        continue
    scale = {"ns": 1, "us": 1e3, "ms": 1e6}[b.get("time_unit", "ns")]
    runs.setdefault((m[1], int(m[2])), []).append(b["real_time"] * scale)
ns = sorted({n for _, n in runs})
if not ns:
    sys.exit("plot.sh: no BM_StubPin/N or BM_ListScanPin/N in the pin JSON")
with open(f"{tmp}/pin.dat", "w") as f:
    f.write("# N stub_ns list_ns\n")
    for n in ns:
        s = runs.get(("StubPin", n)); l = runs.get(("ListScanPin", n))
        f.write(f"{n} {statistics.median(s) if s else 'NaN'} {statistics.median(l) if l else 'NaN'}\n")
# fuse: per (mode, threads) group, per target: median, min, max ops/s.
doc = json.load(open(fuse))
targets = [t for t in ("baseline", "baseline+flush", "driverfs", "cacheable")
           if any(r["target"] == t for r in doc["runs"])]
groups = [(m, n) for m in ("openread", "pread") for n in (1, 2)]
with open(f"{tmp}/fuse.dat", "w") as f:
    f.write("# group " + " ".join(f"{t}_med {t}_min {t}_max" for t in targets) + "\n")
    for m, n in groups:
        cells = []
        for t in targets:
            v = [r["ops_per_s"] / 1000 for r in doc["runs"] if r["target"] == t and r["mode"] == m and r["threads"] == n]
            cells += [statistics.median(v), min(v), max(v)] if v else ["NaN"] * 3
        f.write(f'"{m}, {n} thr" ' + " ".join(str(c) for c in cells) + "\n")
with open(f"{tmp}/fuse.targets", "w") as f:
    f.write(" ".join(targets) + "\n")
with open(f"{tmp}/fuse.title", "w") as f:
    f.write(f"{doc['reps']} x {doc['seconds']} s per bar, {doc['nproc']} CPUs, load avg {doc['loadavg_before'].split()[0]}, {doc['date'][:10]}")
EOF

gnuplot <<EOF
set terminal pngcairo size 900,600 font ",11"
set output "$OUT/pin_cost.png"
set title "Pin + unpin of one driver against drivers loaded (median)"
set logscale xy
set xlabel "drivers loaded"
set ylabel "ns per pin + unpin"
set grid
set key top left
set xrange [0.7:15000]
plot "$TMP/pin.dat" using 1:2 with linespoints lw 2 pt 7 title "stub pin (O(1))", \
     "$TMP/pin.dat" using 1:3 with linespoints lw 2 pt 5 title "list scan pin (O(n))"
EOF

read -r -a TARGETS <"$TMP/fuse.targets"
PLOT=""
for i in "${!TARGETS[@]}"; do
    c=$((2 + 3 * i))
    PLOT+="${PLOT:+, }\"$TMP/fuse.dat\" using $c:$((c + 1)):$((c + 2)):xtic(1) title \"${TARGETS[$i]}\""
done
gnuplot <<EOF
set terminal pngcairo size 900,600 font ",11"
set output "$OUT/fuse_ops.png"
set title "Reads of one attribute through FUSE\n{/*0.8 $(cat "$TMP/fuse.title")}"
set ylabel "thousand ops/s, log scale (median; bar: slowest to fastest run)"
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.8 border -1
# Log scale: page-cache reads of a cacheable attribute are some 30 times the
# round-trip targets, which a linear axis would flatten to nothing.
set logscale y
set yrange [1:*]
set grid ytics
set key top left
plot $PLOT
EOF
echo "plot.sh: wrote $OUT/pin_cost.png $OUT/fuse_ops.png"
