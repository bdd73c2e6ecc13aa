# common.sh: shared setup for the driverfs integration tests (sourced, not run).
#
# Gives each test a fresh mount of driverfsd in a private temp dir, with a
# private plugin directory (mode 0700, plugins 0644: the daemon refuses
# plugins that others can write), and cleans up on every exit path:
# unmount, reap the daemon (killing it if unmounting did not end it), remove
# the temp dirs. It never skips: a missing /dev/fuse, fusermount3, python3,
# daemon, plugin or fixture is a failure with a message.
#
# Environment (set by tests/integration/meson.build):
#   DRIVERFSD          the built daemon
#   DRIVERFS_PLUGINS   the build tree's plugins/ (led.so is at led/led.so)
#   DRIVERFS_FIXTURES  the build tree's tests/fixtures/ (fx_*.so)
#
# After start_daemon: M (mount point), LOG (daemon stderr), DAEMON_PID,
# PLUGINS_COPY (the --plugin-dir).

set -u -o pipefail

# The system python3 (what .ci/install-deps installs, and the one with
# pyudev) before any wrapper on PATH: a version-manager shim in front of it
# is a shell script per start-up, measured at 4 s a call on a loaded 2-core
# machine against 0.25 s for /usr/bin/python3, and these scripts start
# python hundreds of times.
if [[ -x /usr/bin/python3 ]]; then PATH=/usr/bin:$PATH; fi

TEST_NAME=$(basename "$0" .sh)
WORK=""
M=""
LOG=""
DAEMON_PID=""
PLUGINS_COPY=""
declare -a EXTRA_PIDS=()

# ---- a private mount namespace ----------------------------------------------
# in_private_mount_ns WHY "$@": re-run the calling script, as root, in a
# private mount namespace (WHY says what needs root), so whatever it mounts,
# on purpose or by a bug, is seen only there. Returns in the re-run copy.
in_private_mount_ns() {
    local why=$1; shift
    [[ -n "${DRIVERFS_IN_NS:-}" ]] && return 0
    [[ $(id -u) -eq 0 ]] || { echo "FAIL [$TEST_NAME]: needs root ($why)" >&2; exit 1; }
    command -v unshare >/dev/null || { echo "FAIL [$TEST_NAME]: unshare is missing (util-linux)" >&2; exit 1; }
    exec unshare -m --propagation private env DRIVERFS_IN_NS=1 bash "$0" "$@"
}

# ---- reporting ---------------------------------------------------------------

dump_log() {
    if [[ -n "$LOG" && -f "$LOG" ]]; then
        echo "----- driverfsd log ($LOG) -----" >&2
        cat "$LOG" >&2
        echo "----- end of driverfsd log -----" >&2
    fi
}

fail() {
    echo "FAIL [$TEST_NAME]: $*" >&2
    # In a subshell ($(...), a background job), make the test itself fail too.
    if [[ "$BASHPID" != "$$" ]]; then kill -USR1 "$$" 2>/dev/null; fi
    # The EXIT trap dumps the log and cleans up.
    exit 1
}

pass() { echo "ok [$TEST_NAME]: $*"; }

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
    if [[ "$2" != "$3" ]]; then
        fail "$1: expected '$2', got '$3'"
    fi
    pass "$1 = '$3'"
}

# expect_match WHAT REGEX ACTUAL
expect_match() {
    if ! [[ "$3" =~ $2 ]]; then
        fail "$1: expected to match /$2/, got '$3'"
    fi
    pass "$1 matches /$2/"
}

# ---- python helpers: symbolic errno of one syscall -----------------------------
# Each prints OK (or OK:<result>) on success, else the errno name (EINVAL, ...).

py() { python3 -c "$@"; }

# Python snippets import helpers from here (lib/waiting.py).
export TEST_PYLIB
TEST_PYLIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

PY_PRELUDE='
import errno, os, sys
def name(e): return errno.errorcode.get(e.errno, str(e.errno))
'

# try_write FILE DATA: open O_WRONLY, one write() of DATA (no newline added).
try_write() {
    py "$PY_PRELUDE"'
try:
    fd = os.open(sys.argv[1], os.O_WRONLY)
except OSError as e:
    print(name(e)); sys.exit(0)
try:
    n = os.write(fd, sys.argv[2].encode())
    print("OK:%d" % n)
except OSError as e:
    print(name(e))
finally:
    os.close(fd)
' "$1" "$2"
}

