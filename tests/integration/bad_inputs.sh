#!/bin/bash
# bad_inputs: every bad request fails with its documented errno and changes
# nothing (the whole tree, symlink targets and module state compared before
# and after). load: missing name ENOENT, directory EISDIR, non-ELF file
# ENOEXEC, group/other-writable file or directory EPERM, wrong ABI EPROTO (and
# the log names both ABI versions), no entry symbol ENOEXEC, init failing
# ENXIO, init throwing EIO, a driver name already taken EEXIST, the same
# plugin twice EEXIST; unload of a plugin not loaded ENOENT; new_device with
# an empty line, a word that is not KEY=VALUE, or a bad name EINVAL, a
# duplicate name EEXIST; delete_device of an unknown device ENODEV.
# Plugin paths through symbolic links: a link in a writable directory or to
# a writable file EPERM, a dangling link ENOENT, a loop ELOOP, a link to a
# directory EISDIR or to a text file ENOEXEC; a link re-pointed between a
# safe plugin and one in a writable directory while loads run never loads
# the unsafe one. bind/unbind/drivers_probe with unknown or malformed names
# ENODEV, bind of a bound device EBUSY, driver_override with a bad name
# EINVAL. NUL bytes: in a plugin name or path EINVAL, in a device name or
# property EINVAL (new_device), in a bind/unbind/delete_device name ENODEV,
# in an unload name ENOENT. 5000-byte writes (cut to their first 4096
# bytes, as sysfs does): load EINVAL or ENAMETOOLONG, unload ENOENT,
# new_device EINVAL, bind/unbind/delete_device ENODEV.
source "$(dirname "$0")/lib/common.sh"
setup
for fx in fx_wrong_abi fx_no_entry fx_init_fails fx_init_throws fx_dup_driver fx_sleepy; do
    install_plugin "$(fixture_file "$fx")" "$fx.so"
done
start_daemon
load_led
expect_write_ok "$M/bus/platform/new_device" "led0"
expect_write_ok "$(led_dir led0)/brightness" $'42\n'
expect_write_ok "$M/bus/platform/new_device" "gpio0"

# Files for the path cases, outside the plugin dir.
BAD=$(mktemp -d "$WORK/bad.XXXXXX")
chmod 0700 "$BAD"
mkdir -m 0700 "$BAD/adir.so"
printf 'this is not an ELF object\n' >"$BAD/text.so"
chmod 0644 "$BAD/text.so"
install -m 0666 "$(plugin_file led)" "$BAD/writable.so"
mkdir -m 0777 "$BAD/opendir"
install -m 0644 "$(plugin_file led)" "$BAD/opendir/led2.so"

# unchanged_by WHAT CMD...: CMD (which checks its own errno) leaves the
# tree as it was.
unchanged_by() {
    local what=$1 before after
    shift
    before=$(tree_snapshot)
    "$@"
    after=$(tree_snapshot)
    if [[ "$before" != "$after" ]]; then
        diff <(echo "$before") <(echo "$after") >&2
        fail "$what changed the tree"
    fi
    pass "... and changed nothing"
}

# expect_refused ERRNO FILE DATA: the write fails with ERRNO, nothing changes.
expect_refused() { unchanged_by "writing '$3' to ${2#"$M"/}" expect_write_errno "$@"; }

