#!/bin/bash
# ctl_mount_install: `mount -t fuse.driverfs` and an fstab line work from an
# installation. The build is installed into a DESTDIR (`meson install
# --destdir`); in a private mount namespace the DESTDIR's sbin is bound over
# the prefix's sbin, so mount(8) -> mount.fuse3 finds the installed `driverfs`
# helper exactly as after a real install, and the plugin dir and sample
# config are the DESTDIR's. Checks the demo tree, driverfsctl --mount (the
# default socket), umount stopping the daemon and removing its socket, and
# that the man pages, unit and config were installed.
. "$(dirname "$0")/lib/common.sh"

in_private_mount_ns "mount -t fuse.driverfs, unshare -m" "$@"

setup
ctl_preflight
command -v meson >/dev/null || fail "meson is not in PATH"
BUILD=$(cd "$(dirname "$DRIVERFSD")/../.." && pwd)
DEST="$WORK/dest"
meson install -C "$BUILD" --no-rebuild --quiet --destdir "$DEST" >"$WORK/install.log" 2>&1 ||
    fail "meson install --destdir failed: $(tail -5 "$WORK/install.log")"
pass "installed into $DEST"

find1() { find "$DEST" "$@" -print -quit; }
HELPER=$(find1 -path '*/sbin/driverfs' -type f)
DAEMON=$(find1 -path '*/sbin/driverfsd' -type f)
CTL=$(find1 -path '*/bin/driverfsctl' -type f)
LED=$(find1 -name led.so -path '*/driverfs/plugins/*')
DEMO=$(find1 -path '*/driverfs/demo.json')
UNIT=$(find1 -name 'driverfs@.service')
for v in HELPER DAEMON CTL LED DEMO UNIT; do
    [[ -n "${!v}" ]] || fail "the install has no $v"
done
for page in man8/driverfsd.8 man8/driverfsctl.8 man5/driverfs.5; do
    [[ -n "$(find1 -path "*/man/$page")" ]] || fail "man page $page not installed"
done
expect_eq "helper is executable" "yes" "$([[ -x $HELPER ]] && echo yes)"
expect_match "unit reloads through driverfsctl apply" 'ExecReload=/[^ ]*/driverfsctl --mount %f apply' "$(cat "$UNIT")"
expect_match "unit starts the installed daemon" "ExecStart=${DAEMON#"$DEST"} --config" "$(cat "$UNIT")"

# mount(8) runs mount.fuse3 with a fixed PATH: put the DESTDIR's sbin where
# the install would have put it, in this namespace only.
SBIN=$(dirname "${HELPER#"$DEST"}")
[[ -d "$SBIN" ]] || fail "$SBIN does not exist to bind the DESTDIR's sbin over"
mount --bind "$(dirname "$HELPER")" "$SBIN" || fail "cannot bind $(dirname "$HELPER") over $SBIN"
PLUGDIR=$(dirname "$LED")

M=$(mktemp -d "${TMPDIR:-/tmp}/driverfs-mnt.XXXXXX")
mount -t fuse.driverfs driverfs "$M" -o "config=$DEMO,plugin_dir=$PLUGDIR" 2>"$WORK/mount.err" ||
    fail "mount -t fuse.driverfs failed: $(cat "$WORK/mount.err")"
mounted "$M" || fail "$M is not a fuse.driverfs mount after mount(8)"
pass "mount -t fuse.driverfs mounted $M"
expect_eq "led0 max_brightness (demo.json)" "255" "$(read_attr "$(led_dir led0)/max_brightness")"
expect_eq "led1 max_brightness (demo.json)" "100" "$(read_attr "$(led_dir led1)/max_brightness")"
list=$("$CTL" --mount "$M" list)
expect_match "driverfsctl --mount list: led" '(^|
)led +1 live +0 +2  led(
|$)' "$list"
expect_eq "driverfsctl --mount list: demo.json's plugins" "example gpio-sim hwmon led vbus" \
    "$(sed 1d <<<"$list" | awk '{ print $1 }' | tr '\n' ' ' | sed 's/ $//')"
PID=$("$CTL" --mount "$M" --json ping | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
SOCKET=$(python3 -c 'import sys; print(sys.argv[1])' "/run/driverfs/$(systemd-escape --path "$M").sock")
expect_eq "default socket of the mount" "yes" "$([[ -S $SOCKET ]] && echo yes)"

umount "$M" || fail "umount $M failed"
mounted "$M" && fail "$M still mounted after umount"
wait_gone "$PID" 30 || fail "driverfsd (pid $PID) still running 30 s after umount"
pass "umount stopped driverfsd"
expect_eq "socket removed at exit" "no" "$([[ -e $SOCKET ]] && echo yes || echo no)"

# The same through an fstab line.
cat >"$WORK/fstab" <<EOT
driverfs  $M  fuse.driverfs  config=$DEMO,plugin_dir=$PLUGDIR,control=$WORK/fstab.sock  0 0
EOT
mount --fstab "$WORK/fstab" "$M" 2>"$WORK/mount.err" || fail "mount from fstab failed: $(cat "$WORK/mount.err")"
mounted "$M" || fail "$M not mounted from the fstab line"
expect_eq "fstab mount: control= option honoured" "yes" "$([[ -S $WORK/fstab.sock ]] && echo yes)"
expect_match "fstab mount: devices" 'led1 \(platform\) driver=led' "$("$CTL" --socket "$WORK/fstab.sock" devices)"
PID=$("$CTL" --socket "$WORK/fstab.sock" --json ping | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
umount "$M" || fail "umount $M failed"
wait_gone "$PID" 30 || fail "driverfsd (pid $PID) still running after umount"
pass "fstab mount unmounted, daemon gone"
