#!/bin/bash
# ops_ctl_json: `driverfsctl --json` reports a failure on stdout as exactly
# one line, {"ok": false, "errno": NAME, "message": TEXT}, besides the message
# on stderr, and keeps its exit statuses: a refusal of the daemon (unload of
# a plugin not loaded: ENOENT; load of a missing one: ENOENT; a bind to an
# unknown device), no daemon on the socket (ENOENT, ECONNREFUSED for a socket
# nobody listens on), an apply file that is missing (ENOENT) or not JSON
# (EINVAL) all exit 1; a usage error exits 2 with nothing on stdout; success
# still prints the result object alone. Without --json a failure prints
# nothing on stdout.
. "$(dirname "$0")/lib/common.sh"
setup
start_ctl_daemon

# run_ctl OUT ERR ARGS...: driverfsctl with a watchdog; sets RC.
run_ctl() {
    local out=$1 err=$2
    shift 2
    RC=0
    timeout 60 "$DRIVERFSCTL" "$@" >"$out" 2>"$err" || RC=$?
}

# expect_json_failure ERRNO STDERR_REGEX ARGS...
expect_json_failure() {
    local want=$1 re=$2 verdict
    shift 2
    run_ctl "$WORK/out" "$WORK/err" "$@"
    expect_eq "exit status of driverfsctl $*" "1" "$RC"
    expect_match "stderr of driverfsctl $*" "$re" "$(cat "$WORK/err")"
    verdict=$(python3 - "$WORK/out" <<'PYEOF'
import json, sys
lines = open(sys.argv[1]).read().split("\n")
if lines[-1] != "":
    print("no newline at the end"); sys.exit()
lines = lines[:-1]
if len(lines) != 1:
    print("%d lines: %r" % (len(lines), lines)); sys.exit()
o = json.loads(lines[0])
if sorted(o) != ["errno", "message", "ok"] or o["ok"] is not False:
    print("bad keys or ok: %r" % o); sys.exit()
if not isinstance(o["message"], str) or not o["message"]:
    print("empty message: %r" % o); sys.exit()
print(o["errno"])
PYEOF
)
    expect_eq "stdout of driverfsctl $*: one error object with errno" "$want" "$verdict"
    # The object says what stderr says (without the errno name there).
    local msg
    msg=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read())["message"])' "$WORK/out")
    expect_match "stderr of driverfsctl $* contains the object's message" "driverfsctl: $(printf '%s' "$msg" | sed 's/[][\.*^$(){}?+|/]/\\&/g')" "$(cat "$WORK/err")"
}

expect_json_failure ENOENT "unload: .*\(ENOENT\)" --socket "$SOCK" --json unload led
expect_json_failure ENOENT "unload: .*\(ENOENT\)" --socket "$SOCK" unload led --json
expect_json_failure ENOENT "load: .*\(ENOENT\)" --socket="$SOCK" --json load no_such_plugin
load_led
expect_json_failure ENODEV "bind: .*\(ENODEV\)" --socket "$SOCK" --json bind platform led nosuchdev
expect_json_failure ENOENT "cannot connect to $WORK/none.sock" --socket "$WORK/none.sock" --json ping
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$WORK/dead.sock" ||
    fail "cannot make a socket nobody listens on"
expect_json_failure ECONNREFUSED "cannot connect to $WORK/dead.sock" --socket "$WORK/dead.sock" --json ping
expect_json_failure ENOENT "missing.json" --socket "$SOCK" --json apply "$WORK/missing.json"
printf '{"plugins": [' >"$WORK/bad.json"
expect_json_failure EINVAL "malformed JSON" --socket "$SOCK" --json apply "$WORK/bad.json"

# Without --json: the message on stderr, nothing on stdout, same status.
run_ctl "$WORK/out" "$WORK/err" --socket "$SOCK" unload nosuch
expect_eq "plain failure: exit status" "1" "$RC"
expect_eq "plain failure: stdout" "" "$(cat "$WORK/out")"
expect_match "plain failure: stderr" 'unload: .*\(ENOENT\)' "$(cat "$WORK/err")"

# Usage errors stay usage errors: status 2, stderr only.
for args in "--json" "--json unload" "--json frobnicate" "--json --bogus ping" "--json list --bogus"; do
    # shellcheck disable=SC2086
    run_ctl "$WORK/out" "$WORK/err" --socket "$SOCK" $args
    expect_eq "usage error ($args): exit status" "2" "$RC"
    expect_eq "usage error ($args): stdout" "" "$(cat "$WORK/out")"
    [[ -s "$WORK/err" ]] || fail "usage error ($args): nothing on stderr"
done

# Success: the result object, as before.
run_ctl "$WORK/out" "$WORK/err" --socket "$SOCK" --json ping
expect_eq "ping --json: exit status" "0" "$RC"
expect_eq "ping --json: pid" "$DAEMON_PID" \
    "$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read())["pid"])' "$WORK/out")"
expect_eq "ping --json: stderr" "" "$(cat "$WORK/err")"
