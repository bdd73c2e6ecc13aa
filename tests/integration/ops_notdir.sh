#!/bin/bash
# ops_notdir: a mount point that is not a directory is refused. `driverfsd
# FILE` (daemonizing and -f, through a symlink, a relative path, and
# /etc/passwd itself) exits 2 with "not a directory ... (ENOTDIR)" on stderr
# and nothing on stdout; nothing is mounted, the file is unchanged and no
# control socket is created. The same through `mount -t fuse.driverfs
# driverfs FILE` from a DESTDIR install (as ctl_mount_install does it): the
# driverfs helper passes driverfsd's status through, and mount(8) fails.
# Runs in a private mount namespace, so a daemon that wrongly mounted over
# /etc/passwd would do so only there.
. "$(dirname "$0")/lib/common.sh"

in_private_mount_ns "unshare -m, mount -t fuse.driverfs" "$@"

setup
command -v systemd-escape >/dev/null || fail "systemd-escape is needed to name the default socket"

F="$WORK/not-a-dir"
printf 'root:x:0:0:root:/root:/bin/bash\n' >"$F" || fail "cannot write $F"
ln -s "$F" "$WORK/link" || fail "cannot make a symlink"

fingerprint() { stat -c '%F %i %s %a %Y %Z' -- "$1" && sha256sum <"$1"; }
mountinfo_count() { wc -l </proc/self/mountinfo; }
socket_of() { printf '/run/driverfs/%s.sock' "$(systemd-escape --path "$1")"; }

# expect_refused WHAT WANT_RC TARGET CMD...: CMD fails with WANT_RC, says
# ENOTDIR, prints nothing on stdout, mounts nothing, leaves TARGET as it was.
expect_refused() {
    local what=$1 want=$2 target=$3 before mounts rc=0
    shift 3
    before=$(fingerprint "$target")
    mounts=$(mountinfo_count)
    # A watchdog only: a refusal is immediate; a daemon that wrongly mounted
    # in the foreground would otherwise serve until killed.
    timeout 60 "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
    if [[ "$(mountinfo_count)" != "$mounts" ]]; then
        umount -l -- "$target" 2>/dev/null
        fail "$what: something was mounted (stderr: $(cat "$WORK/err"))"
    fi
    expect_eq "$what: exit status" "$want" "$rc"
    expect_match "$what: stderr" 'not a directory.*\(ENOTDIR\)' "$(cat "$WORK/err")"
    expect_eq "$what: stdout" "" "$(cat "$WORK/out")"
    expect_eq "$what: $target unchanged" "$before" "$(fingerprint "$target")"
    [[ ! -e "$(socket_of "$(realpath -- "$target")")" ]] || fail "$what: a control socket was created for $target"
    pass "$what: no control socket"
}

expect_refused "driverfsd FILE" 2 "$F" "$DRIVERFSD" --plugin-dir "$PLUGINS_COPY" "$F"
expect_refused "driverfsd -f FILE" 2 "$F" "$DRIVERFSD" -f --plugin-dir "$PLUGINS_COPY" "$F"
expect_refused "driverfsd SYMLINK-TO-FILE" 2 "$F" "$DRIVERFSD" --plugin-dir "$PLUGINS_COPY" "$WORK/link"
expect_refused "driverfsd relative FILE" 2 "$F" \
    bash -c 'cd "$1" && exec "$2" --plugin-dir "$3" not-a-dir' _ "$WORK" "$DRIVERFSD" "$PLUGINS_COPY"
expect_refused "driverfsd /etc/passwd" 2 /etc/passwd "$DRIVERFSD" --plugin-dir "$PLUGINS_COPY" /etc/passwd

# mount(8) -> mount.fuse3 -> the installed driverfs helper -> driverfsd.
command -v meson >/dev/null || fail "meson is not in PATH"
BUILD=$(cd "$(dirname "$DRIVERFSD")/../.." && pwd)
DEST="$WORK/dest"
meson install -C "$BUILD" --no-rebuild --quiet --destdir "$DEST" >"$WORK/install.log" 2>&1 ||
    fail "meson install --destdir failed: $(tail -5 "$WORK/install.log")"
HELPER=$(find "$DEST" -path '*/sbin/driverfs' -type f -print -quit)
[[ -n "$HELPER" ]] || fail "the install has no sbin/driverfs helper"
SBIN=$(dirname "${HELPER#"$DEST"}")
[[ -d "$SBIN" ]] || fail "$SBIN does not exist to bind the DESTDIR's sbin over"
mount --bind "$(dirname "$HELPER")" "$SBIN" || fail "cannot bind $(dirname "$HELPER") over $SBIN"

expect_refused "driverfs helper FILE" 2 "$F" "$HELPER" driverfs "$F" -o "plugin_dir=$PLUGINS_COPY"
# mount(8) reports a helper's failure with the helper's status.
expect_refused "mount -t fuse.driverfs driverfs FILE" 2 "$F" \
    mount -t fuse.driverfs driverfs "$F" -o "plugin_dir=$PLUGINS_COPY"
umount "$SBIN" || fail "cannot unbind $SBIN"
