#!/bin/bash
# dir_listing_churn: a listing of a big directory stays correct while devices
# come and go under it. bus/vbus/devices holds 3000 devices that stay; a
# background loop adds and deletes other devices (churnN) all along. Each of
# 20 listings, through READDIR (ls -f) and through READDIRPLUS with every
# entry stat'ed (ls -l), must hold each of the 3000 exactly once, no name
# twice, and nothing but those and churn devices. After the churn the
# listing is exactly the 3000 plus the churn devices left, and a removed
# entry stat'ed through an old READDIRPLUS answer is gone (ENOENT).
. "$(dirname "$0")/lib/common.sh"

setup
install_plugin "$(plugin_file vbus)"
DRIVERFS_VBUS_DEVICES=3000 start_daemon --load vbus
D="$M/bus/vbus/devices"
expect_eq "3000 devices enumerated" "3000" "$(ls -f "$D" | grep -c '^vbus[0-9]')"

STOP="$WORK/stop-churn"
churn() {
    local i=0
    while [[ ! -e $STOP ]]; do
        echo "churn$((i % 50)) id=8086:1234" >"$M/bus/vbus/new_device" 2>/dev/null
        ((i >= 25)) && echo "churn$(((i - 25) % 50))" >"$M/bus/vbus/delete_device" 2>/dev/null
        i=$((i + 1))
    done
    echo "$i" >"$WORK/churn-count"
}
background churn

check_listing() {  # HOW FILE
    python3 - "$1" "$2" <<'EOF'
import collections, re, sys
how, path = sys.argv[1:]
names = [l.rstrip("\n") for l in open(path)]
if how == "ls-l":
    # "lrwxrwxrwx 1 root root 0 ... vbus12 -> ../../../devices/vbus12"
    names = [l.split(" -> ")[0].rsplit(" ", 1)[-1] for l in names if " -> " in l]
names = [n for n in names if n not in (".", "..")]
count = collections.Counter(names)
twice = sorted(n for n, c in count.items() if c > 1)
stable = {f"vbus{i}" for i in range(3000)}
missing = sorted(stable - count.keys())
foreign = sorted(n for n in count if n not in stable and not re.fullmatch(r"churn\d+", n))
problems = []
if twice: problems.append(f"listed twice: {twice[:5]}")
if missing: problems.append(f"{len(missing)} stable devices missing, e.g. {missing[:5]}")
if foreign: problems.append(f"names that are no device: {foreign[:5]}")
print("; ".join(problems) if problems else f"ok {len(names)}")
EOF
}

for ((round = 1; round <= 10; round++)); do
    ls -f "$D" >"$WORK/ls-f.txt" 2>"$WORK/ls-f.err" || fail "ls -f failed: $(cat "$WORK/ls-f.err")"
    r=$(check_listing ls-f "$WORK/ls-f.txt")
    [[ $r == ok* ]] || fail "ls -f listing $round during churn: $r"
    # ls -l may find an entry of the listing already deleted when it stats
    # it, reads its link or asks for its ACL or security label: a churn
    # device, and ls says so on stderr ("cannot access 'X': ..." for the
    # first two, "X: ..." for the last); exit status 1.
    ls -l "$D" >"$WORK/ls-l.txt" 2>"$WORK/ls-l.err"
    other=$(grep -Ev "/churn[0-9]+'?: No such file or directory$" "$WORK/ls-l.err" | head -3 | cat -A)
    [[ -z $other ]] || fail "ls -l failed on something other than a deleted churn device: $other"
    r=$(check_listing ls-l "$WORK/ls-l.txt")
    [[ $r == ok* ]] || fail "ls -l listing $round during churn: $r"
done
touch "$STOP"
wait_until 30 "the churn loop stops" test -s "$WORK/churn-count"
churned=$(cat "$WORK/churn-count")
[[ $churned -gt 30 ]] || fail "the churn loop ran only $churned times: the listings did not race it"
pass "20 listings (ls -f and ls -l), each stable device once, during $churned device additions"

left=$(ls -f "$D" | grep -c '^churn')
expected=$(python3 -c "
live = set()
for i in range($churned):
    live.add(i % 50)
    if i >= 25:
        live.discard((i - 25) % 50)
print(len(live))")
expect_eq "after the churn: the churn devices still there" "$expected" "$left"
expect_eq "after the churn: the stable devices" "3000" "$(ls -f "$D" | grep -c '^vbus[0-9]')"

# An entry READDIRPLUS handed to the kernel, then deleted: stat must not
# find it any more (its inode was looked up, so it is the kernel's to drop).
echo "gone0 id=8086:1234" >"$M/bus/vbus/new_device" || fail "cannot add gone0"
ls -l "$D" >/dev/null 2>&1
echo gone0 >"$M/bus/vbus/delete_device" || fail "cannot delete gone0"
lstat_gone0=$(python3 -c '
import errno, os, sys
try:
    os.lstat(sys.argv[1])
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])' "$D/gone0")
expect_eq "lstat of a deleted entry READDIRPLUS listed" "ENOENT" "$lstat_gone0"
expect_daemon_alive
