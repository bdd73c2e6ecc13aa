#!/usr/bin/env bash
# The led sample plugin as an LED class driver: its files on the LED class
# device (devices/platform/led0/leds/led0, class/leds/led0 links to it, as
# led_classdev_register makes), a `label` property naming it; brightness and
# max_brightness (above the max clamped, negative EINVAL), the trigger choice list ("[none] timer heartbeat", unknown
# names EINVAL), the timer trigger's delay_on/delay_off existing only while
# timer is selected (added and removed by update_group from the trigger
# store; an fd held across the switch gets ENODEV; ls agrees with lookups),
# blinking seen through real poll() wake-ups on brightness, brightness 0
# dropping the trigger (and the files), the trigger= device property, and
# an unload while timers are blinking (no plugin thread survives it).
source "$(dirname "$0")/lib/common.sh"
setup
mount_led0
# The LED class device of led0: where led's files are, as on Linux.
L="$M/devices/platform/led0/leds/led0"

# led_files DIR: the names ls lists in DIR on one line; fails unless every
# listed name can also be looked up (the kernel's cached view is consistent).
led_files() {
    local names n
    names=$(ls "$1") || fail "ls ${1#"$M"/} failed"
    for n in $names; do
        [[ -e "$1/$n" || -L "$1/$n" ]] || fail "ls lists ${1#"$M"/}/$n but it cannot be looked up"
    done
    echo $names
}
NO_TIMER="brightness device max_brightness power subsystem trigger uevent"
WITH_TIMER="brightness delay_off delay_on device max_brightness power subsystem trigger uevent"

expect_eq "max_brightness" "255" "$(read_attr "$L/max_brightness")"
expect_eq "class leds lists led0" "led0" "$(ls "$M/class/leds")"
expect_eq "class link" "../../devices/platform/led0/leds/led0" "$(readlink "$M/class/leds/led0")"
expect_eq "the class device's subsystem" "../../../../../class/leds" "$(readlink "$L/subsystem")"
expect_eq "the class device's device" "../../../led0" "$(readlink "$L/device")"
expect_eq "led0 itself keeps no LED file" "driver driver_override leds power subsystem uevent" "$(ls "$D" | xargs)"
write_attr "$L/brightness" "42"
expect_eq "brightness after a write" "42" "$(read_attr "$L/brightness")"
write_attr "$L/brightness" "256"
expect_eq "brightness after 256 (clamped to max_brightness)" "255" "$(read_attr "$L/brightness")"
write_attr "$L/brightness" "42"
expect_write_errno EINVAL "$L/brightness" "-1"
expect_eq "trigger at start" "[none] timer heartbeat" "$(read_attr "$L/trigger")"
expect_write_errno EINVAL "$L/trigger" "blink"
expect_eq "files under trigger none" "$NO_TIMER" "$(led_files "$L")"
expect_eq "delay_on without timer" "ENOENT" "$(try_read "$L/delay_on")"
expect_write_errno ENOENT "$L/delay_off" "100"

write_attr "$L/trigger" $'timer\n'
expect_eq "trigger with timer selected" "none [timer] heartbeat" "$(read_attr "$L/trigger")"
expect_eq "files under trigger timer" "$WITH_TIMER" "$(led_files "$L")"
expect_eq "default delay_on" "500" "$(read_attr "$L/delay_on")"
expect_eq "default delay_off" "500" "$(read_attr "$L/delay_off")"
expect_eq "delay_on mode" "644" "$(stat -c %a "$L/delay_on")"

# An fd held open on delay_on across a switch away from timer and back.
exec 4<"$L/delay_on"
expect_eq "held delay_on before the switch" "OK:500|" "$(try_fd_read 4)"
write_attr "$L/trigger" "none"
expect_eq "files after timer deselected" "$NO_TIMER" "$(led_files "$L")"
expect_eq "held delay_on after timer deselected" "ENODEV" "$(try_fd_read 4)"
write_attr "$L/trigger" "timer"
expect_eq "files with timer again" "$WITH_TIMER" "$(led_files "$L")"
expect_eq "held delay_on stays dead after timer returns" "ENODEV" "$(try_fd_read 4)"
exec 4<&-
expect_eq "a fresh open of delay_on" "OK:500|" "$(try_read "$L/delay_on")"
expect_write_errno EINVAL "$L/delay_on" "soon"
write_attr "$L/delay_on" "100"
write_attr "$L/delay_off" "100"