# try_read FILE: open O_RDONLY and read; prints OK:<content with \n as |>.
try_read() {
    py "$PY_PRELUDE"'
try:
    fd = os.open(sys.argv[1], os.O_RDONLY)
except OSError as e:
    print(name(e)); sys.exit(0)
try:
    print("OK:" + os.read(fd, 8192).decode().replace("\n", "|"))
except OSError as e:
    print(name(e))
finally:
    os.close(fd)
' "$1"
}

# try_open FILE FLAGS (python expression, e.g. "os.O_WRONLY|os.O_TRUNC")
try_open() {
    py "$PY_PRELUDE"'
try:
    fd = os.open(sys.argv[1], eval(sys.argv[2]))
    os.close(fd)
    print("OK")
except OSError as e:
    print(name(e))
' "$1" "$2"
}

# try_fd_read FD / try_fd_write FD DATA: on a descriptor inherited from the shell.
try_fd_read() {
    py "$PY_PRELUDE"'
try:
    print("OK:" + os.pread(int(sys.argv[1]), 8192, 0).decode().replace("\n", "|"))
except OSError as e:
    print(name(e))
' "$1"
}
try_fd_write() {
    py "$PY_PRELUDE"'
try:
    print("OK:%d" % os.write(int(sys.argv[1]), sys.argv[2].encode()))
except OSError as e:
    print(name(e))
' "$1" "$2"
}

# expect_write_ok FILE DATA: the whole of DATA is accepted.
expect_write_ok() {
    local got
    got=$(try_write "$1" "$2")
    expect_eq "write '${2//$'\n'/\\n}' to ${1#"$M"/}" "OK:${#2}" "$got"
}

# expect_write_errno ERRNO FILE DATA
expect_write_errno() {
    local got
    got=$(try_write "$2" "$3")
    expect_eq "write '${3//$'\n'/\\n}' to ${2#"$M"/}" "$1" "$got"
}

# read_attr FILE: the content without its trailing newline; fails the test on error.
read_attr() {
    local out
    out=$(cat -- "$1" 2>&1) || fail "cat ${1#"$M"/} failed: $out"
    printf '%s' "$out"
}

# write_attr FILE DATA: must succeed.
write_attr() {
    local got
    got=$(try_write "$1" "$2")
    [[ "$got" == "OK:${#2}" ]] || fail "write '$2' to ${1#"$M"/}: $got"
}

# tree_snapshot: every path of the mount plus symlink targets and module state,
# to show that a failed operation changed nothing.
tree_snapshot() {
    (cd "$M" && find . | LC_ALL=C sort)
    (cd "$M" && find . -type l -printf '%p -> %l\n' | LC_ALL=C sort)
    local f
    for f in "$M"/module/*/state "$M"/module/*/generation; do
        [[ -e "$f" ]] && printf '%s=%s\n' "${f#"$M"/}" "$(cat "$f")"
    done
    return 0
}

mounted() { awk -v m="$1" '$2 == m && $3 == "fuse.driverfs" { f = 1 } END { exit !f }' /proc/self/mounts; }

# ---- preflight ---------------------------------------------------------------

preflight() {
    [[ -c /dev/fuse ]] || fail "/dev/fuse is missing: FUSE integration tests need it (modprobe fuse / --device /dev/fuse)"
    command -v fusermount3 >/dev/null || fail "fusermount3 is not installed (package fuse3)"
    command -v python3 >/dev/null || fail "python3 is needed by the integration tests"
    [[ -n "${DRIVERFSD:-}" ]] || fail "DRIVERFSD is not set (run through meson test, or export it)"
    [[ -x "$DRIVERFSD" ]] || fail "DRIVERFSD=$DRIVERFSD is not an executable"
    [[ -n "${DRIVERFS_PLUGINS:-}" ]] || fail "DRIVERFS_PLUGINS is not set"
    [[ -n "${DRIVERFS_FIXTURES:-}" ]] || fail "DRIVERFS_FIXTURES is not set"
}

