#!/bin/bash
# driver_stats: module/<plugin>/drivers/<driver>/{calls,errors,in_flight,
# refused,slowest} of fx_sleepy (driver "sleepy", plugin "fx_sleepy"), and
# driverfsctl driver-stats / top. Checks: the files are 0444 and read as
# sysfs integers with a newline; a read of `calls` is no call (two reads in a
# row agree); N reads of nap add exactly N to calls; M rejected stores add
# exactly M to errors (and to calls); in_flight is 0 at rest and 1 while a
# show is held at a gate; slowest names a 300 ms show and its time; top
# --count 2 --interval 0.2 prints two refreshes (text and --json) showing the
# held call; a read while the unload drains is refused and counted; the files
# (and drivers/) go with the unload and come back, from zero, with the
# reload.
#
# Every delta is measured across our own reads only: nothing else calls the
# driver meanwhile (sleepy has no probe, no is_visible, and nothing binds).
source "$(dirname "$0")/lib/common.sh"
setup
install_plugin "$(fixture_file fx_sleepy)" fx_sleepy.so
start_ctl_daemon
expect_write_ok "$M/control/load" "fx_sleepy"
expect_write_ok "$M/bus/platform/new_device" "sleepy0"
S="$M/module/fx_sleepy/drivers/sleepy"
NAP="$M/devices/platform/sleepy0/nap"
[[ -e "$NAP" ]] || fail "sleepy0 is not bound: no nap attribute"
stat_of() { read_attr "$S/$1"; }

for f in calls errors in_flight refused slowest; do
    [[ -f "$S/$f" ]] || fail "module/fx_sleepy/drivers/sleepy/$f is missing"
    expect_eq "mode of $f" "444" "$(stat -c %a "$S/$f")"
    expect_write_errno EACCES "$S/$f" "0"
done
expect_eq "calls is an integer and a newline" "OK:$(stat_of calls)|" "$(try_read "$S/calls")"
expect_match "calls" '^[0-9]+$' "$(stat_of calls)"

# ---- calls: exactly our reads ------------------------------------------------
c0=$(stat_of calls)
expect_eq "calls read twice in a row (a read of calls is no call)" "$c0" "$(stat_of calls)"
for ((i = 0; i < 25; i++)); do read_attr "$NAP" >/dev/null; done
expect_eq "calls after 25 reads of nap" "$((c0 + 25))" "$(stat_of calls)"
pass "25 reads of nap are 25 calls"

# ---- errors: exactly our rejected stores -------------------------------------
c0=$(stat_of calls)
e0=$(stat_of errors)
for ((i = 0; i < 7; i++)); do expect_write_errno EINVAL "$NAP" "not-a-number"; done
expect_eq "errors after 7 rejected stores" "$((e0 + 7))" "$(stat_of errors)"
expect_eq "calls after 7 rejected stores" "$((c0 + 7))" "$(stat_of calls)"
expect_write_ok "$NAP" $'0\n'
expect_eq "errors after a good store" "$((e0 + 7))" "$(stat_of errors)"