# blink_watch FILE SECS [ENOUGH]: poll() FILE for SECS, re-reading at each
# wake-up, or only until ENOUGH wake-ups (so a slow machine just takes
# longer, and SECS can be generous); prints "<wake-ups> <sorted distinct
# values>".
blink_watch() {
    python3 - "$1" "$2" "${3:-0}" <<'PY'
import os, select, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
os.read(fd, 100)
p = select.poll()
p.register(fd, select.POLLPRI | select.POLLERR)
wakes, values = 0, set()
end = time.monotonic() + float(sys.argv[2])
enough = int(sys.argv[3])
while (left := end - time.monotonic()) > 0 and not (enough and wakes >= enough):
    ev = p.poll(int(left * 1000) + 1)
    if not ev:
        break
    if not ev[0][1] & select.POLLPRI:
        print("bad-event", hex(ev[0][1])); sys.exit(0)
    wakes += 1
    os.lseek(fd, 0, os.SEEK_SET)
    values.add(os.read(fd, 100).decode().strip())
os.close(fd)
print(wakes, " ".join(sorted(values, key=int)))
PY
}

out=$(blink_watch "$L/brightness" 60 6) || fail "poll script failed: $out"
read -r wakes values <<<"$out"
(( wakes >= 6 )) || fail "timer 100/100 ms: expected at least 6 brightness wake-ups in 60 s, got '$out'"
expect_eq "values seen while blinking" "0 42" "$values"

write_attr "$L/trigger" "none"
# A negative check: only a wake-up that should not happen can fail it.
expect_eq "idle poll after trigger none" "0 " "$(blink_watch "$L/brightness" 0.5)"
expect_eq "delay_on after timer deselected" "ENOENT" "$(try_read "$L/delay_on")"