# plugin_file NAME: the built plugin (plugins/NAME/NAME.so or plugins/NAME.so).
plugin_file() {
    local f
    for f in "$DRIVERFS_PLUGINS/$1/$1.so" "$DRIVERFS_PLUGINS/$1.so"; do
        [[ -f "$f" ]] && { printf '%s' "$f"; return 0; }
    done
    fail "plugin $1 not found under DRIVERFS_PLUGINS=$DRIVERFS_PLUGINS (is it built?)"
}

# fixture_file NAME: a test fixture plugin; missing = failure, never a skip.
fixture_file() {
    local f="$DRIVERFS_FIXTURES/$1.so"
    [[ -f "$f" ]] || fail "fixture $f is missing: build the fixtures (tests/fixtures/meson.build) before the integration tests"
    printf '%s' "$f"
}

# install_plugin SRC [NAME]: copy into the private plugin dir, mode 0644.
install_plugin() {
    local dest="$PLUGINS_COPY/${2:-$(basename "$1")}"
    install -m 0644 -- "$1" "$dest" || fail "cannot copy $1 to $dest"
}

# ---- daemon lifecycle ----------------------------------------------------------

cleanup() {
    local rc=$?
    set +e
    local p
    for p in "${EXTRA_PIDS[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    # A show still held at a gate would keep the daemon from exiting: let
    # go of any that a failing test left closed (one nobody waits on is
    # skipped at once, without blocking).
    if ((${#GATES[@]})); then
        python3 -c '
import os, sys
for p in sys.argv[1:]:
    try:
        os.close(os.open(p, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass' "${GATES[@]}"
    fi
    if [[ -n "$M" ]] && mounted "$M"; then
        fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M" 2>/dev/null || umount -l "$M" 2>/dev/null
    fi
    if [[ -n "$DAEMON_PID" ]]; then
        wait_gone "$DAEMON_PID" 30 || {
            echo "[$TEST_NAME] driverfsd (pid $DAEMON_PID) still running after unmount: killing it" >&2
            kill -TERM "$DAEMON_PID" 2>/dev/null
            wait_gone "$DAEMON_PID" 3 || kill -KILL "$DAEMON_PID" 2>/dev/null
            rc=1
        }
        # Unmounted, the daemon must exit 0: a crash, a sanitizer report or a
        # failed shutdown fails the test even if every check passed.
        local drc=0
        wait "$DAEMON_PID" 2>/dev/null || drc=$?
        if [[ $drc -ne 0 ]]; then
            echo "FAIL [$TEST_NAME]: driverfsd (pid $DAEMON_PID) exited with status $drc after unmount" >&2
            rc=1
        fi
    fi
    if [[ $rc -ne 0 ]]; then dump_log; fi
    [[ -n "$M" ]] && ! mounted "$M" && rmdir -- "$M" 2>/dev/null
    [[ -n "$WORK" ]] && rm -rf -- "$WORK"
    if [[ $rc -eq 0 ]]; then echo "PASS [$TEST_NAME]"; else echo "FAIL [$TEST_NAME] (exit $rc)" >&2; fi
    exit "$rc"
}

# wait_gone PID SECS: true once PID has exited (it is our child: reap-safe check).
wait_gone() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        kill -0 "$1" 2>/dev/null || return 0
        # A zombie child still answers kill -0; check its state.
        [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" == Z ]] && return 0
        sleep 0.1
    done
    return 1
}

# wait_mounted SECS: until $M is a fuse.driverfs mount, or the daemon died.
wait_mounted() {
    local i
    for ((i = 0; i < $1 * 10; i++)); do
        mounted "$M" && return 0
        if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
            fail "driverfsd exited before mounting $M"
        fi
        sleep 0.1
    done
    fail "$M did not show up as fuse.driverfs in /proc/self/mounts within $1 s"
}

# setup: preflight, temp dirs and the EXIT trap. Call once, first.
setup() {
    trap cleanup EXIT
    trap 'fail "interrupted"' INT TERM
    trap 'exit 1' USR1
    preflight
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/driverfs-$TEST_NAME.XXXXXX") || fail "mktemp -d failed"
    chmod 0700 "$WORK"
    PLUGINS_COPY=$(mktemp -d "$WORK/plugins.XXXXXX") || fail "mktemp -d failed"
    chmod 0700 "$PLUGINS_COPY"
    LOG="$WORK/driverfsd.log"
}

# start_daemon [DAEMON ARGS...]: mount a fresh dir in the foreground daemon.
start_daemon() {
    M=$(mktemp -d "${TMPDIR:-/tmp}/driverfs-mnt.XXXXXX") || fail "mktemp -d failed"
    "$DRIVERFSD" -f --plugin-dir "$PLUGINS_COPY" "$@" "$M" 2>"$LOG" &
    DAEMON_PID=$!
    wait_mounted 60
    pass "driverfsd (pid $DAEMON_PID) mounted $M"
}

# daemon_alive: the daemon runs and still serves the mount.
expect_daemon_alive() {
    kill -0 "$DAEMON_PID" 2>/dev/null || fail "driverfsd (pid $DAEMON_PID) died"
    mounted "$M" || fail "$M is no longer mounted"
    [[ -d "$M/bus/platform" ]] || fail "the mount does not answer (no $M/bus/platform)"
    pass "driverfsd still alive and serving"
}

# ---- waiting for events, not for the clock ------------------------------------
# A test that needs "the call is in flight" or "the call has returned" makes
# it so (a gate, below) and polls for it with a generous bound: the bound is
# only there so a broken daemon fails instead of hanging, and must hold on a
# machine ten times slower and busier than a developer's.

# wait_until SECS WHAT CMD...: poll CMD until it succeeds; fail after SECS s.
wait_until() {
    local secs=$1 what=$2 end
    shift 2
    end=$((SECONDS + secs))
    until "$@"; do
        ((SECONDS < end)) || fail "$what: not within $secs s"
        sleep 0.02
    done
}

# within SECS OUT CMD...: run CMD in the background with its output in OUT;
# true once OUT has been written, false if it has not after SECS seconds (a
# watchdog, not a measure). It waits for the result, not the process: a
# caller blocked in a FUSE request the daemon holds cannot be killed.
within() {
    local secs=$1 out=$2 end
    shift 2
    within_job() { "$@" >"$out.tmp" && mv -- "$out.tmp" "$out"; }
    # Not on our stdout: inside $(...) that would make the caller wait for
    # the job after all.
    background within_job "$@" >/dev/null
    end=$((SECONDS + secs))
    until [[ -e "$out" ]]; do
        ((SECONDS < end)) || return 1
        sleep 0.02
    done
}
# attr_is FILE VALUE: FILE reads VALUE now (a read error is just "no").
attr_is() { [[ "$(cat -- "$1" 2>/dev/null)" == "$2" ]]; }

# Gates: a FIFO in $WORK (outside the mount: plugin attributes are refused
# while a module is going) that fx_sleepy's `show nap` waits on once its
# `gate` attribute names it. The call stays in flight until release_gate.
declare -a GATES=()

# make_gate NAME: sets GATE to a new FIFO $WORK/NAME.gate.
make_gate() {
    GATE="$WORK/$1.gate"
    mkfifo -m 0600 -- "$GATE" || fail "mkfifo $GATE failed"
    GATES+=("$GATE")
}

# release_gate FIFO: let the show waiting on FIFO return. Opening for write
# blocks until the show has opened the FIFO for reading, so this also waits
# for a show that is pinned but not yet at the gate.
release_gate() {
    timeout 60 bash -c ': >"$1"' _ "$1" ||
        fail "no show opened the gate $1 within 60 s"
}

# background CMD...: run in the background; killed at cleanup if still running.
background() {
    "$@" &
    EXTRA_PIDS+=($!)
}

# load_led: install led.so, load it through control/load.
load_led() {
    install_plugin "$(plugin_file led)" led.so
    expect_write_ok "$M/control/load" "led"
}

# led_dir DEV: the LED class device directory led makes for the platform
# device DEV (as led_classdev_register: devices/platform/DEV/leds/DEV, the
# label being the device name when no label= property is given). Where the
# LED files (brightness, max_brightness, trigger, delay_on/off) are.
led_dir() { echo "$M/devices/platform/$1/leds/$1"; }

# mount_led0 [daemon args...]: start the daemon, load led, create led0;
# sets D to devices/platform/led0 (the platform device: uevent, driver,
# subsystem, power/) and LED to its LED class device
# devices/platform/led0/leds/led0 (brightness, max_brightness, trigger).
mount_led0() {
    start_daemon "$@"
    load_led
    expect_write_ok "$M/bus/platform/new_device" "led0"
    D="$M/devices/platform/led0"
    LED=$(led_dir led0)
}

# ---- control socket (driverfsctl) ------------------------------------------------
# DRIVERFSCTL: the built client; when unset, found next to the daemon in the
# build tree (src/daemon/driverfsd -> src/cli/driverfsctl).
# After start_ctl_daemon: SOCK (the --control socket), as well as M, LOG, ...

# ctl_preflight: the client exists; a missing one is a failure.
ctl_preflight() {
    if [[ -z "${DRIVERFSCTL:-}" ]]; then
        DRIVERFSCTL="$(dirname "$DRIVERFSD")/../cli/driverfsctl"
    fi
    [[ -x "$DRIVERFSCTL" ]] || fail "driverfsctl not found at $DRIVERFSCTL (build src/cli or export DRIVERFSCTL)"
}

# start_ctl_daemon [DAEMON ARGS...]: start_daemon with --control $WORK/ctl.sock.
start_ctl_daemon() {
    ctl_preflight
    SOCK="$WORK/ctl.sock"
    start_daemon --control "$SOCK" "$@"
    [[ -S "$SOCK" ]] || fail "no control socket at $SOCK after mounting"
    pass "control socket $SOCK is there"
}

# ctl ARGS...: driverfsctl against $SOCK (status and output as they are).
ctl() { "$DRIVERFSCTL" --socket "$SOCK" "$@"; }

# ctl_ok ARGS...: must exit 0; prints its stdout.
ctl_ok() {
    local out rc=0
    out=$(ctl "$@" 2>"$WORK/ctl.err") || rc=$?
    [[ $rc -eq 0 ]] || fail "driverfsctl $* exited $rc: $(cat "$WORK/ctl.err")"
    printf '%s' "$out"
}

# await_monitors FILE...: return once every monitor writing to a FILE is
# subscribed, which it shows by reporting a marker device being added. A
# marker added before a monitor subscribed is never reported, so markers are
# added until one is seen in every FILE; each is given a second to arrive (a
# late one is harmless: it is removed, and its events come before anything
# the caller does next). Up to 60 s in all, for a slow machine. Sets
# MONITOR_MARKER to the marker left in place (the caller removes it).
await_monitors() {
    local i j f seen end=$((SECONDS + 60))
    MONITOR_MARKER=""
    for ((i = 0; SECONDS < end; i++)); do
        ctl_ok add-device platform "sync$i" >/dev/null
        for ((j = 0; j < 10; j++)); do
            seen=1
            for f in "$@"; do grep -q "sync$i" "$f" || { seen=""; break; }; done
            [[ -n "$seen" ]] && break
            sleep 0.1
        done
        if [[ -n "$seen" ]]; then MONITOR_MARKER=sync$i; return 0; fi
        ctl_ok remove-device "sync$i" >/dev/null
    done
    fail "monitors never reported an event within 60 s (in $*)"
}

# expect_ctl_status RC STDERR_REGEX ARGS...: exit status RC and a matching message.
expect_ctl_status() {
    local want=$1 re=$2 rc=0
    shift 2
    ctl "$@" >/dev/null 2>"$WORK/ctl.err" || rc=$?
    expect_eq "exit status of driverfsctl $*" "$want" "$rc"
    expect_match "stderr of driverfsctl $*" "$re" "$(cat "$WORK/ctl.err")"
}

# sock_exchange PATH LINE...: send raw lines on one connection, print every
# reply line until there is one per line sent, the daemon closes, or 60 s
# pass without data (a watchdog: a slow daemon is waited for, a silent one
# fails the comparison that follows).
sock_exchange() {
    python3 - "$@" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
for line in sys.argv[2:]:
    s.sendall(line.encode() + b"\n")
s.settimeout(60)
data = b""
try:
    while data.count(b"\n") < len(sys.argv) - 2:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except socket.timeout:
    pass
sys.stdout.write(data.decode())
PYEOF
}
