#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds, and runs
#   1. every meson test: unit, integration (real FUSE mounts), the short
#      unload torture, the model check of the lifetime protocol, man lint,
#      benchmark smoke runs;
#   2. unit, integration and torture again under AddressSanitizer +
#      UndefinedBehaviorSanitizer (a daemon that reports exits non-zero, and
#      the scripts fail on that);
#   3. unit and torture under ThreadSanitizer;
#   4. the libFuzzer targets (tests/fuzz/run.sh, clang), 20 s each over a
#      copy of their corpus; each target counts as one test in the total.
set -euo pipefail
cd "$(dirname "$0")/.."
# The system python3 first (see tests/integration/lib/common.sh: a shim in
# front of it costs seconds per start-up on a loaded machine).
if [ -x /usr/bin/python3 ]; then PATH=/usr/bin:$PATH; fi

bash .ci/install-deps

build=${DRIVERFS_BUILD:-build-test}
asan=${DRIVERFS_ASAN_BUILD:-build-asan}
tsan=${DRIVERFS_TSAN_BUILD:-build-tsan}
export DRIVERFS_FUZZ_BUILD=${DRIVERFS_FUZZ_BUILD:-build-fuzz}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

[ -d "$build" ] || meson setup "$build" >/dev/null
ninja -C "$build"
meson test -C "$build" --print-errorlogs 2>&1 | tee -a "$log" || status=1

[ -d "$asan" ] || meson setup "$asan" -Db_sanitize=address,undefined -Dbench=disabled >/dev/null
ninja -C "$asan"
# verify_asan_link_order=0: driverfs-run preloads libdriverfs-sysfs.so (never
# instrumented, it only wraps statfs) into COMMAND, which here is often our
# own instrumented driverfsctl; ASan would refuse any library loaded before it.
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1:verify_asan_link_order=0 \
  meson test -C "$asan" --suite unit --suite integration --suite stress --print-errorlogs 2>&1 | tee -a "$log" ||
  status=1

[ -d "$tsan" ] || meson setup "$tsan" -Db_sanitize=thread -Dbench=disabled >/dev/null
ninja -C "$tsan"
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  meson test -C "$tsan" --suite unit --suite stress --print-errorlogs 2>&1 | tee -a "$log" || status=1

bash tests/fuzz/run.sh "${DRIVERFS_FUZZ_SECONDS:-20}" 2>&1 | tee -a "$log" || status=1

# One closing line over all runs (meson prints a summary per run, run.sh
# "fuzz targets: N ok, N failed").
passed=$(awk '$1 == "Ok:" { n += $2 } $1 $2 == "fuzztargets:" { n += $3 } END { print n + 0 }' "$log")
failed=$(awk '$1 == "Fail:" || $1 == "Timeout:" || $1 == "Unexpected" { n += $NF }
              $1 $2 == "fuzztargets:" { n += $5 } END { print n + 0 }' "$log")
echo "$passed passed, $failed failed"
exit "$status"
