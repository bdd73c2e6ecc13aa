#!/bin/bash
# unload_open: unloading a plugin while its files are open and being read.
# led is loaded, led0 has brightness 42 (on its LED class device
# devices/platform/led0/leds/led0); a background loop keeps opening and
# reading brightness; descriptors are held open for read (bash fd 3, and a
# python holder with a read and a write fd). control/unload then succeeds;
# reads on the held fds fail with ENODEV (`cat <&3`: "No such device"), a
# write on the held write fd fails with ENODEV, closing them succeeds; the
# reader loop only ever saw the value 42 or ENODEV (ENOENT once the entry is
# gone, as on sysfs); the daemon lives; module/led/state is gone; led0 stays
# but has no LED class device (so no brightness), no class/leds link and no
# driver link. Loading led again: generation 2,
# state live, led0 bound again with brightness 0.
source "$(dirname "$0")/lib/common.sh"
setup
mount_led0
B="$LED/brightness"
expect_write_ok "$B" $'42\n'
expect_eq "brightness" "42" "$(read_attr "$B")"

# Background reader: open+read in a loop until told to stop. It marks its
# first good read ($RESULT.ok) and its first failed one ($RESULT.gone), so
# the test waits for those events instead of sleeping and hoping.
STOP="$WORK/stop-reader"
RESULT="$WORK/reader-result"
background python3 -c '
import errno, os, sys, time, collections
path, stop, result = sys.argv[1:4]
c = collections.Counter()
def mark(what):
    if not os.path.exists(result + what):
        open(result + what, "w").close()
deadline = time.monotonic() + 300  # stopped long before by the test
while not os.path.exists(stop) and time.monotonic() < deadline:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as e:
        c["open:" + errno.errorcode[e.errno]] += 1
        mark(".gone")
        continue
    try:
        data = os.read(fd, 4096)
        c["ok" if data == b"42\n" else "bad-content:" + repr(data)] += 1
        mark(".ok")
    except OSError as e:
        c["read:" + errno.errorcode[e.errno]] += 1
        mark(".gone")
    finally:
        os.close(fd)
with open(result + ".tmp", "w") as f:
    for k, v in sorted(c.items()):
        f.write("%s %d\n" % (k, v))
os.rename(result + ".tmp", result)
' "$B" "$STOP" "$RESULT"
READER_PID=${EXTRA_PIDS[-1]}

# Holder: read and write fds across the unload; reports each step.
GO="$WORK/go-holder"
HOLD="$WORK/holder-result"
background python3 -c '
import errno, os, sys, time
path, go, out = sys.argv[1:4]
def name(e): return errno.errorcode[e.errno]
lines = []
r = os.open(path, os.O_RDONLY)
w = os.open(path, os.O_WRONLY)
lines.append("before-read " + os.read(r, 100).decode().strip())
open(out + ".ready", "w").close()
deadline = time.monotonic() + 300  # told long before by the test
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.02)
for what, fn in (("after-pread", lambda: os.pread(r, 100, 0).decode().strip()),
                 ("after-write", lambda: os.write(w, b"3\n")),
                 ("close-read", lambda: os.close(r)),
                 ("close-write", lambda: os.close(w))):
    try:
        lines.append("%s OK %s" % (what, fn()))
    except OSError as e:
        lines.append("%s %s" % (what, name(e)))
with open(out + ".tmp", "w") as f:
    f.write("\n".join(lines) + "\n")
os.rename(out + ".tmp", out)
' "$B" "$GO" "$HOLD"
HOLDER_PID=${EXTRA_PIDS[-1]}
wait_until 60 "the python holder to open brightness" test -e "$HOLD.ready"

exec 3<"$B" || fail "cannot open brightness as fd 3"
expect_eq "fd 3 reads before unload" "OK:42|" "$(try_fd_read 3)"
wait_until 60 "the reader loop to read brightness once" test -e "$RESULT.ok"

expect_write_ok "$M/control/unload" "led"
wait_until 60 "the reader loop to see brightness go away" test -e "$RESULT.gone"

# bash fd 3: reads fail with "No such device".
out=$(cat <&3 2>&1) && fail "cat <&3 after unload succeeded: '$out'"
expect_match "cat <&3 after unload" "No such device" "$out"
expect_eq "read on fd 3 after unload" "ENODEV" "$(try_fd_read 3)"
exec 3<&- || fail "closing fd 3 failed"
pass "fd 3 closed"

# The holder's fds.
touch "$GO"
wait "$HOLDER_PID" || fail "the python holder failed (exit $?)"
expect_eq "holder report" "before-read 42
after-pread ENODEV
after-write ENODEV
close-read OK None
close-write OK None" "$(cat "$HOLD")"

# The reader loop.
touch "$STOP"
wait "$READER_PID" || fail "the reader loop failed (exit $?)"
[[ -f "$RESULT" ]] || fail "the reader loop left no result"
echo "reader loop: $(tr '\n' ' ' <"$RESULT")"
grep -q '^ok [1-9]' "$RESULT" || fail "the reader loop never read 42: $(cat "$RESULT")"
bad=$(grep -v -E '^(ok|read:ENODEV|open:ENODEV|open:ENOENT) ' "$RESULT")
[[ -z "$bad" ]] || fail "the reader loop saw other results than 42 / ENODEV / ENOENT: $bad"
grep -q -E '^(read:ENODEV|open:ENODEV|open:ENOENT) ' "$RESULT" ||
    fail "the reader loop never saw the attribute go away: $(cat "$RESULT")"
pass "reader loop saw only 42, ENODEV and (once removed) ENOENT"

expect_daemon_alive
expect_eq "module/led/state after unload" "gone" "$(read_attr "$M/module/led/state")"
expect_eq "module/led/generation after unload" "1" "$(read_attr "$M/module/led/generation")"
expect_eq "module/led/refcnt after unload" "0" "$(read_attr "$M/module/led/refcnt")"
[[ -d "$D" ]] || fail "devices/platform/led0 vanished with the driver"
[[ ! -e "$B" ]] || fail "brightness still exists after unload"
[[ ! -e "$LED/max_brightness" ]] || fail "max_brightness still exists after unload"
[[ ! -e "$D/leds" ]] || fail "led0/leds still exists after unload"
[[ ! -L "$M/class/leds/led0" ]] || fail "class/leds/led0 still exists after unload"
[[ ! -L "$D/driver" ]] || fail "led0 still has a driver link after unload"
[[ ! -e "$M/bus/platform/drivers/led" ]] || fail "bus/platform/drivers/led still exists after unload"
[[ -L "$D/subsystem" ]] || fail "led0 lost its subsystem link with the driver"
expect_eq "stat brightness after unload" "ENOENT" "$(try_open "$B" os.O_RDONLY)"

# Load again: the same stub, one generation more; led0 binds again.
expect_write_ok "$M/control/load" "led"
expect_eq "module/led/generation after reload" "2" "$(read_attr "$M/module/led/generation")"
expect_eq "module/led/state after reload" "live" "$(read_attr "$M/module/led/state")"
[[ -L "$D/driver" ]] || fail "led0 is not bound after the reload"
expect_eq "led0 driver link after reload" "../../../bus/platform/drivers/led" "$(readlink "$D/driver")"
expect_eq "class/leds/led0 after reload" "../../devices/platform/led0/leds/led0" "$(readlink "$M/class/leds/led0")"
expect_eq "brightness after reload (fresh driver state)" "0" "$(read_attr "$B")"
expect_write_ok "$B" $'9\n'
expect_eq "brightness after reload and write" "9" "$(read_attr "$B")"
expect_daemon_alive
