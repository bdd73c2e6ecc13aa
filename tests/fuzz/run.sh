#!/usr/bin/env bash
# run.sh SECONDS [TARGET...]: build the libFuzzer targets (clang, -Dfuzz=true,
# in $DRIVERFS_FUZZ_BUILD, default build-fuzz) and run each for SECONDS over
# a temporary COPY of its checked-in corpus (tests/fuzz/corpus/<target>/;
# CI never grows the checked-in corpus). Targets: protocol config sdk_parse
# core_words (default: all). A crash, a broken property (abort), a leak, a
# slow input (-timeout) or an out-of-memory fails the target; its input is
# kept under $DRIVERFS_FUZZ_BUILD/fuzz-artifacts/ to reproduce with
#   $DRIVERFS_FUZZ_BUILD/tests/fuzz/fuzz_<target> FILE
# Prints per target: runs, exec/s, coverage (cov: edges, ft: features), new
# corpus units found; then "fuzz targets: N ok, N failed". Exit 1 if any failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

usage() { echo "usage: $0 SECONDS [protocol|config|sdk_parse|core_words ...]" >&2; exit 2; }
[[ $# -ge 1 && "$1" =~ ^[1-9][0-9]*$ ]] || usage
seconds=$1
shift
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(protocol config sdk_parse core_words)

# A build that fails counts every target as failed, so the caller's totals
# (tests/run-all.sh) show it.
all_failed() {
    echo "FUZZ FAIL: $1"
    echo "fuzz targets: 0 ok, ${#targets[@]} failed"
    exit 1
}
build=${DRIVERFS_FUZZ_BUILD:-build-fuzz}
if [[ ! -d "$build" ]]; then
    CC=clang CXX=clang++ meson setup "$build" -Dfuzz=true -Dtests=false -Dbench=disabled >/dev/null ||
        all_failed "meson setup of $build (clang, -Dfuzz=true) failed"
fi
# Only the fuzz targets and what they link, not the daemon or plugins.
ninja -C "$build" $(printf 'tests/fuzz/fuzz_%s ' "${targets[@]}") >/dev/null ||
    all_failed "building the fuzz targets in $build failed"

work=$(mktemp -d "${TMPDIR:-/tmp}/driverfs-fuzz.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
keep="$build/fuzz-artifacts"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

ok=0
failed=0
for t in "${targets[@]}"; do
    exe="$build/tests/fuzz/fuzz_$t"
    seeds="tests/fuzz/corpus/$t"
    [[ -x "$exe" && -d "$seeds" ]] || all_failed "no target $exe or no corpus $seeds"
    corpus="$work/corpus-$t"
    cp -r "$seeds" "$corpus"
    before=$(find "$corpus" -type f | wc -l)
    dict=()
    [[ -f "tests/fuzz/$t.dict" ]] && dict=(-dict="tests/fuzz/$t.dict")
    mkdir -p "$work/artifacts-$t"
    rc=0
    "$exe" "$corpus" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="$work/artifacts-$t/" >"$work/$t.log" 2>&1 || rc=$?
    after=$(find "$corpus" -type f | wc -l)
    stat() { awk -v k="stat::$1:" '$1 == k { print $2 }' "$work/$t.log" | tail -n 1; }
    last=$(grep -E '^#[0-9]+.*cov: ' "$work/$t.log" | tail -n 1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    printf 'fuzz %-10s runs %s  exec/s %s  cov: %s  ft: %s  new units %d (corpus %d -> %d)  peak rss %s MB\n' \
        "$t" "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" "${cov:-?}" "${ft:-?}" \
        $((after - before)) "$before" "$after" "$(stat peak_rss_mb)"
    if [[ $rc -eq 0 ]] && ! grep -qE 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|runtime error:' "$work/$t.log"; then
        ok=$((ok + 1))
    else
        failed=$((failed + 1))
        mkdir -p "$keep"
        cp -r "$work/artifacts-$t/." "$keep/" 2>/dev/null || true
        echo "FUZZ FAIL $t (exit $rc); inputs kept in $keep/; the end of its log:"
        tail -n 40 "$work/$t.log"
    fi
done
echo "fuzz targets: $ok ok, $failed failed"
[[ $failed -eq 0 ]]
