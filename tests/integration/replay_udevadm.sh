#!/usr/bin/env bash
# replay_udevadm: devices every Linux machine has, recorded from this
# machine's real /sys twice (driverfsctl record, umockdev-record), replayed
# through driverfs-run --device, must give udevadm the same answers as the
# real /sys: `info -q all` and `info -a` (which walks up the parents). The
# umockdev recording replayed by umockdev-run must print what driverfs-run
# prints for it. Values that change by themselves are compared by name only
# (VOLATILE below); the udev database's own time stamp is dropped.
source "$(dirname "$0")/run_common.sh"
run_setup
for tool in udevadm umockdev-record umockdev-run; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (.ci/install-deps installs it)"
done

# Attributes whose value moves between the recording and the replay.
VOLATILE='statistics/|power/runtime_(active|suspended)_time|carrier_(changes|up_count|down_count)|cpuidle/|cur_freq|/stat$|^stat$|cpufreq/'

# What udevadm prints, made comparable: volatile values masked, the
# database's initialization time (udevd's, absent without one) dropped.
# SORT=sort sorts the E: lines: umockdev-record writes a device's properties
# sorted, so its dump cannot give the kernel's order back; our own record and
# replay keep it, and are compared as they are.
normalize() {
    python3 - "$VOLATILE" "$1" "${2:-keep}" <<'PY'
import re, sys
vol = re.compile(sys.argv[1])
order = sorted if sys.argv[3] == "sort" else list
out, props = [], []
for line in open(sys.argv[2]):
    line = line.rstrip("\n")
    if line.startswith("E: "):
        if not line.startswith("E: USEC_INITIALIZED="):
            props.append(line)
        continue
    out += order(props)
    props = []
    m = re.match(r'( *ATTRS?\{)([^}]*)(\}==)"(.*)"$', line)
    if m and vol.search(m.group(2)):
        line = m.group(1) + m.group(2) + m.group(3) + '"<volatile>"'
    out.append(line)
out += order(props)
print("\n".join(out))
PY
}

tty_path=$(readlink -f /sys/class/tty/tty) || fail "no /sys/class/tty/tty on this machine"
declare -A DEVICE=(
    [lo]=/devices/virtual/net/lo
    [null]=/devices/virtual/mem/null
    [cpu0]=/devices/system/cpu/cpu0
    [tty]=${tty_path#/sys}
)
for key in "${!DEVICE[@]}"; do
    p=${DEVICE[$key]}
    [[ -e /sys$p/uevent ]] || fail "this machine has no $p"
    udevadm info -q all -p "$p" >"$OUT/$key.real.q" 2>&1 || fail "udevadm info -q all -p $p on the real /sys"
    udevadm info -a -p "$p" >"$OUT/$key.real.a" 2>&1 || fail "udevadm info -a -p $p on the real /sys"
    "$DRIVERFSCTL" record "/sys$p" >"$OUT/$key.json" 2>"$OUT/$key.record.err" ||
        fail "driverfsctl record /sys$p: $(cat "$OUT/$key.record.err")"
    umockdev-record "/sys$p" >"$OUT/$key.umockdev" 2>"$OUT/$key.umockdev.err" ||
        fail "umockdev-record /sys$p: $(cat "$OUT/$key.umockdev.err")"
done
pass "recorded ${!DEVICE[*]} with driverfsctl record and umockdev-record"

# only_recorded REAL_A DUMP: REAL_A (udevadm info -a of the real /sys)
# without the attributes DUMP does not hold: umockdev-record leaves out
# some (those two directories deep, such as queues/rx-0/rps_cpus), and
# parents of no subsystem (/devices/system/cpu) with all they hold.
only_recorded() {
    python3 - "$1" "$2" <<'PY'
import re, sys
real, dump = sys.argv[1], sys.argv[2]
recorded, path = {}, None
for line in open(dump):
    if line.startswith("P: "):
        path = line[3:].strip()
        recorded[path] = set()
    elif line[:3] in ("A: ", "H: ") and path:
        recorded[path].add(line[3:].split("=", 1)[0])
out, dropped, block = [], 0, None
for line in open(real):
    m = re.match(r"\s*looking at (?:parent )?device '([^']*)'", line)
    if m:
        block = m.group(1)
    if block is not None and block not in recorded:
        if line.strip():
            dropped += 1
        continue
    a = re.match(r'\s*ATTRS?\{([^}]*)\}==', line)
    if a and block in recorded and a.group(1) not in recorded[block]:
        dropped += 1
        continue
    out.append(line)
sys.stdout.write("".join(out))
sys.stderr.write(f"{dropped}\n")
PY
}

# compare WHAT EXPECTED GOT [sort]: the same lines after normalize, else the diff.
compare() {
    normalize "$2" "${4:-keep}" >"$2.norm"
    normalize "$3" "${4:-keep}" >"$3.norm"
    if ! diff -u "$2.norm" "$3.norm" >"$3.diff"; then
        fail "$1 differs (- ${2##*/}, + ${3##*/}):"$'\n'"$(cat "$3.diff")"
    fi
    pass "$1: $(wc -l <"$3.norm") lines the same"
}

for key in "${!DEVICE[@]}"; do
    p=${DEVICE[$key]}
    for form in json umockdev; do
        for q in q a; do
            if [[ $q == q ]]; then args=(-q all); else args=(-a); fi
            drun --device "$OUT/$key.$form" -- udevadm info "${args[@]}" -p "$p" \
                >"$OUT/$key.$form.$q" 2>"$OUT/$key.$form.$q.err" ||
                fail "driverfs-run --device $key.$form -- udevadm info ${args[*]} -p $p: $(cat "$OUT/$key.$form.$q.err")"
            real="$OUT/$key.real.$q"
            if [[ $form == umockdev && $q == a ]]; then
                only_recorded "$real" "$OUT/$key.umockdev" >"$OUT/$key.real.a.umockdev" 2>"$OUT/$key.left_out"
                real="$OUT/$key.real.a.umockdev"
                echo "# $key: $(cat "$OUT/$key.left_out") lines of the real /sys (attributes, devices) are not in the umockdev-record dump"
            fi
            order=keep
            [[ $form == umockdev ]] && order=sort
            compare "$key ($form) udevadm info ${args[*]} against the real /sys" "$real" "$OUT/$key.$form.$q" "$order"
        done
    done
    umockdev-run -d "$OUT/$key.umockdev" -- udevadm info -a -p "$p" >"$OUT/$key.umr.a" 2>"$OUT/$key.umr.err" ||
        fail "umockdev-run -d $key.umockdev -- udevadm info -a -p $p: $(cat "$OUT/$key.umr.err")"
    compare "$key: umockdev-run and driverfs-run replay the same recording" "$OUT/$key.umr.a" "$OUT/$key.umockdev.a"
done
expect_nothing_left
