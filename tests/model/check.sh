#!/bin/bash
# check.sh: model-check the driverfs lifetime protocol (driverfs.pml) with spin.
#
# Good model, must pass:
#   safety    asserts: no callback on a deactivated/drained/gone stub, never
#             with a null or foreign driver pointer or unmapped code; release
#             exactly once per open; a purged stub is never pinned; activate
#             never sees a half-drained stub. (2 readers, holder, unloader,
#             reloader, purger; NUNLOAD=1 to stay fast.)
#   safety-2  the same with 1 reader and 2 unloads (EBUSY aborts and a
#             second unload after the reload).
#   liveness  ltl unload_finishes, weak fairness, drain without deadline
#             (NO_TIMEOUT): once callbacks return, unload completes however
#             much traffic comes (a failed pin writes nothing, as the code's
#             CAS pin).
# Broken variants, each must FAIL: BUG_PIN_CHECK_THEN_INC, BUG_DRAIN_NO_WAIT,
#   BUG_PURGE_IGNORES_REFS, BUG_RELEASE_ON_INTERRUPT (safety), BUG_NO_BIAS
#   (liveness: steady traffic starves the drain).
#   BUG_PIN_FETCH_ADD_UNDO (liveness: the first pin driverfs had, fetch_add
#   then undo, lets failing pins starve the drain; this check found it).
# Exit 0 only if every expectation holds. Needs spin and gcc.
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
command -v spin >/dev/null || { echo "check.sh: spin is not installed (apt-get install spin)" >&2; exit 1; }
command -v gcc >/dev/null || { echo "check.sh: gcc is needed to compile pan" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/driverfs-model.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT
cp "$HERE/driverfs.pml" "$WORK/"
failures=0

# run NAME EXPECT(pass|fail) MODE(safety|liveness) SPIN-DEFINES...
run() {
    local name=$1 expect=$2 mode=$3; shift 3
    local dir="$WORK/$name" out got
    mkdir -p "$dir" && cp "$WORK/driverfs.pml" "$dir/"
    (cd "$dir" && spin -a "$@" driverfs.pml >spin.out 2>&1) || { echo "FAIL $name: spin -a: $(cat "$dir/spin.out")"; failures=$((failures + 1)); return; }
    if [[ $mode == safety ]]; then
        (cd "$dir" && gcc -O2 -w -DSAFETY -DCOLLAPSE -o pan pan.c) || { echo "FAIL $name: gcc"; failures=$((failures + 1)); return; }
        out=$(cd "$dir" && ./pan -m200000 2>&1)
    else
        (cd "$dir" && gcc -O2 -w -DCOLLAPSE -DNFAIR=3 -o pan pan.c) || { echo "FAIL $name: gcc"; failures=$((failures + 1)); return; }
        out=$(cd "$dir" && ./pan -m200000 -a -f 2>&1)
    fi
    local errs states secs
    errs=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' <<<"$out" | tail -1)
    states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' <<<"$out" | tail -1)
    secs=$(sed -n 's/^pan: elapsed time \([0-9.e+]*\).*/\1/p' <<<"$out" | tail -1)
    if grep -q "depth too small\|out of memory\|max search depth too small" <<<"$out"; then
        echo "FAIL $name: search incomplete"; grep -m3 "too small\|memory" <<<"$out"; failures=$((failures + 1)); return
    fi
    if [[ -z "$errs" ]]; then echo "FAIL $name: pan gave no result"; echo "$out" | tail -20; failures=$((failures + 1)); return; fi
    if [[ "$errs" == 0 ]]; then got=pass; else got=fail; fi
    local what
    what=$(grep -m1 -E "assertion violated|acceptance cycle|non-progress" <<<"$out" | sed 's/^pan:[0-9]*: *//')
    printf '%-26s %-8s expected %-4s got %-4s states %-10s %ss %s\n' "$name" "$mode" "$expect" "$got" "${states:-?}" "${secs:-?}" "${what:+($what)}"
    if [[ $got != "$expect" ]]; then failures=$((failures + 1)); echo "$out" | tail -25; fi
}

run good-safety            pass safety   -DNUNLOAD=1
run good-safety-2unloads   pass safety   -DONE_READER -DNUNLOAD=2
run good-liveness          pass liveness -DLIVENESS -DNO_TIMEOUT -DONE_READER
run good-liveness-2readers pass liveness -DLIVENESS -DNO_TIMEOUT -DNUNLOAD=1
run good-liveness-timeout  pass liveness -DLIVENESS -DONE_READER
run bug-pin-check-then-inc fail safety   -DBUG_PIN_CHECK_THEN_INC -DNUNLOAD=1
run bug-drain-no-wait      fail safety   -DBUG_DRAIN_NO_WAIT -DNUNLOAD=1
run bug-purge-ignores-refs fail safety   -DBUG_PURGE_IGNORES_REFS -DNUNLOAD=1
run bug-release-interrupt  fail safety   -DBUG_RELEASE_ON_INTERRUPT -DNUNLOAD=1
run bug-no-bias-starves    fail liveness -DLIVENESS -DNO_TIMEOUT -DBUG_NO_BIAS -DONE_READER
run bug-fetch-add-undo-starves fail liveness -DLIVENESS -DNO_TIMEOUT -DBUG_PIN_FETCH_ADD_UNDO -DNUNLOAD=1

if [[ $failures -ne 0 ]]; then echo "model check: $failures expectation(s) not met"; exit 1; fi
echo "model check: all expectations met"
