#!/bin/bash
# ops_unit_hardening: driverfs@.service is hardened (systemd-analyze security
# exposure <= 5.0, its output in this test's log) and the daemon still works
# under the unit's limits. There is no systemd to start the unit here, so the
# limits are applied the way systemd applies them, or checked against a trace:
#   * CapabilityBoundingSet and NoNewPrivileges: setpriv runs the daemon (and
#     the ExecStop's fusermount3) with that bounding set and no_new_privs;
#   * UMask: set before the daemon starts;
#   * SystemCallFilter, RestrictAddressFamilies, DeviceAllow and
#     MemoryDenyWriteExecute: strace -f records every system call of the
#     daemon and of fusermount3 while the demo tree is read, written, a
#     plugin unloaded and loaded again and the tree unmounted; each call must
#     be in the filter's groups (as systemd-analyze syscall-filter expands
#     them), each socket of an allowed family, each device opened allowed,
#     and no mapping both writable and executable.
# The daemon runs in the foreground (-f); the unit's Type=forking adds one
# fork, pipe and setsid, all in @system-service.
. "$(dirname "$0")/lib/common.sh"

in_private_mount_ns "mounting FUSE with a restricted capability set" "$@"
setup
: "${DRIVERFS_SRC:?DRIVERFS_SRC is not set (tests/integration/meson.build sets it)}"
for tool in systemd-analyze setpriv strace; do
    command -v "$tool" >/dev/null || fail "$tool is missing (.ci/install-deps installs it)"
done
BUILD=$(cd "$(dirname "$DRIVERFSD")/../.." && pwd)
UNIT_SRC="$BUILD/mountscripts/driverfs@.service"
[[ -f $UNIT_SRC ]] || fail "$UNIT_SRC is missing: the build generates it"

# ---- the rating ---------------------------------------------------------------
UNIT="$WORK/driverfs@mnt-driverfs.service"
cp "$UNIT_SRC" "$UNIT"
systemd-analyze security --offline=true --no-pager "$UNIT" >"$WORK/security.txt" 2>&1
cat "$WORK/security.txt"
exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$WORK/security.txt")
[[ -n $exposure ]] || fail "systemd-analyze security printed no exposure level"
awk -v e="$exposure" 'BEGIN { exit !(e <= 5.0) }' || fail "exposure $exposure is above 5.0"
pass "systemd-analyze security: exposure $exposure (at most 5.0)"

