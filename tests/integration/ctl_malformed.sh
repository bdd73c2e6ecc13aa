#!/bin/bash
# ctl_malformed: bad input on the control socket gets a clear error and never
# disturbs the daemon or other clients: malformed JSON, non-objects, unknown
# commands, wrong types, missing fields, property names or values with
# control characters (each answered, the connection kept),
# a line over 32 MiB (EMSGSIZE, then closed), clients that hang up mid-line or
# stall, and a long-draining unload that must not hold up other clients.
. "$(dirname "$0")/lib/common.sh"
setup
start_ctl_daemon
install_plugin "$(plugin_file led)" led.so
install_plugin "$(fixture_file fx_sleepy)" fx_sleepy.so

# One connection, several bad requests, then a good one: every reply as
# "id errno name message" (or "id ok").
summary() {
    python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    if "error" in r:
        e = r["error"]; print(r["id"], e["errno"], e["name"], e["message"])
    else:
        print(r["id"], "ok")'
}
got=$(sock_exchange "$SOCK" \
    'this is not json' \
    '[1, 2]' \
    '{"id": 2}' \
    '{"id": 3, "cmd": 5}' \
    '{"id": 4, "cmd": "frobnicate"}' \
    '{"id": 5, "cmd": "load", "plugin": 7}' \
    '{"id": 6, "cmd": "unload"}' \
    '{"id": "seven", "cmd": "unload", "module": "led", "timeout": "soon"}' \
    '{"id": 8, "cmd": "add-device", "bus": "platform", "name": "x0", "properties": {"k": 1}}' \
    '{"id": 10, "cmd": "add-device", "bus": "platform", "name": "x1", "properties": {"k": "a\nB=forged"}}' \
    '{"id": 11, "cmd": "add-device", "bus": "platform", "name": "x2", "properties": {"k\u0000": "v"}}' \
    '{"id": 9, "cmd": "ping"}' | summary)
expect_eq "replies to bad requests" 'None 22 EINVAL malformed JSON
None 22 EINVAL a request must be a JSON object
2 22 EINVAL missing "cmd"
3 22 EINVAL "cmd" must be a string
4 38 ENOSYS unknown command '"'frobnicate'"'
5 22 EINVAL "plugin" must be a string
6 22 EINVAL missing "module"
seven 22 EINVAL "timeout" must be a number
8 22 EINVAL "properties.k" must be a string
10 22 EINVAL the value of property k holds a control character
11 22 EINVAL '"'k\\x00'"' is not a property name (no '"'='"', spaces or control characters)
9 ok' "$got"
expect_eq "nothing was created" "" "$(ctl_ok devices)"

# Over 32 MiB without a newline: EMSGSIZE, then the daemon hangs up.
got=$(python3 - "$SOCK" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
try:
    s.sendall(b'{"id":1,"cmd":"ping","pad":"' + b"x" * (33 * 1024 * 1024))
except BrokenPipeError:
    pass
s.settimeout(60)  # a watchdog: the daemon hangs up long before
data = b""
while True:
    try:
        c = s.recv(4096)
    except ConnectionResetError:
        break
    if not c: break
    data += c
lines = data.decode().splitlines()
e = json.loads(lines[0])["error"]
print(len(lines), e["name"], "closed")
PY
)
expect_eq "overlong line" "1 EMSGSIZE closed" "$got"

# Clients that hang up mid-line, and one that stalls holding a half line.
python3 -c '
import socket, sys
for i in range(20):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"{\"id\":1,\"cmd\":"); s.close()
' "$SOCK"
# Each says when it is in place (a file), so the checks below run with them
# there however slowly they start; they stay until cleanup kills them.
stall() { exec python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"{\"id\":1,\"cm")
open(sys.argv[2], "w").close(); time.sleep(3600)' "$SOCK" "$WORK/stall.ready"; }
background stall
# A monitor that never reads its events (after the reply that it monitors).
deaf() { exec python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"{\"id\":1,\"cmd\":\"monitor\"}\n")
s.recv(1)
open(sys.argv[2], "w").close(); time.sleep(3600)' "$SOCK" "$WORK/deaf.ready"; }
background deaf
wait_until 30 "the stalled client to connect" test -e "$WORK/stall.ready"
wait_until 30 "the deaf monitor to subscribe" test -e "$WORK/deaf.ready"
for i in 1 2 3 4 5; do ctl_ok add-device platform led$i >/dev/null; done
for i in 1 2 3 4 5; do ctl_ok remove-device led$i >/dev/null; done
expect_match "ping with stalled clients around" '^driverfsd ' "$(ctl_ok ping)"

# A draining unload runs off the I/O thread: another client is answered
# meanwhile. A read of nap held at a gate keeps the drain going for as long
# as the test wants: with --timeout 2 it ends in EBUSY; with a long drain, a
# list sent while it waits must come back although the unload cannot (a
# watchdog, far beyond the time any machine needs, stands for "at once").
ctl_ok load fx_sleepy >/dev/null
ctl_ok add-device platform sleepy0 >/dev/null
write_attr "$M/devices/platform/sleepy0/nap" 3
make_gate nap
write_attr "$M/devices/platform/sleepy0/gate" "$GATE"
# One read(2), as the call in flight is the point: cat's second read, for
# end of file, may come after the unload has removed nap (ENODEV).
slow_read() { try_read "$M/devices/platform/sleepy0/nap" >"$WORK/nap.out"; }
background slow_read
SLOW_PID=${EXTRA_PIDS[-1]}
wait_until 30 "the read of nap to enter show (refcnt 1)" attr_is "$M/module/fx_sleepy/refcnt" 1
rc=0
timeout 60 "$DRIVERFSCTL" --socket "$SOCK" unload fx_sleepy --timeout 2 >"$WORK/unload.out" 2>&1 || rc=$?
expect_eq "draining unload exit status" "1" "$rc"
expect_match "draining unload message" 'unload: .*\(EBUSY\)' "$(cat "$WORK/unload.out")"
unload_job() { timeout 120 "$DRIVERFSCTL" --socket "$SOCK" unload fx_sleepy --timeout 3600 >"$WORK/unload.out" 2>&1; echo $? >"$WORK/unload.rc"; }
background unload_job
UNLOAD_PID=${EXTRA_PIDS[-1]}
wait_until 30 "the unload to begin (state going)" attr_is "$M/module/fx_sleepy/state" going
rc=0
listing=$(timeout 30 "$DRIVERFSCTL" --socket "$SOCK" list 2>&1) || rc=$?
expect_eq "list answered while unload drains (exit status; 124: no answer within 30 s)" "0" "$rc"
expect_match "list while unload drains" '^fx_sleepy +1 going' "$(sed -n 2p <<<"$listing")"
kill -0 "$UNLOAD_PID" 2>/dev/null || fail "the unload ended while a read was held in show: $(cat "$WORK/unload.out")"
release_gate "$GATE"
wait "$SLOW_PID"
expect_eq "the slow read completed normally" "OK:3|" "$(cat "$WORK/nap.out")"
wait "$UNLOAD_PID"
expect_eq "the long unload succeeded once the read returned" "0" "$(cat "$WORK/unload.rc")"
expect_eq "fx_sleepy unloaded afterwards" "gone" "$(read_attr "$M/module/fx_sleepy/state")"
expect_daemon_alive
