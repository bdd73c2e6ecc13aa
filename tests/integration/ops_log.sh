#!/bin/bash
# ops_log: the daemon's log ring, read with `driverfsctl log`. A failed
# control-file write leaves its reason there (level error, UTC time, seq);
# --json gives one object per record; -f gives the backlog, then each new
# message, with no gap and no repeat; the ring keeps the newest 2048 records
# and at most 1 MiB of their text;
# bad requests are refused. A daemon started in the background with no
# syslog socket keeps logging to a stderr that is a regular file.
. "$(dirname "$0")/lib/common.sh"
setup
start_ctl_daemon

# One record per line in --json: seq, time, level, message, as a script needs.
records_json() { ctl_ok --json log; }
field_of_last() {  # FIELD REGEX: FIELD of the newest record whose message matches REGEX
    records_json | python3 -c '
import json, re, sys
hits = [r for r in map(json.loads, sys.stdin) if re.search(sys.argv[2], r["message"])]
print(hits[-1][sys.argv[1]] if hits else "<none>")' "$1" "$2"
}

expect_write_errno ENOENT "$M/control/load" "no-such-plugin"
expect_match "driverfsctl log names the failed control/load write" \
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z error: control/load: no plugin 'no-such-plugin'" \
    "$(ctl_ok log | grep no-such-plugin)"
expect_eq "its level in --json" "error" "$(field_of_last level "no plugin 'no-such-plugin'")"

# The time is now, give or take a slow machine: within 10 minutes.
age=$(records_json | python3 -c '
import datetime, json, sys
last = [json.loads(l) for l in sys.stdin][-1]
t = datetime.datetime.strptime(last["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
print("recent" if abs((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds()) < 600 else last["time"])')
expect_eq "record time is UTC now" "recent" "$age"

install_plugin "$(plugin_file led)" led.so
ctl_ok load led >/dev/null
seqs=$(records_json | python3 -c 'import json, sys; print(" ".join(str(json.loads(l)["seq"]) for l in sys.stdin))')
expect_eq "seqs count 1, 2, ... with nothing missing" "yes" \
    "$(python3 -c 'import sys; s=[int(x) for x in sys.argv[1].split()]; print("yes" if s==list(range(1,len(s)+1)) else s)' "$seqs")"
expect_match "the load is logged at info" "^info$" "$(field_of_last level '^plugin led .* loaded from ')"

# -f: the backlog, then what comes after, in order, each once.
background ctl log -f >"$WORK/follow.txt" 2>"$WORK/follow.err"
wait_until 60 "log -f printed its backlog" grep -q "plugin led .* loaded" "$WORK/follow.txt"
ctl_ok unload led >/dev/null
expect_write_errno ENOENT "$M/control/load" "after-follow"
wait_until 60 "log -f printed the new messages" grep -q "after-follow" "$WORK/follow.txt"
expect_eq "log -f: the unload line after the backlog's load line, once each" \
    "loaded unloaded after-follow" \
    "$(grep -oE "plugin led [0-9.]+ loaded|plugin led unloaded|'after-follow'" "$WORK/follow.txt" |
        sed -E "s/.*unloaded$/unloaded/; s/.*[0-9] loaded$/loaded/; s/'after-follow'/after-follow/" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "log -f repeats nothing it printed" "0" \
    "$(sort "$WORK/follow.txt" | uniq -d | wc -l)"
expect_eq "log -f and log agree on the same records" "$(ctl_ok log)" "$(cat "$WORK/follow.txt")"

# The ring keeps the newest 2048: 2100 more failed loads push the first out.
python3 - "$M/control/load" <<'EOF'
import os, sys
for i in range(2100):
    fd = os.open(sys.argv[1], os.O_WRONLY)
    try:
        os.write(fd, b"flood-%d" % i)
    except OSError:
        pass
    finally:
        os.close(fd)
EOF
expect_eq "records kept after 2100 more" "2048" "$(records_json | grep -c "")"
expect_eq "the newest is the last flood line" "yes" \
    "$(ctl_ok log | tail -1 | grep -q "'flood-2099'" && echo yes || echo no)"
expect_eq "the first records are gone" "<none>" "$(field_of_last seq "no plugin 'no-such-plugin'")"

# ... and at most 1 MiB of their text: 400 names of 3000 bytes each.
python3 - "$M/control/load" <<'EOF'
import os, sys
for i in range(400):
    fd = os.open(sys.argv[1], os.O_WRONLY)
    try:
        os.write(fd, b"long%03d-" % i + b"x" * 2992)
    except OSError:
        pass
    finally:
        os.close(fd)
EOF
expect_eq "records and text after 400 long messages" "yes" "$(records_json | python3 -c '
import json, sys
recs = [json.loads(l) for l in sys.stdin]
size = sum(len(r["message"].encode()) for r in recs)
ok = len(recs) < 2048 and 1024 * 1024 - 4096 < size <= 1024 * 1024 and "long399-" in recs[-1]["message"]
print("yes" if ok else (len(recs), size, recs[-1]["message"][:40]))')"

expect_ctl_status 2 "unknown option '-x' for log" log -x
expect_ctl_status 2 "usage: driverfsctl log" log extra
bad=$(sock_exchange "$SOCK" '{"id":1,"cmd":"log","after":-1}' '{"id":2,"cmd":"log","follow":"yes"}')
expect_match "after -1 is EINVAL" '"errno":22.*"id":1}' "$(sed -n 1p <<<"$bad")"
expect_match "follow \"yes\" is EINVAL" '"errno":22.*"id":2}' "$(sed -n 2p <<<"$bad")"
expect_daemon_alive

# In the background (no -f), with no syslog socket, stderr stays the log
# when it is a file. With one, the messages go to syslog instead.
fusermount3 -u "$M" || fail "fusermount3 -u $M failed"
wait_gone "$DAEMON_PID" 60 || fail "the first daemon did not exit after unmount"
wait "$DAEMON_PID" || fail "the first daemon exited with status $?"
DAEMON_PID=""
SOCK2="$WORK/ctl2.sock"
timeout 60 "$DRIVERFSD" --plugin-dir "$PLUGINS_COPY" --control "$SOCK2" "$M" 2>"$WORK/bg.err" ||
    fail "driverfsd in the background did not start: $(cat "$WORK/bg.err")"
# Its parent returns once the mount is up.
mounted "$M" || fail "the background daemon returned but $M is not mounted"
expect_write_errno ENOENT "$M/control/load" "in-background"
expect_match "the background daemon's ring has it" "control/load: no plugin 'in-background'" \
    "$("$DRIVERFSCTL" --socket "$SOCK2" log)"
if [[ -S /dev/log ]]; then
    expect_eq "with a syslog socket, stderr gets nothing" "0" "$(grep -c in-background "$WORK/bg.err")"
else
    expect_match "with no syslog socket, the stderr file gets it" \
        "driverfsd: error: control/load: no plugin 'in-background'" "$(cat "$WORK/bg.err")"
fi
bgpid=$("$DRIVERFSCTL" --socket "$SOCK2" --json ping | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
fusermount3 -u "$M" || fail "fusermount3 -u $M (background daemon) failed"
end=$((SECONDS + 60))
while kill -0 "$bgpid" 2>/dev/null; do
    ((SECONDS < end)) || fail "the background daemon (pid $bgpid) still runs 60 s after unmount"
    sleep 0.05
done
pass "the background daemon exited after unmount"