unit_value() { sed -n "s/^$1=//p" "$UNIT" | tail -1; }
CAPS=$(unit_value CapabilityBoundingSet)
FILTER=$(unit_value SystemCallFilter)
FAMILIES=$(unit_value RestrictAddressFamilies)
UMASK=$(unit_value UMask)
DEVICES=$(sed -n 's/^DeviceAllow=\([^ ]*\).*/\1/p' "$UNIT")
for v in CAPS FILTER FAMILIES UMASK DEVICES; do [[ -n ${!v} ]] || fail "the unit sets no $v"; done
[[ $(unit_value NoNewPrivileges) == yes ]] || fail "the unit does not set NoNewPrivileges=yes"
[[ $(unit_value MemoryDenyWriteExecute) == yes ]] || fail "the unit does not set MemoryDenyWriteExecute=yes"
# setpriv's spelling of the bounding set: -all,+sys_admin,...
BOUNDING="-all"
for c in $CAPS; do BOUNDING+=",+$(tr '[:upper:]' '[:lower:]' <<<"${c#CAP_}")"; done

# restricted CMD...: run CMD as the unit would, traced into $WORK/trace.N.
restricted() {
    strace -f -qq -o "$WORK/trace" -ff \
        setpriv --no-new-privs --bounding-set "$BOUNDING" --inh-caps -all -- "$@"
}

# ---- the daemon under the limits ---------------------------------------------------
for p in led hwmon gpio-sim vbus example; do install_plugin "$(plugin_file "$p")"; done
M=$(mktemp -d "${TMPDIR:-/tmp}/driverfs-mnt.XXXXXX") || fail "mktemp -d failed"
(umask "$UMASK" && exec strace -f -qq -ff -o "$WORK/trace" \
    setpriv --no-new-privs --bounding-set "$BOUNDING" --inh-caps -all -- \
    "$DRIVERFSD" -f --plugin-dir "$PLUGINS_COPY" --control "$WORK/ctl.sock" \
    --config "$DRIVERFS_SRC/mountscripts/etc/demo.json" "$M") 2>"$LOG" &
DAEMON_PID=$!
wait_mounted 60
pass "driverfsd mounted $M with bounding set $CAPS, no_new_privs, umask $UMASK, under strace"

grep -q '^CapBnd:[[:space:]]*0000000000200000$' "/proc/$(pgrep -n -x driverfsd)/status" ||
    fail "the daemon's bounding set is not CAP_SYS_ADMIN alone: $(grep Cap "/proc/$(pgrep -n -x driverfsd)/status")"
pass "the daemon runs with CAP_SYS_ADMIN alone"

expect_eq "led0 max_brightness" "255" "$(cat "$M/class/leds/led0/max_brightness")"
echo 7 >"$M/class/leds/led1/brightness" || fail "writing led1 brightness failed"
expect_eq "led1 brightness after a write" "7" "$(cat "$M/class/leds/led1/brightness")"
expect_eq "hwmon emulated temperature" "42000" "$(cat "$M/devices/platform/hwmon0/hwmon/hwmon0/temp1_input" 2>&1)"
n=$(find "$M" -type f -perm -0444 -print0 2>/dev/null | xargs -0 cat 2>/dev/null | wc -c)
[[ $n -gt 0 ]] || fail "reading every readable file of the demo tree gave nothing"
pass "read the whole demo tree ($n bytes)"
echo led >"$M/control/unload" || fail "unloading led failed"
echo led >"$M/control/load" || fail "loading led again failed"
# The platform devices stay; the reloaded driver binds them again.
wait_until 30 "led0 bound again after unload and load" attr_is "$M/class/leds/led0/max_brightness" 255
pass "led unloaded and loaded again (dlopen, stray-thread scan, drain), led0 bound again"
sock_mode=$(stat -c %a "$WORK/ctl.sock")
expect_eq "control socket mode under the unit's umask" "600" "$sock_mode"

restricted fusermount3 -u "$M" || fail "fusermount3 -u under the unit's limits failed (the ExecStop)"
wait_gone "$DAEMON_PID" 30 || fail "the daemon did not exit after the ExecStop's fusermount3 -u"
drc=0
wait "$DAEMON_PID" || drc=$?
DAEMON_PID=""
expect_eq "daemon exit status after fusermount3 -u" "0" "$drc"

# ---- the trace against the filter ------------------------------------------------
systemd-analyze syscall-filter --no-pager >"$WORK/groups.txt" 2>&1 || fail "systemd-analyze syscall-filter failed"
verdict=$(python3 - "$WORK/groups.txt" "$FILTER" "$FAMILIES" "$DEVICES" "$DRIVERFSD" "$WORK"/trace.* <<'PY'
import re, sys
groups_txt, filt, families, devices, daemon, *traces = sys.argv[1:]
groups, cur = {}, None
for line in open(groups_txt):
    if line.startswith("@"):
        cur = groups.setdefault(line.split()[0], [])
    elif cur is not None and line.strip() and not line.strip().startswith("#"):
        cur.append(line.split()[0])
def expand(item, seen=()):
    if not item.startswith("@"):
        return {item}
    out = set()
    for x in groups.get(item, []):
        if x not in seen:
            out |= expand(x, seen + (item,))
    return out
allowed = set()
for item in filt.split():
    allowed |= expand(item)
# Always allowed by systemd's seccomp allow lists.
allowed |= {"exit", "exit_group", "rt_sigreturn", "sigreturn", "restart_syscall"}
fams = {f.strip() for f in families.split()}
devs = set(devices.split()) | {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
                                "/dev/tty", "/dev/ptmx"}
call = re.compile(r"^([a-z0-9_]+)\((.*)")
def calls_of_program(path):
    """The calls in one strace -ff file after setpriv executed the program;
    a file with no execve is a thread or child of a program already running."""
    lines = [l for l in open(path, errors="replace")]
    execs = [i for i, l in enumerate(lines) if l.startswith("execve(") and "setpriv" not in l.split(",")[0]
             and l.rstrip().endswith("= 0")]
    if any(l.startswith("execve(") for l in lines):
        if not execs:
            return []          # setpriv failed to run the program: nothing of ours ran
        lines = lines[execs[0] + 1:]
    return lines
bad, counted, seen_calls = [], 0, set()
for path in traces:
    for line in calls_of_program(path):
        m = call.match(line)
        if not m:
            continue
        name, args = m.groups()
        failed = " = -1 " in line
        counted += 1
        seen_calls.add(name)
        if name not in allowed:
            bad.append(f"{name} is outside SystemCallFilter ({line.strip()[:120]})")
        if name == "socket" and args.split(",")[0] not in fams:
            bad.append(f"socket of family {args.split(',')[0]} is outside RestrictAddressFamilies")
        if name in ("open", "openat") and not failed:
            dev = re.search(r'"(/dev/[^"]*)"', args)
            if dev and dev.group(1) not in devs and not dev.group(1).startswith(("/dev/fd/", "/dev/shm/")):
                bad.append(f"opens {dev.group(1)}, which DeviceAllow does not allow")
        if name in ("mmap", "mprotect", "pkey_mprotect") and not failed:
            prot = args.split(",")[2]
            if "PROT_EXEC" in prot and (name != "mmap" or "PROT_WRITE" in prot):
                bad.append(f"{name} with {prot.strip()} breaks MemoryDenyWriteExecute")
print("\n".join(sorted(set(bad))) if bad else f"ok: {counted} calls of {len(seen_calls)} kinds in {len(traces)} threads")
PY
) || fail "reading the traces failed"
[[ $verdict == ok:* ]] || fail "the daemon or fusermount3 did what the unit forbids:
$verdict"
pass "trace: $verdict"
