#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds, runs every meson test
# (unit + integration, which mount real FUSE filesystems), then the unit tests
# again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/install-deps

build=${DRIVERFS_BUILD:-build-test}
asan=${DRIVERFS_ASAN_BUILD:-build-asan}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

[ -d "$build" ] || meson setup "$build" >/dev/null
ninja -C "$build"
meson test -C "$build" --print-errorlogs 2>&1 | tee -a "$log" || status=1

[ -d "$asan" ] || meson setup "$asan" -Db_sanitize=address,undefined >/dev/null
ninja -C "$asan"
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
  meson test -C "$asan" --suite unit --print-errorlogs 2>&1 | tee -a "$log" || status=1

# One closing line over both runs (meson prints a summary per run).
passed=$(awk '$1 == "Ok:" { n += $2 } END { print n + 0 }' "$log")
failed=$(awk '$1 == "Fail:" || $1 == "Timeout:" || $1 == "Unexpected" { n += $NF } END { print n + 0 }' "$log")
echo "$passed passed, $failed failed"
exit "$status"
