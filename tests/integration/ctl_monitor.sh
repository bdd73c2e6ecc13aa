#!/bin/bash
# ctl_monitor: `driverfsctl monitor` (udevadm-monitor-like lines) and
# `monitor --json` see load, add, bind, unbind, remove and unload events in
# the order they happened, with consecutive sequence numbers, while the
# commands come from other clients; two monitors see the same stream. led's
# LED class device comes and goes inside each bind and unbind, as in Linux
# (led_classdev_register in probe: its add before the device's bind;
# led_classdev_unregister in remove: its remove before the unbind).
. "$(dirname "$0")/lib/common.sh"
setup
start_ctl_daemon
install_plugin "$(plugin_file led)" led.so

background ctl monitor >"$WORK/mon.txt" 2>"$WORK/mon.err"
background ctl monitor --json >"$WORK/mon.json" 2>"$WORK/monj.err"

await_monitors "$WORK/mon.txt" "$WORK/mon.json"
synced=$MONITOR_MARKER
pass "both monitors are subscribed ($synced)"
start_line=$(wc -l <"$WORK/mon.txt")
start_json=$(wc -l <"$WORK/mon.json")

ctl_ok load led >/dev/null
ctl_ok add-device platform led0 >/dev/null
ctl_ok unbind platform led led0 >/dev/null
ctl_ok bind platform led led0 >/dev/null
ctl_ok remove-device led0 >/dev/null
ctl_ok unload led >/dev/null
ctl_ok remove-device "$synced" >/dev/null

all_in() { (($(wc -l <"$WORK/mon.txt") >= start_line + 13)) && (($(wc -l <"$WORK/mon.json") >= start_json + 13)); }
wait_until 60 "13 events on both monitors" all_in

got=$(tail -n +"$((start_line + 1))" "$WORK/mon.txt" | sed -E 's/^UEVENT\[[0-9]+\] //')
expect_eq "monitor lines in order" "load    module/led (module)
add     devices/platform/led0 (platform)
add     devices/platform/led0/leds/led0 (leds)
bind    devices/platform/led0 (platform)
remove  devices/platform/led0/leds/led0 (leds)
unbind  devices/platform/led0 (platform)
add     devices/platform/led0/leds/led0 (leds)
bind    devices/platform/led0 (platform)
remove  devices/platform/led0/leds/led0 (leds)
unbind  devices/platform/led0 (platform)
remove  devices/platform/led0 (platform)
unload  module/led (module)
remove  devices/platform/$synced (platform)" "$got"

seqs=$(tail -n +"$((start_line + 1))" "$WORK/mon.txt" | sed -E 's/^UEVENT\[([0-9]+)\].*/\1/' | tr '\n' ' ')
expect_eq "sequence numbers are consecutive" "yes" \
    "$(python3 -c 'import sys; s=[int(x) for x in sys.argv[1].split()]; print("yes" if s==list(range(s[0],s[0]+len(s))) else s)' "$seqs")"

got=$(tail -n +"$((start_json + 1))" "$WORK/mon.json" | python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    print(e["action"], e["devpath"], e["env"].get("DRIVER", "-") if e["action"] == "bind" else "")')
expect_eq "monitor --json events" "load module/led 
add devices/platform/led0 
add devices/platform/led0/leds/led0 
bind devices/platform/led0 led
remove devices/platform/led0/leds/led0 
unbind devices/platform/led0 
add devices/platform/led0/leds/led0 
bind devices/platform/led0 led
remove devices/platform/led0/leds/led0 
unbind devices/platform/led0 
remove devices/platform/led0 
unload module/led 
remove devices/platform/$synced " "$got"
expect_daemon_alive
