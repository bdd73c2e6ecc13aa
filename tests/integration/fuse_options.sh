#!/usr/bin/env bash
# fuse_options: -o entry_timeout=S and attr_timeout=S reach the kernel, and
# bad values are refused before anything is mounted (exit 2). Measured with
# fx_cache's cacheable `value`, whose st_size comes from show(): with
# attr_timeout=0 every stat(2) asks the daemon (and runs show), with
# attr_timeout=60 the kernel answers repeated stats itself.
source "$(dirname "$0")/lib/common.sh"
setup
install_plugin "$(fixture_file fx_cache)" fx_cache.so

for bad in entry_timeout=abc attr_timeout=-1 entry_timeout=86401; do
    probe=$(mktemp -d "$WORK/probe.XXXXXX")
    rc=0
    "$DRIVERFSD" -f --plugin-dir "$PLUGINS_COPY" -o "$bad" "$probe" 2>"$WORK/bad.log" || rc=$?
    expect_eq "-o $bad exit status" "2" "$rc"
    mounted "$probe" && fail "-o $bad mounted $probe"
    [[ -s "$WORK/bad.log" ]] || fail "-o $bad: no message on stderr"
done

# stats_cost ATTR_TIMEOUT: show() calls caused by 20 stats of value.
stats_cost() {
    start_daemon -o "entry_timeout=$1,attr_timeout=$1"
    expect_write_ok "$M/control/load" "fx_cache"
    expect_write_ok "$M/bus/platform/new_device" "cache0"
    local d="$M/devices/platform/cache0" before after i
    stat "$d/value" >/dev/null
    before=$(read_attr "$d/shows")
    for ((i = 0; i < 20; i++)); do stat "$d/value" >/dev/null; done
    after=$(read_attr "$d/shows")
    COST=$((after - before))
    fusermount3 -u "$M" || fail "cannot unmount $M"
    wait "$DAEMON_PID"; expect_eq "daemon exit status" "0" "$?"
    rmdir "$M"; M=""; DAEMON_PID=""
}

stats_cost 0
((COST >= 20)) || fail "attr_timeout=0: 20 stats ran show() only $COST times (the kernel cached attributes)"
pass "attr_timeout=0: 20 stats ran show() $COST times"
stats_cost 60
((COST <= 1)) || fail "attr_timeout=60: 20 stats ran show() $COST times (the kernel did not cache attributes)"
pass "attr_timeout=60: 20 stats ran show() $COST times"