# ---- slowest: a 300 ms show --------------------------------------------------
expect_write_ok "$NAP" $'300\n'
expect_eq "nap (a 300 ms show)" "300" "$(read_attr "$NAP")"
slowest=$(stat_of slowest)
expect_match "slowest" '^show nap of sleepy0 [0-9]+ us$' "$slowest"
us=${slowest##* nap of sleepy0 }
us=${us% us}
((us >= 300000)) || fail "slowest says $us us for a show that slept 300 ms"
expect_write_ok "$NAP" $'0\n'
pass "slowest: $slowest"

# ---- in_flight: 0 at rest, 1 while a show is held ----------------------------
expect_eq "in_flight at rest" "0" "$(stat_of in_flight)"
make_gate nap
expect_write_ok "$M/devices/platform/sleepy0/gate" "$GATE"
held_read_job() { try_read "$NAP" >"$WORK/held-read"; }
background held_read_job
HELD_PID=${EXTRA_PIDS[-1]}
wait_until 30 "the read of nap to enter show (in_flight = 1)" attr_is "$S/in_flight" 1
expect_eq "in_flight while a show is held" "1" "$(stat_of in_flight)"

# ---- driverfsctl driver-stats and top, while the call is held ----------------
out=$(ctl_ok driver-stats)
expect_match "driver-stats" $'\n''fx_sleepy +sleepy +[0-9]+ +[0-9]+ +1 +0  show nap of sleepy0' "$out"
out=$(ctl_ok --json driver-stats)
py 'import json, sys
d = [x for x in json.loads(sys.argv[1])["drivers"] if x["driver"] == "sleepy"]
assert len(d) == 1 and d[0]["module"] == "fx_sleepy" and d[0]["in_flight"] == 1, d
assert d[0]["slowest"]["call"] == "show nap of sleepy0" and d[0]["slowest"]["us"] >= 300000, d
' "$out" || fail "driver-stats --json: $out"
out=$(timeout 30 "$DRIVERFSCTL" --socket "$SOCK" top --count 2 --interval 0.2) || fail "top --count 2 failed: $out"
expect_eq "top --count 2: refreshes" "2" "$(grep -c '^driverfs top' <<<"$out")"
expect_eq "top --count 2: sleepy lines with in_flight 1" "2" \
    "$(grep -cE '^fx_sleepy +sleepy +[0-9.]+ +[0-9]+ +[0-9]+ +1 +0  show nap of sleepy0' <<<"$out")"
out=$(timeout 30 "$DRIVERFSCTL" --socket "$SOCK" --json top --count 2 --interval 0.2) || fail "top --json failed: $out"
py 'import json, sys
lines = sys.argv[1].splitlines()
assert len(lines) == 2, lines
for l in lines:
    o = json.loads(l)
    assert 0.15 < o["interval"] < 10, o
    d = [x for x in o["drivers"] if x["driver"] == "sleepy"]
    assert len(d) == 1 and d[0]["in_flight"] == 1 and d[0]["calls_per_sec"] == 0, d
' "$out" || fail "top --json: $out"
expect_ctl_status 2 "--count takes a whole number" top --count 0
pass "driver-stats and top show the held call"

# ---- refused: a read while the unload drains ---------------------------------
r0=$(stat_of refused)
expect_eq "refused before any unload" "0" "$r0"
long_unload_job() {
    local rc=0
    timeout 120 "$DRIVERFSCTL" --socket "$SOCK" unload fx_sleepy --timeout 3600 >/dev/null 2>&1 || rc=$?
    echo "$rc" >"$WORK/unload.rc"
}
background long_unload_job
wait_until 30 "the unload to begin (module/fx_sleepy/state = going)" attr_is "$M/module/fx_sleepy/state" going
expect_eq "a read of gate while the unload drains" "ENODEV" "$(try_read "$M/devices/platform/sleepy0/gate")"
r1=$(stat_of refused)
((r1 > r0)) || fail "refused is $r1 after a read refused while the driver is going (was $r0)"
expect_eq "in_flight while the unload drains" "1" "$(stat_of in_flight)"
pass "refused went from $r0 to $r1"
release_gate "$GATE"
wait "$HELD_PID" || fail "the held read failed"
wait_until 60 "the unload to finish" test -e "$WORK/unload.rc"
expect_eq "exit status of the unload" "0" "$(cat "$WORK/unload.rc")"
[[ ! -e "$S" ]] || fail "module/fx_sleepy/drivers/sleepy is still there after the unload"
[[ ! -e "$M/module/fx_sleepy/drivers" ]] || fail "module/fx_sleepy/drivers is still there after the unload"
expect_eq "driver-stats after the unload" "" "$(ctl_ok --json driver-stats | py 'import json,sys; print(" ".join(d["driver"] for d in json.load(sys.stdin)["drivers"]))')"

# ---- reload: the files are back, from zero -----------------------------------
expect_write_ok "$M/control/load" "fx_sleepy"
[[ -e "$NAP" ]] || fail "sleepy0 was not bound again by the reload"
for f in calls errors in_flight refused; do expect_eq "$f after the reload" "0" "$(stat_of "$f")"; done
expect_eq "slowest after the reload" "none" "$(stat_of slowest)"
read_attr "$NAP" >/dev/null
expect_eq "calls after one read of the reloaded driver" "1" "$(stat_of calls)"
pass "driver statistics"
