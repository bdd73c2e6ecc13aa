#!/usr/bin/env bash
# Binary attributes and attribute groups through the mount (fixture
# fx_eeprom): stat shows the attribute's length (10000, more than a page),
# pread/pwrite reach the driver with the exact offset and size, a read at the
# end gives 0 bytes, a write there EFBIG, and a named group is a directory
# whose attributes carry the modes the driver's is_visible chose.
source "$(dirname "$0")/lib/common.sh"
setup
start_daemon
install_plugin "$(fixture_file fx_eeprom)" fx_eeprom.so
expect_write_ok "$M/control/load" "fx_eeprom"
expect_write_ok "$M/bus/platform/new_device" "eeprom0"
D="$M/devices/platform/eeprom0"

expect_eq "stat size of eeprom" "10000" "$(stat -c %s "$D/eeprom")"
out=$(python3 - "$D/eeprom" "$D/last_io" <<'PY'
import errno, os, sys
path, last = sys.argv[1], sys.argv[2]
def last_io(): return open(last).read().strip()
fd = os.open(path, os.O_RDWR)
print(len(os.pread(fd, 8192, 100)), last_io())
print(os.pread(fd, 3, 5203).decode(), last_io())
print(len(os.pread(fd, 100, 9990)), last_io())
print(len(os.pread(fd, 100, 10000)))
print(os.pwrite(fd, b"XY", 5000), last_io(), os.pread(fd, 2, 5000).decode())
try:
    os.pwrite(fd, b"Z", 10000); print("no error")
except OSError as e:
    print(errno.errorcode[e.errno])
with open(path, "rb") as f:
    print(len(f.read()))
os.close(fd)
PY
) || fail "python: $out"
expect_eq "8192-byte pread at 100" "8192 read 100 8192" "$(sed -n 1p <<<"$out")"
expect_eq "3-byte pread at 5203" "def read 5203 3" "$(sed -n 2p <<<"$out")"
expect_eq "pread cut at the end" "10 read 9990 10" "$(sed -n 3p <<<"$out")"
expect_eq "pread at the end" "0" "$(sed -n 4p <<<"$out")"
expect_eq "pwrite at 5000" "2 write 5000 2 XY" "$(sed -n 5p <<<"$out")"
expect_eq "pwrite at the end" "EFBIG" "$(sed -n 6p <<<"$out")"
expect_eq "cat-style read of the whole file" "10000" "$(sed -n 7p <<<"$out")"

[[ -d "$D/settings" ]] || fail "group directory settings missing"
expect_eq "settings/mode mode" "400" "$(stat -c %a "$D/settings/mode")"
[[ -e "$D/settings/secret" ]] && fail "settings/secret visible without secret=1"
expect_eq "unnamed group attribute" "eeprom0:serial" "$(cat "$D/serial")"
expect_write_ok "$M/bus/platform/new_device" "eeprom1 secret=1"
expect_eq "settings/secret with secret=1" "eeprom1:secret" "$(cat "$M/devices/platform/eeprom1/settings/secret")"
expect_daemon_alive