# brightness 0 drops a trigger, as in Linux, and with timer its files.
write_attr "$L/trigger" "heartbeat"
expect_eq "files under trigger heartbeat" "$NO_TIMER" "$(led_files "$L")"
out=$(blink_watch "$L/brightness" 60 1)
[[ "$out" =~ ^[1-9] ]] || fail "heartbeat: no brightness wake-ups in 60 s: '$out'"
pass "heartbeat blinks ($out)"
# Its rhythm, as Linux's at rest: per 1260 ms period two short pulses
# (70 ms) whose starts are a quarter period apart, then a long pause. Told
# by proportions, not absolute times, so a loaded machine that stretches
# every delay still passes while a plain blink (equal gaps, 50% duty) does
# not: the long gap is about 3x the short one (asked: 1.6x) and a pulse
# lasts about a quarter of the short gap (asked: under 0.6x). Watched until
# 9 pulse starts (at least 4 periods), at most 60 s.
out=$(python3 - "$L/brightness" <<'PY'
import os, select, statistics, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
os.read(fd, 100)
p = select.poll()
p.register(fd, select.POLLPRI | select.POLLERR)
changes = []  # (time, on)
end = time.monotonic() + 60.0
while (left := end - time.monotonic()) > 0 and sum(1 for _, on in changes if on) < 9:
    if not p.poll(int(left * 1000) + 1):
        break
    os.lseek(fd, 0, os.SEEK_SET)
    changes.append((time.monotonic(), os.read(fd, 100).strip() != b"0"))
starts = [t for t, on in changes if on]
ons = [b[0] - a[0] for a, b in zip(changes, changes[1:]) if a[1] and not b[1]]
gaps = sorted(round((b - a) * 1000) for a, b in zip(starts, starts[1:]))
ok = False
if len(ons) >= 3 and len(gaps) >= 6:
    # Sorted gaps: the lower half are the short ones, the top third the long
    # pauses (two short per long one).
    short = statistics.median(gaps[: len(gaps) // 2])
    long = statistics.median(gaps[-(len(gaps) // 3):])
    ok = long >= 1.6 * short and statistics.median(ons) * 1000 < 0.6 * short
print("ok" if ok else "bad", "pulses=%d" % len(ons), "gaps_ms=%s" % gaps,
      "on_ms=%s" % sorted(round(x * 1000) for x in ons))
PY
)
[[ "$out" == ok* ]] || fail "heartbeat rhythm: $out"
pass "heartbeat rhythm: two short pulses then a pause ($out)"
write_attr "$L/brightness" "0"
expect_eq "trigger after brightness 0" "[none] timer heartbeat" "$(read_attr "$L/trigger")"
write_attr "$L/trigger" "timer"
write_attr "$L/brightness" "0"
expect_eq "trigger after brightness 0 under timer" "[none] timer heartbeat" "$(read_attr "$L/trigger")"
expect_eq "files after brightness 0 dropped timer" "$NO_TIMER" "$(led_files "$L")"
write_attr "$L/brightness" "42"

# A default trigger and max_brightness from device properties.
expect_write_ok "$M/bus/platform/new_device" "led1 trigger=timer max_brightness=10"
expect_eq "led1 trigger" "none [timer] heartbeat" "$(read_attr "$M/class/leds/led1/trigger")"
expect_eq "led1 files (timer from bind on)" "$WITH_TIMER" "$(led_files "$M/devices/platform/led1/leds/led1")"
out=$(blink_watch "$M/class/leds/led1/brightness" 60 6)
[[ "$out" =~ ^[1-9][0-9]*\ 0\ 10$ ]] || fail "led1 blinking between 0 and 10 expected, got '$out'"
pass "led1 blinks between 0 and its max_brightness ($out)"
# A bad property: the device is created, probe refuses it (stays unbound).
expect_write_ok "$M/bus/platform/new_device" "led2 trigger=disco"
[[ -e "$M/devices/platform/led2/driver" ]] && fail "led2 (trigger=disco) was bound"
pass "led2 with an unknown trigger stays unbound"
[[ -e "$M/devices/platform/led2/leds" || -L "$M/class/leds/led2" ]] && fail "refused led2 left its class device behind"
pass "refused led2 has no class device"
# label= names the class device, as the device tree's label does.
expect_write_ok "$M/bus/platform/new_device" "led3 label=status:green"
expect_eq "label names the class device" "../../devices/platform/led3/leds/status:green" \
    "$(readlink "$M/class/leds/status:green")"
expect_eq "max_brightness through the labelled class device" "255" "$(read_attr "$M/class/leds/status:green/max_brightness")"
expect_write_ok "$M/bus/platform/delete_device" "led3"
[[ -L "$M/class/leds/status:green" ]] && fail "class/leds/status:green outlived its device"
pass "deleting led3 removes its class device"

# Unload while both LEDs blink; a poller on a blinking file sees the removal.
write_attr "$L/trigger" "timer"
exec 3<"$L/brightness"
expect_write_ok "$M/control/unload" "led"
expect_eq "module state after unload" "gone" "$(cat "$M/module/led/state" 2>/dev/null || echo gone)"
expect_eq "read of a removed brightness (open before unload)" "ENODEV" "$(try_fd_read 3)"
exec 3<&-
# The proof that no blink thread survived is the daemon's own check at
# unload (a thread of the plugin left running is logged as "running after
# exit ... stays mapped"); the pause only gives a thread that ran into
# unmapped code the time to crash the daemon, so it can only miss, never
# fail, on a slow machine.
sleep 0.5
expect_daemon_alive
if grep -Ei "threw|unloaded while|still running|running after exit|stays mapped" "$LOG" >/dev/null; then
    fail "daemon log reports a problem: $(grep -Ei "threw|still|running after exit|stays mapped" "$LOG")"
fi
pass "no plugin complaint in the log"
expect_write_ok "$M/control/load" "led"
expect_eq "generation after reload" "2" "$(read_attr "$M/module/led/generation")"
expect_eq "trigger after reload" "[none] timer heartbeat" "$(read_attr "$L/trigger")"
