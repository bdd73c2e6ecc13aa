#!/bin/bash
# random_stress: mounts driverfsd (tests/integration/lib/common.sh) with a
# control socket and the five sample plugins (led, hwmon, gpio-sim, vbus with
# DRIVERFS_VBUS_DEVICES=2, example) in its plugin directory, then runs
# random_stress.py: seeded random file operations over the whole tree and
# random control operations, at once, checked against the errno table of
# /sys, a watchdog, the daemon's log, and fds/memfd maps/nodes back to their
# start values at the end. See README.md.
#
# Usage: random_stress.sh [--seed N] [--duration SECS] [--threads N] [...]
# Environment: as the integration tests (DRIVERFSD, DRIVERFS_PLUGINS,
# DRIVERFS_FIXTURES), DRIVERFSCTL (default: next to the daemon).
source "$(dirname "$0")/../integration/lib/common.sh"
setup
for p in led hwmon gpio-sim vbus example; do
    install_plugin "$(plugin_file "$p")" "$p.so"
done
export DRIVERFS_VBUS_DEVICES=${DRIVERFS_VBUS_DEVICES:-2}
start_ctl_daemon
echo "random_stress: mount $M, daemon pid $DAEMON_PID, log $LOG"
python3 "$(dirname "$0")/random_stress.py" --mount "$M" --pid "$DAEMON_PID" --socket "$SOCK" \
    --ctl "$DRIVERFSCTL" --log "$LOG" "$@"
rc=$?
[[ $rc -eq 0 ]] || fail "random_stress reported a violation (exit $rc)"
expect_daemon_alive
# cleanup (EXIT trap) unmounts and fails unless driverfsd exits 0.
