#!/bin/bash
# ctl_config: device description files. `driverfsd --config` builds the tree
# (plugins, devices with parents and properties) before the mount appears;
# an invalid file is refused with the JSON path of the first error and
# nothing is mounted; `driverfsctl apply` refuses invalid or failing files
# with the path and leaves the tree exactly as it was.
. "$(dirname "$0")/lib/common.sh"
setup
ctl_preflight
install_plugin "$(plugin_file led)" led.so

cat >"$WORK/good.json" <<'JSON'
{"plugins": ["led"],
 "buses": {"platform": {"devices": [
    {"name": "led0", "properties": {"max_brightness": 50}},
    {"name": "led1", "parent": "led0", "properties": {"color": "green"}}]}}}
JSON
cat >"$WORK/bad.json" <<'JSON'
{"plugins": ["led"],
 "buses": {"platform": {"devices": [{"name": "led0"}, {"name": "a/b"}]}}}
JSON

# Refused at start: exit 1, the JSON path on stderr, no mount.
refused_start() {
    local mnt rc=0
    mnt=$(mktemp -d "${TMPDIR:-/tmp}/driverfs-mnt-bad.XXXXXX")
    "$DRIVERFSD" -f --plugin-dir "$PLUGINS_COPY" --control "$WORK/bad.sock" --config "$1" "$mnt" 2>"$WORK/bad.err" || rc=$?
    expect_eq "driverfsd --config $(basename "$1"): exit status" "1" "$rc"
    expect_match "driverfsd --config $(basename "$1"): message" "$2" "$(cat "$WORK/bad.err")"
    mounted "$mnt" && fail "$mnt got mounted despite the bad config"
    [[ -e "$WORK/bad.sock" ]] && fail "a control socket was left behind"
    rmdir "$mnt"
}
refused_start "$WORK/bad.json" 'bad.json: \$\.buses\.platform\.devices\[1\]\.name: must be a device name'
printf '{"plugins": ["led", ' >"$WORK/broken.json"
refused_start "$WORK/broken.json" 'broken.json: \$: malformed JSON'
echo '{"plugins": ["nosuchplugin"]}' >"$WORK/noplugin.json"
refused_start "$WORK/noplugin.json" '\$\.plugins\[0\]: '

# Applied before the mount appears: present as soon as it is mounted.
SOCK="$WORK/ctl.sock"
start_daemon --control "$SOCK" --config "$WORK/good.json"
expect_eq "led0 max_brightness from --config" "50" "$(read_attr "$(led_dir led0)/max_brightness")"
expect_eq "led1 is below led0 and bound" "led" "$(basename "$(readlink "$M/devices/platform/led0/led1/driver")")"
expect_eq "devices" "led0 (platform) driver=led state=active max_brightness=50
  led1 (platform) driver=led state=active color=green" "$(ctl_ok devices)"

# Runtime apply: invalid, then valid but failing half way: nothing changes.
before=$(tree_snapshot)
expect_ctl_status 1 'apply: [^ ]*/bad\.json: \$\.buses\.platform\.devices\[1\]\.name: must be a device name .*\(EINVAL\)' apply "$WORK/bad.json"
cat >"$WORK/half.json" <<'JSON'
{"buses": {"platform": {"devices": [{"name": "led7"}]},
           "nobus": {"devices": [{"name": "z0"}]}}}
JSON
expect_ctl_status 1 'apply: \$\.buses\.nobus\.devices\[0\]: .*\(ENOENT\)' apply "$WORK/half.json"
expect_ctl_status 1 'broken.json: \$: malformed JSON' apply "$WORK/broken.json"
# A .umockdev dump goes through the daemon's importer: the error names its line.
printf 'P: /devices/platform/x0\nE: SUBSYSTEM=platform\nQ: what\n' >"$WORK/bad.umockdev"
expect_ctl_status 1 'apply: [^ ]*/bad\.umockdev:3: .*\(EINVAL\)' apply "$WORK/bad.umockdev"
expect_eq "tree unchanged by refused applies" "$before" "$(tree_snapshot)"

# Applying the start-up file again changes nothing and succeeds.
expect_eq "re-apply" "loaded: -
added: -
already present: led led0 led1" "$(ctl_ok apply "$WORK/good.json")"
expect_daemon_alive
