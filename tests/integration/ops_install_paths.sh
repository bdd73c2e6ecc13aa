#!/bin/bash
# ops_install_paths: the README's install command puts every file where the
# README's table, the man pages and the unit say. A /usr-prefix configuration
# of the source tree (nothing is built or installed) is introspected: each
# path of the table must be installed, each installed file must be in the
# table, the generated unit and mount helper must name the /usr and
# /etc/driverfs paths, and no document may name a /usr/local path.
. "$(dirname "$0")/lib/common.sh"

: "${DRIVERFS_SRC:?DRIVERFS_SRC is not set (tests/integration/meson.build sets it)}"
command -v meson >/dev/null || fail "meson is not in PATH"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/driverfs-$TEST_NAME.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# The README's command, minus the build and the install.
grep -q 'meson setup build-install --prefix=/usr --buildtype=release -Dtests=false' "$DRIVERFS_SRC/README.md" ||
    fail "the README no longer gives the install command this test checks"
meson setup "$WORK/b" "$DRIVERFS_SRC" --prefix=/usr --buildtype=release -Dtests=false -Dbench=disabled \
    >"$WORK/setup.log" 2>&1 || fail "meson setup --prefix=/usr failed: $(tail -5 "$WORK/setup.log")"
pass "configured with --prefix=/usr"

meson introspect "$WORK/b" --installed >"$WORK/installed.json" || fail "meson introspect --installed failed"
meson introspect "$WORK/b" --buildoptions >"$WORK/options.json" || fail "meson introspect --buildoptions failed"
report=$(python3 - "$DRIVERFS_SRC/README.md" "$WORK/installed.json" "$WORK/options.json" <<'PY'
import json, re, sys
readme, installed_json, options_json = sys.argv[1:]
libdir = next(o["value"] for o in json.load(open(options_json)) if o["name"] == "libdir")
multiarch = libdir.split("/")[-1]
installed = sorted(set(json.load(open(installed_json)).values()))
text = open(readme).read()
section = text.split("\n## Installing\n", 1)[1].split("\n## ", 1)[0]
table = [re.match(r"\| `([^`]+)`", l).group(1) for l in section.splitlines() if l.startswith("| `/")]
table = [p.replace("MULTIARCH", multiarch) for p in table]
problems = []
if len(table) < 5:
    problems.append(f"the README's install table has {len(table)} paths")
def covers(p, f):
    return f == p or (p.endswith("/") and f.startswith(p))
for p in table:
    if not any(covers(p, f) for f in installed):
        problems.append(f"the README names {p}, which the install does not have")
for f in installed:
    if not any(covers(p, f) for p in table):
        problems.append(f"the install puts {f}, which the README's table does not name")
print("\n".join(problems) if problems else f"ok: {len(table)} table paths cover {len(installed)} installed files")
PY
) || fail "comparing the README with the install failed"
[[ $report == ok:* ]] || fail "README install table and meson install disagree:
$report"
pass "$report"

UNIT="$WORK/b/mountscripts/driverfs@.service"
HELPER="$WORK/b/mountscripts/driverfs"
[[ -f $UNIT && -f $HELPER ]] || fail "meson setup did not generate the unit and the mount helper"
expect_match "unit reads /etc/driverfs/INSTANCE.json" 'Environment=DRIVERFS_CONFIG=/etc/driverfs/%i\.json' "$(cat "$UNIT")"
expect_match "unit reads /etc/driverfs/INSTANCE.env" 'EnvironmentFile=-/etc/driverfs/%i\.env' "$(cat "$UNIT")"
expect_match "unit starts /usr/sbin/driverfsd" 'ExecStart=/usr/sbin/driverfsd ' "$(cat "$UNIT")"
expect_match "unit reloads with /usr/bin/driverfsctl" 'ExecReload=/usr/bin/driverfsctl ' "$(cat "$UNIT")"
expect_match "mount helper runs /usr/sbin/driverfsd" '/usr/sbin/driverfsd' "$(cat "$HELPER")"

local_paths=$(grep -n '/usr/local' "$DRIVERFS_SRC"/man/*.[1-8] "$DRIVERFS_SRC"/mountscripts/*.in || true)
[[ -z $local_paths ]] || fail "documents name /usr/local paths, which the install command does not use:
$local_paths"
pass "no man page or mount script names a /usr/local path"
