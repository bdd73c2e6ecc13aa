# bench/lib.sh: what the benchmark scripts share (sourced, not run).

# stop_daemon PID MNT: on the way out of a benchmark, whatever state it is
# in: unmount MNT (lazily if something still holds it), kill the daemon if
# it is still there, reap it. Never fails.
stop_daemon() {
    local pid=$1 mnt=$2
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" 2>/dev/null
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}
