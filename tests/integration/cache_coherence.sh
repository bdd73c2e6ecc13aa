#!/usr/bin/env bash
# cache_coherence: a cacheable attribute (DFS_ATTR_CACHEABLE) is served from
# the kernel page cache and is never stale. Checks that repeated reads, on
# one fd and across opens, do not reach show(); that st_size is the real
# length; and that every change is visible to the very next read — on a new
# fd and on an fd opened before the change — whether it came from a write to
# the file, from a notify inside another attribute's store, or from a notify
# on a plugin thread. A fd opened for writing reads directly (every read is
# a show()). Fixture: tests/fixtures/fx_cache.cpp.
source "$(dirname "$0")/lib/common.sh"
setup
install_plugin "$(fixture_file fx_cache)" fx_cache.so
start_daemon
expect_write_ok "$M/control/load" "fx_cache"
expect_write_ok "$M/bus/platform/new_device" "cache0"
D="$M/devices/platform/cache0"

expect_eq "st_size is the value's length" "8" "$(stat -c %s "$D/value")"

out=$(python3 - "$D" <<'PY' 2>&1
import os, sys, time
d = sys.argv[1]
value, shows = d + "/value", d + "/shows"

def read_file(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, 4096, 0).decode()
    finally:
        os.close(fd)

def show_count():
    return int(read_file(shows))

def check(what, got, want):
    if got != want:
        print("FAIL %s: got %r, want %r" % (what, got, want))
        sys.exit(1)

def write(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)

held = os.open(value, os.O_RDONLY)   # opened before every change below
check("first read", os.pread(held, 4096, 0).decode(), "initial\n")

# Served from the page cache: 1000 preads and 200 open+read+close.
before = show_count()
for _ in range(1000):
    check("pread", os.pread(held, 4096, 0).decode(), "initial\n")
for _ in range(200):
    check("open+read", read_file(value), "initial\n")
calls = show_count() - before
# A few show() calls come from stat (st_size is measured when the kernel's
# attribute cache expires, once a second); 1200 reads must not cost 1200.
if calls > 10:
    print("FAIL cache: 1200 reads ran show() %d times" % calls); sys.exit(1)
print("ok 1200 cached reads ran show() %d time(s)" % calls)

def visible(how, text):
    check(how + ": next read on a new fd", read_file(value), text)
    check(how + ": next pread on the held fd", os.pread(held, 4096, 0).decode(), text)
    check(how + ": st_size", os.stat(value).st_size, len(text))

for i in range(30):
    text = "stored-%d%s\n" % (i, "x" * (i % 7))
    write(value, text)
    visible("write to value #%d" % i, text)
print("ok 30 writes visible on the next read")

for i in range(30):
    text = "poked-%d%s\n" % (i, "y" * (i % 5))
    write(d + "/poke", text)
    visible("notify inside a store #%d" % i, text)
print("ok 30 notifies from a store visible on the next read")

for i in range(1, 31):
    text = "ticked-%d%s\n" % (i, "z" * (i % 3))
    write(d + "/tick", text)
    deadline = time.monotonic() + 60  # generous: only a hung plugin thread fails
    while int(read_file(d + "/ticks")) < i:
        if time.monotonic() > deadline:
            print("FAIL tick #%d: the plugin thread did not finish" % i); sys.exit(1)
        time.sleep(0.001)
    # notify() returned before ticks moved: the cache must already be gone.
    visible("notify from a plugin thread #%d" % i, text)
print("ok 30 notifies from a plugin thread visible on the next read")

# Opened for writing: direct, every read runs show().
rw = os.open(value, os.O_RDWR)
before = show_count()
for _ in range(20):
    os.pread(rw, 4096, 0)
calls = show_count() - before
os.close(rw)
if calls < 20:
    print("FAIL O_RDWR: 20 reads ran show() only %d times" % calls); sys.exit(1)
print("ok O_RDWR reads are direct (%d show calls for 20 reads)" % calls)
os.close(held)
PY
) || fail "$out"
printf '%s\n' "$out"
expect_match "python checks" "O_RDWR reads are direct" "$out"

# Unload with the page cache populated: the file answers ENODEV afterwards
# and nothing stale is served from the cache.
read_attr "$D/value" >/dev/null
expect_write_ok "$M/control/unload" "fx_cache"
[[ -e "$D/value" ]] && fail "value still exists after unload"
pass "value is gone after unload"
expect_daemon_alive
