#!/usr/bin/env bash
# Unload under attribute writes leaks nothing (issue 16, item 2). Writer
# threads in two processes store into led0's brightness without pause while
# led is loaded, led0 created, and led unloaded again, 100 times over; each
# cycle waits for one store to have reached the plugin, so FUSE workers
# have been inside led's store() and sit idle in read() on /dev/fuse when
# it goes. led starts no thread here (no trigger), so no unload may report
# one: the log has no "left N thread(s)" line, and afterwards the daemon has
# the descriptors it had before the first load and maps no plugin copy
# (memfd:driverfs:*) any more.
source "$(dirname "$0")/lib/common.sh"
setup
start_daemon
install_plugin "$(plugin_file led)" led.so

CYCLES=100
WRITER_PROCS=2
THREADS_PER_PROC=3

mapped_copies() { grep -c 'memfd:driverfs' "/proc/$DAEMON_PID/maps"; }
open_fds() { ls "/proc/$DAEMON_PID/fd" | wc -l; }

fds_before=$(open_fds)
maps_before=$(mapped_copies)
expect_eq "plugin copies mapped before any load" "0" "$maps_before"

# Each writer stores nonzero values (so a store is visible as brightness != 0)
# until $WORK/stop exists; every failure (no such file between cycles,
# ENODEV once the attribute is removed under an open file) is expected.
# It prints how many stores succeeded.
STOP="$WORK/stop"
for ((p = 0; p < WRITER_PROCS; p++)); do
    background python3 -c '
import os, sys, threading
path, stop, nthreads = sys.argv[1], sys.argv[2], int(sys.argv[3])
done = [0] * nthreads
def writer(k):
    v = 1
    while not os.path.exists(stop):
        try:
            fd = os.open(path, os.O_WRONLY)
        except OSError:
            continue
        try:
            os.write(fd, str(v).encode())
            done[k] += 1
        except OSError:
            pass
        finally:
            os.close(fd)
        v = v % 255 + 1
threads = [threading.Thread(target=writer, args=(k,)) for k in range(nthreads)]
for t in threads: t.start()
for t in threads: t.join()
with open(stop + ".count.%d" % os.getpid(), "w") as f: f.write("%d\n" % sum(done))
' "$(led_dir led0)/brightness" "$STOP" "$THREADS_PER_PROC"
done

# brightness_stored: a writer's store reached led0 in this cycle (a new led0
# starts at 0, and writers never store 0).
brightness_stored() {
    local v
    v=$(cat -- "$(led_dir led0)/brightness" 2>/dev/null) && [[ -n "$v" && "$v" != 0 ]]
}

for ((i = 1; i <= CYCLES; i++)); do
    printf 'led' >"$M/control/load" || fail "cycle $i: load led failed"
    printf 'led0' >"$M/bus/platform/new_device" || fail "cycle $i: new_device led0 failed"
    wait_until 30 "cycle $i: a writer's store reaching led0" brightness_stored
    printf 'led' >"$M/control/unload" || fail "cycle $i: unload led failed"
    printf 'led0' >"$M/bus/platform/delete_device" || fail "cycle $i: delete_device led0 failed"
done
pass "$CYCLES load/store/unload cycles"

touch "$STOP"
for p in "${EXTRA_PIDS[@]}"; do wait "$p" || fail "writer process $p failed"; done
EXTRA_PIDS=()
stores=$(awk '{ s += $1 } END { print s + 0 }' "$STOP".count.*)
((stores >= CYCLES)) || fail "only $stores stores reached led over $CYCLES cycles"
pass "$stores stores reached led while it was loaded and unloaded"

expect_eq "unloads that reported a thread left running" "0" \
    "$(grep -cF 'thread(s) running after exit' "$LOG")"
expect_eq "unloads that kept led mapped" "0" "$(grep -cF 'stays mapped' "$LOG")"
expect_eq "unloads logged" "$CYCLES" "$(grep -cF 'plugin led unloaded' "$LOG")"
expect_eq "plugin copies mapped after the last unload" "$maps_before" "$(mapped_copies)"
expect_eq "daemon descriptors after the last unload (before the first load: $fds_before)" \
    "$fds_before" "$(open_fds)"
expect_daemon_alive
