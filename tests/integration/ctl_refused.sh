#!/bin/bash
# ctl_refused: the control socket is owner-only: its directory is created
# 0700, the socket is 0600, and a client of another uid (nobody, 65534) is
# refused: by the file mode at connect, and, when the mode is opened up, by
# the SO_PEERCRED check (an EACCES error line, then the connection closes).
# The daemon's own uid keeps being served throughout.
. "$(dirname "$0")/lib/common.sh"
setup
ctl_preflight
[[ $(id -u) -eq 0 ]] || fail "ctl_refused needs root to run a client as another uid (setpriv)"
command -v setpriv >/dev/null || fail "setpriv is missing (package util-linux)"
SOCK="$WORK/sockdir/ctl.sock"
start_daemon --control "$SOCK"
install_plugin "$(plugin_file led)" led.so  # so a load that got through would succeed
expect_eq "socket directory mode" "700" "$(stat -c %a "$WORK/sockdir")"
expect_eq "socket mode" "600" "$(stat -c %a "$SOCK")"
expect_eq "socket owner" "$(id -u)" "$(stat -c %u "$SOCK")"

as_nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups "$@"; }
install -m 0755 "$DRIVERFSCTL" "$WORK/driverfsctl"
chmod 0711 "$WORK" "$WORK/sockdir"

rc=0
as_nobody "$WORK/driverfsctl" --socket "$SOCK" list >/dev/null 2>"$WORK/err" || rc=$?
expect_eq "nobody against the 0600 socket: exit status" "1" "$rc"
expect_match "nobody against the 0600 socket: message" 'cannot connect.*Permission denied' "$(cat "$WORK/err")"

# Open the mode: the credential check must still refuse.
chmod 0666 "$SOCK"
rc=0
as_nobody "$WORK/driverfsctl" --socket "$SOCK" load led >/dev/null 2>"$WORK/err" || rc=$?
expect_eq "nobody past the mode: exit status" "1" "$rc"
expect_match "nobody past the mode: message" 'permission denied: uid 65534 may not use this socket.*\(EACCES\)' "$(cat "$WORK/err")"
raw=$(as_nobody /usr/bin/python3 - "$SOCK" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
try:
    s.sendall(b'{"id":1,"cmd":"ping"}\n')
except (BrokenPipeError, ConnectionResetError):
    pass  # refused before we could send: the error line is still readable
s.settimeout(60)  # a watchdog: the daemon hangs up long before
data = b""
while True:
    c = s.recv(4096)
    if not c: break
    data += c
lines = data.decode().splitlines()
e = json.loads(lines[0])
print(len(lines), e["id"], e["error"]["errno"], e["error"]["name"])
PY
)
expect_eq "raw reply to nobody: one error line, no id echo, then EOF" "1 None 13 EACCES" "$raw"
expect_eq "module/led was not loaded by nobody" "no" "$([[ -e $M/module/led ]] && echo yes || echo no)"

# The owner still gets served.
expect_match "root still served" '^driverfsd ' "$(ctl_ok ping)"
expect_daemon_alive
