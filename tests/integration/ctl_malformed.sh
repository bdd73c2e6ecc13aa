#!/bin/bash
# ctl_malformed: bad input on the control socket gets a clear error and never
# disturbs the daemon or other clients: malformed JSON, non-objects, unknown
# commands, wrong types, missing fields, property names or values with
# control characters (each answered, the connection kept),
# a line over 64 KiB (EMSGSIZE, then closed), clients that hang up mid-line or
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

# Over 64 KiB without a newline: EMSGSIZE, then the daemon hangs up.
got=$(python3 - "$SOCK" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
try:
    s.sendall(b'{"id":1,"cmd":"ping","pad":"' + b"x" * (70 * 1024))
except BrokenPipeError:
    pass
s.settimeout(5)
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
stall() { exec python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"{\"id\":1,\"cm"); time.sleep(30)' "$SOCK"; }
background stall
# A monitor that never reads its events.
deaf() { exec python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"{\"id\":1,\"cmd\":\"monitor\"}\n"); time.sleep(30)' "$SOCK"; }
background deaf
sleep 0.3
for i in 1 2 3 4 5; do ctl_ok add-device platform led$i >/dev/null; done
for i in 1 2 3 4 5; do ctl_ok remove-device led$i >/dev/null; done
expect_match "ping with stalled clients around" '^driverfsd ' "$(ctl_ok ping)"

# A draining unload (a 3 s read in flight, --timeout 2) runs off the I/O
# thread: another client is answered at once meanwhile.
ctl_ok load fx_sleepy >/dev/null
ctl_ok add-device platform sleepy0 >/dev/null
write_attr "$M/devices/platform/sleepy0/nap" 3000
slow_read() { cat "$M/devices/platform/sleepy0/nap" >"$WORK/nap.out" 2>&1; }
background slow_read
sleep 0.4
unload_job() { ctl unload fx_sleepy --timeout 2 >"$WORK/unload.out" 2>&1; echo $? >"$WORK/unload.rc"; }
background unload_job
sleep 0.4
t0=$(date +%s%N)
expect_match "list while unload drains" '^fx_sleepy +1 going' "$(ctl_ok list | sed -n 2p)"
ms=$((($(date +%s%N) - t0) / 1000000))
expect_eq "list answered within 1 s while unload drains" "yes" "$([[ $ms -lt 1000 ]] && echo yes || echo "no: $ms ms")"
for ((i = 0; i < 60; i++)); do [[ -s "$WORK/unload.rc" ]] && break; sleep 0.1; done
expect_eq "draining unload exit status" "1" "$(cat "$WORK/unload.rc")"
expect_match "draining unload message" 'unload: .*\(EBUSY\)' "$(cat "$WORK/unload.out")"
for ((i = 0; i < 60; i++)); do [[ -s "$WORK/nap.out" ]] && break; sleep 0.1; done
expect_eq "the slow read completed normally" "3000" "$(cat "$WORK/nap.out")"
ctl_ok unload fx_sleepy >/dev/null
expect_eq "fx_sleepy unloaded afterwards" "gone" "$(read_attr "$M/module/fx_sleepy/state")"
expect_daemon_alive