# expect_refused_bytes ERRNO FILE PYEXPR: the same for one write() of the
# bytes a Python expression gives (NUL bytes, lines longer than a page).
write_bytes_errno() {
    local got
    got=$(py "$PY_PRELUDE"'
data = eval(sys.argv[2])
try:
    fd = os.open(sys.argv[1], os.O_WRONLY)
except OSError as e:
    print(name(e)); sys.exit(0)
try:
    print("OK:%d" % os.write(fd, data))
except OSError as e:
    print(name(e))
finally:
    os.close(fd)
' "$2" "$3")
    expect_eq "write $3 to ${2#"$M"/}" "$1" "$got"
}
expect_refused_bytes() { unchanged_by "writing $3 to ${2#"$M"/}" write_bytes_errno "$@"; }

L="$M/control/load"
expect_refused ENOENT "$L" "no_such_plugin"
expect_refused ENOENT "$L" "$BAD/missing.so"
expect_refused EISDIR "$L" "$BAD/adir.so"
expect_refused ENOEXEC "$L" "$BAD/text.so"
expect_refused EPERM "$L" "$BAD/writable.so"
expect_refused EPERM "$L" "$BAD/opendir/led2.so"
expect_refused EPROTO "$L" "fx_wrong_abi"
expect_refused ENOEXEC "$L" "fx_no_entry"
expect_refused ENXIO "$L" "fx_init_fails"
expect_refused EIO "$L" "fx_init_throws"
expect_refused EEXIST "$L" "fx_dup_driver"
expect_refused EEXIST "$L" "led"
expect_refused EEXIST "$L" "$PLUGINS_COPY/led.so"
# A failed load leaves nothing behind that would change a second attempt.
expect_refused ENXIO "$L" "fx_init_fails"
expect_refused EIO "$L" "fx_init_throws"
for name in fx_wrong_abi fx_no_entry fx_init_fails fx_init_throws fx_dup_driver; do
    [[ ! -e "$M/module/$name" ]] || fail "module/$name exists after a failed load"
done
for drv in fx_dup_own fx_initfail_drv fx_initthrow_drv; do
    [[ ! -e "$M/bus/platform/drivers/$drv" ]] || fail "driver $drv exists after a failed load"
done

U="$M/control/unload"
expect_refused ENOENT "$U" "fx_sleepy"
expect_refused ENOENT "$U" "fx_init_fails"

N="$M/bus/platform/new_device"
expect_refused EINVAL "$N" $'\n'
expect_refused EINVAL "$N" "led5 badpair"
expect_refused EINVAL "$N" "led5 =value"
expect_refused EINVAL "$N" "bad/name"
expect_refused EEXIST "$N" "led0"
expect_refused EEXIST "$N" "gpio0 compatible=led"
expect_refused ENODEV "$M/bus/platform/delete_device" "nosuchdev"

# Plugin paths through symbolic links: the link's directory and its target
# (with the target's directory) are both vetted.
mkdir -m 0700 "$BAD/links"
ln -s "$BAD/writable.so" "$BAD/links/to_writable.so"
ln -s "$BAD/opendir/led2.so" "$BAD/links/into_opendir.so"
ln -s "$PLUGINS_COPY/fx_init_fails.so" "$BAD/opendir/link_in_opendir.so"
ln -s "$BAD/nothing_here.so" "$BAD/links/dangling.so"
ln -s "$BAD/links/loop_b.so" "$BAD/links/loop_a.so"
ln -s "$BAD/links/loop_a.so" "$BAD/links/loop_b.so"
ln -s "$BAD/adir.so" "$BAD/links/to_dir.so"
ln -s "$BAD/text.so" "$BAD/links/to_text.so"
expect_refused EPERM "$L" "$BAD/links/to_writable.so"
expect_refused EPERM "$L" "$BAD/links/into_opendir.so"
expect_refused EPERM "$L" "$BAD/opendir/link_in_opendir.so"
expect_refused ENOENT "$L" "$BAD/links/dangling.so"
expect_refused ELOOP "$L" "$BAD/links/loop_a.so"
expect_refused EISDIR "$L" "$BAD/links/to_dir.so"
expect_refused ENOEXEC "$L" "$BAD/links/to_text.so"

# bind, unbind, drivers_probe and driver_override with unknown or malformed
# names. led0 is bound to led; gpio0 matches no driver.
B="$M/bus/platform/drivers/led/bind"
UB="$M/bus/platform/drivers/led/unbind"
P="$M/bus/platform/drivers_probe"
for name in nosuchdev bad/name "led0 led1" $'\n' ../led0 "$(printf 'x%.0s' {1..65})"; do
    expect_refused ENODEV "$B" "$name"
    expect_refused ENODEV "$UB" "$name"
    expect_refused ENODEV "$P" "$name"
done
expect_refused EBUSY "$B" "led0"
expect_refused ENODEV "$UB" "gpio0"
expect_refused ENODEV "$B" "gpio0"
expect_refused EINVAL "$M/devices/platform/gpio0/driver_override" "bad/name"

# NUL bytes: never cut short to a name that exists.
expect_refused_bytes EINVAL "$L" "b'led\\0'"
expect_refused_bytes EINVAL "$L" "b'$PLUGINS_COPY/fx_sleepy.so\\0junk'"
expect_refused_bytes ENOENT "$U" "b'led\\0'"
expect_refused_bytes EINVAL "$N" "b'led5\\0'"
expect_refused_bytes EINVAL "$N" "b'led\\0\\0'"
expect_refused_bytes EINVAL "$N" "b'led5 color=red\\0'"
expect_refused_bytes EINVAL "$N" "b'led5 co\\0lor=red'"
expect_refused_bytes ENODEV "$B" "b'led0\\0'"
expect_refused_bytes ENODEV "$UB" "b'led0\\0'"
expect_refused_bytes ENODEV "$M/bus/platform/delete_device" "b'led0\\0'"

# Writes longer than a page: store() sees the first 4096 bytes, and those
# are refused as a whole.
expect_refused_bytes EINVAL "$L" "b'l' * 5000"
expect_refused_bytes ENAMETOOLONG "$L" "b'/' + b'p' * 4999"
expect_refused_bytes ENOENT "$U" "b'l' * 5000"
expect_refused_bytes EINVAL "$N" "b'd' * 5000"
expect_refused_bytes ENODEV "$B" "b'led0' + b'0' * 4996"
expect_refused_bytes ENODEV "$UB" "b'led0' + b'0' * 4996"
expect_refused_bytes ENODEV "$M/bus/platform/delete_device" "b'd' * 5000"

# A link re-pointed, atomically and over and over, between fx_sleepy in a
# private directory and fx_throws in a world-writable one while loads run:
# a load succeeds with fx_sleepy (then it is unloaded again) or is refused,
# and fx_throws is never loaded.
install -m 0644 "$(fixture_file fx_throws)" "$BAD/opendir/fx_throws.so"
race=$(py "$PY_PRELUDE"'
import threading, time
m, safe, unsafe, linkdir = sys.argv[1:5]
link = linkdir + "/race.so"
os.symlink(safe, link)
stop = False
def flip():
    i = 0
    while not stop:
        tmp = linkdir + "/tmp%d" % i
        os.symlink(unsafe if i % 2 == 0 else safe, tmp)
        os.replace(tmp, link)
        i += 1
t = threading.Thread(target=flip); t.start()
seen = {}
try:
    for _ in range(150):
        try:
            fd = os.open(m + "/control/load", os.O_WRONLY)
            try:
                os.write(fd, link.encode()); r = "OK"
            finally:
                os.close(fd)
        except OSError as e:
            r = name(e)
        seen[r] = seen.get(r, 0) + 1
        if r == "OK" and os.path.exists(m + "/module/fx_sleepy"):
            fd = os.open(m + "/control/unload", os.O_WRONLY)
            os.write(fd, b"fx_sleepy"); os.close(fd)
        if os.path.exists(m + "/module/fx_throws"):
            seen["UNSAFE LOADED"] = 1
            break
finally:
    stop = True; t.join()
print(" ".join("%s=%d" % kv for kv in sorted(seen.items())))
' "$M" "$PLUGINS_COPY/fx_sleepy.so" "$BAD/opendir/fx_throws.so" "$BAD/links")
pass "link race outcomes: $race"
[[ "$race" != *UNSAFE* ]] || fail "fx_throws from a world-writable directory was loaded through a re-pointed link"
for word in $race; do
    [[ "${word%%=*}" =~ ^(OK|EPERM|EAGAIN)$ ]] || fail "link race: unexpected outcome $word"
done
[[ ! -e "$M/module/fx_throws" && ! -e "$M/bus/platform/drivers/thrower" ]] || fail "fx_throws left traces"
pass "the unsafe plugin was never loaded through the link"

# Names quoted in the log are escaped: the log stays text, one line each.
grep -qaF 'led0\x00' "$LOG" || fail "no log line quoting 'led0' with its NUL escaped as \\x00"
pass "a NUL byte in a name is logged as \\x00"
if grep -qaP '\x00' "$LOG"; then fail "a raw NUL byte reached the log"; fi
pass "no raw NUL byte in the log"

# The wrong-ABI failure is explained in the log, naming both versions.
# The host's ABI version, from the header the fixtures were built against.
HDR="$(dirname "$0")/../../include/driverfs/plugin.h"
[[ -f "$HDR" ]] || fail "cannot find $HDR for the ABI version"
abi=$(sed -n 's/^#define DRIVERFS_ABI_VERSION \([0-9][0-9]*\)u\{0,1\}.*/\1/p' "$HDR")
[[ "$abi" =~ ^[0-9]+$ ]] || fail "cannot read DRIVERFS_ABI_VERSION from $HDR"
line=$(grep 'fx_wrong_abi' "$LOG" | grep -i 'ABI' | head -n 1)
[[ -n "$line" ]] || fail "no log line about fx_wrong_abi and its ABI"
expect_match "log line for fx_wrong_abi names the plugin's ABI $((abi + 1))" "ABI $((abi + 1))([^0-9]|$)" "$line"
expect_match "log line for fx_wrong_abi names the host's ABI $abi" "ABI $abi([^0-9]|$)" "$line"

# Everything still works.
expect_eq "led0 brightness after all that" "42" "$(read_attr "$(led_dir led0)/brightness")"
expect_eq "module/led/generation" "1" "$(read_attr "$M/module/led/generation")"
expect_eq "module/led/state" "live" "$(read_attr "$M/module/led/state")"
expect_daemon_alive
