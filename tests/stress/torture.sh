#!/bin/bash
# torture: mounts driverfsd (tests/integration/lib/common.sh), then runs the
# torture program (tests/stress/torture.cpp): N cycles of load led, create
# devices, T threads reading, writing, poll()ing and holding its attribute
# files open, unload led while they do, delete the devices; the next load is
# the reload. Fails on any error other than ENODEV (ENOENT for an open of a
# removed path), a crash, a hang, a leaked daemon fd, a wrong stub record, or
# a daemon that does not exit 0 once unmounted.
#
# Usage: torture.sh [--cycles N] [--threads T] [other torture options]
# Environment: as the integration tests, plus TORTURE (the built program;
# default: next to DRIVERFSD's build tree, tests/stress/torture).
source "$(dirname "$0")/../integration/lib/common.sh"
setup
TORTURE=${TORTURE:-$(dirname "$DRIVERFSD")/../../tests/stress/torture}
[[ -x "$TORTURE" ]] || fail "TORTURE=$TORTURE is not an executable (build tests/stress)"
start_daemon
install_plugin "$(plugin_file led)" led.so
echo "torture: $TORTURE --mount $M --pid $DAEMON_PID $*"
"$TORTURE" --mount "$M" --pid "$DAEMON_PID" "$@"
rc=$?
[[ $rc -eq 0 ]] || fail "torture reported a violation (exit $rc)"
expect_daemon_alive
# cleanup (EXIT trap) unmounts and fails unless driverfsd exits 0.
