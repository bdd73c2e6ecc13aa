#!/bin/bash
# fs_semantics: the file operations sysfs answers, errno for errno (as
# measured on /sys on the project's kernel): create in a directory EACCES;
# mkdir, unlink, rmdir, rename, link, symlink EPERM; truncate, O_TRUNC and
# O_APPEND on a rw attribute succeed (truncate leaves the value alone, an
# O_APPEND write stores); setxattr EOPNOTSUPP, getxattr ENODATA (EOPNOTSUPP for
# POSIX ACLs), listxattr
# empty; chmod succeeds and shows; read() of a directory EISDIR; lseek past
# the end then read gives 0 bytes; SEEK_END is 4096; mmap MAP_SHARED ENODEV;
# a 4097-byte write returns 4096 and stores exactly the first 4096 bytes;
# pread at offset 1 after a read is served from that read's snapshot.
source "$(dirname "$0")/lib/common.sh"
setup
mount_led0
expect_write_ok "$LED/brightness" $'42\n'

python3 - "$M" <<'PY' || fail "some file operations do not answer as sysfs does (see above)"
import errno, mmap, os, stat, sys

M = sys.argv[1]
D = M + "/devices/platform/led0"      # the platform device
L = D + "/leds/led0"                  # its LED class device
B = L + "/brightness"
failed = 0

def outcome(fn):
    try:
        r = fn()
        return "OK" if r is None else ("OK", r)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))

def check(what, expected, got):
    global failed
    if got == expected:
        print("ok [fs_semantics]: %s = %r" % (what, got))
    else:
        print("FAIL [fs_semantics]: %s: expected %r, got %r" % (what, expected, got))
        failed += 1

def value():
    with open(B) as f:
        return f.read()

def open_close(path, flags, mode=0o644):
    os.close(os.open(path, flags, mode))

# Namespace changes: refused like sysfs.
entries_before = sorted(os.listdir(D))
class_entries_before = sorted(os.listdir(L))
check("create a file in a device dir", "EACCES", outcome(lambda: open_close(D + "/newfile", os.O_CREAT | os.O_WRONLY)))
check("create with O_EXCL in the root", "EACCES", outcome(lambda: open_close(M + "/newfile", os.O_CREAT | os.O_EXCL | os.O_WRONLY)))
check("mknod a fifo", "EPERM", outcome(lambda: os.mkfifo(D + "/fifo")))
check("mkdir", "EPERM", outcome(lambda: os.mkdir(D + "/newdir")))
check("unlink an attribute", "EPERM", outcome(lambda: os.unlink(B)))
check("unlink a symlink", "EPERM", outcome(lambda: os.unlink(D + "/driver")))
check("rmdir a device dir", "EPERM", outcome(lambda: os.rmdir(D)))
check("rmdir a class device dir", "EPERM", outcome(lambda: os.rmdir(L)))
check("rmdir the leds dir", "EPERM", outcome(lambda: os.rmdir(D + "/leds")))
check("rmdir an empty dir (class)", "EPERM", outcome(lambda: os.rmdir(M + "/class")))
check("rename an attribute", "EPERM", outcome(lambda: os.rename(B, L + "/brightness2")))
check("rename a dir", "EPERM", outcome(lambda: os.rename(D, M + "/devices/platform/led9")))
check("link", "EPERM", outcome(lambda: os.link(B, L + "/brightness_link")))
check("symlink", "EPERM", outcome(lambda: os.symlink("brightness", L + "/brightness_sym")))
check("entries of led0 unchanged by the refused operations", entries_before, sorted(os.listdir(D)))
check("entries of leds/led0 unchanged by the refused operations", class_entries_before, sorted(os.listdir(L)))
check("led0 has its driver link and LED class dir", True, {"driver", "leds"} <= set(entries_before))
check("leds/led0 has its attributes", True, {"brightness", "max_brightness"} <= set(class_entries_before))
check("root entries unchanged", ["bus", "class", "control", "dev", "devices", "module"],
      sorted(e for e in os.listdir(M) if e in ("bus", "class", "control", "dev", "devices", "module", "newfile")))

# truncate / O_TRUNC / O_APPEND.
check("truncate brightness to 0", "OK", outcome(lambda: os.truncate(B, 0)))
check("brightness after truncate", "42\n", value())
check("open brightness O_WRONLY|O_TRUNC", "OK", outcome(lambda: open_close(B, os.O_WRONLY | os.O_TRUNC)))
check("brightness after O_TRUNC", "42\n", value())
# sysfs never changes an attribute's size for a truncate: a held fd's fstat
# after another open(O_TRUNC) still sees the same size (glibc's
# posix_fallocate fallback decides from that size whether to write a byte).
def size_across_o_trunc():
    fd = os.open(B, os.O_WRONLY)
    try:
        before = os.fstat(fd).st_size
        open_close(B, os.O_WRONLY | os.O_TRUNC)
        return before, os.fstat(fd).st_size
    finally:
        os.close(fd)
sizes = size_across_o_trunc()
check("an attribute keeps its size across another fd's O_TRUNC open", sizes[0], sizes[1])
check("that size is not 0", True, sizes[0] > 0)
def append():
    fd = os.open(B, os.O_WRONLY | os.O_APPEND)
    try:
        return os.write(fd, b"7\n")
    finally:
        os.close(fd)
check("write with O_APPEND", ("OK", 2), outcome(append))
check("brightness after the O_APPEND write", "7\n", value())
with open(B, "w") as f:
    f.write("42\n")

# xattrs.
check("setxattr user.x (EOPNOTSUPP = ENOTSUP)", errno.errorcode[errno.EOPNOTSUPP], outcome(lambda: os.setxattr(B, "user.x", b"1")))
check("getxattr user.x", "ENODATA", outcome(lambda: os.getxattr(B, "user.x")))
check("listxattr", ("OK", []), outcome(lambda: os.listxattr(B)))
check("getxattr on a dir", "ENODATA", outcome(lambda: os.getxattr(D, "user.x")))
# /sys has no POSIX ACLs: EOPNOTSUPP, unlike a missing xattr (what ls -l asks for).
check("getxattr system.posix_acl_access", errno.errorcode[errno.EOPNOTSUPP], outcome(lambda: os.getxattr(B, "system.posix_acl_access")))
check("getxattr system.posix_acl_default on a dir", errno.errorcode[errno.EOPNOTSUPP], outcome(lambda: os.getxattr(D, "system.posix_acl_default")))

# chmod is kept, like kernfs.
check("chmod 0600 brightness", "OK", outcome(lambda: os.chmod(B, 0o600)))
check("mode after chmod", "0o100600", oct(os.stat(B).st_mode))
check("chmod 0644 brightness", "OK", outcome(lambda: os.chmod(B, 0o644)))
check("mode after chmod back", "0o100644", oct(os.stat(B).st_mode))
check("brightness after the chmods", "42\n", value())

# Reading a directory.
dfd = os.open(D, os.O_RDONLY | os.O_DIRECTORY)
check("read() on a directory fd", "EISDIR", outcome(lambda: os.read(dfd, 100)))
os.close(dfd)

# Seeking.
fd = os.open(B, os.O_RDONLY)
check("lseek to 100000", ("OK", 100000), outcome(lambda: os.lseek(fd, 100000, os.SEEK_SET)))
check("read at 100000", ("OK", b""), outcome(lambda: os.read(fd, 100)))
check("lseek SEEK_END", ("OK", 4096), outcome(lambda: os.lseek(fd, 0, os.SEEK_END)))
check("read at SEEK_END", ("OK", b""), outcome(lambda: os.read(fd, 100)))
check("fstat st_size", 4096, os.fstat(fd).st_size)
os.close(fd)

# mmap.
fd = os.open(B, os.O_RDWR)
check("mmap MAP_SHARED of brightness", "ENODEV",
      outcome(lambda: mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE).close()))
check("mmap MAP_SHARED read-only of brightness", "ENODEV",
      outcome(lambda: mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ).close()))
os.close(fd)

# A write longer than a page: short write of exactly one page.
fd = os.open(B, os.O_WRONLY)
data = b"0" * 4095 + b"17"          # 4097 bytes; the first 4096 mean "1"
check("write of 4097 bytes returns", ("OK", 4096), outcome(lambda: os.write(fd, data)))
os.close(fd)
check("brightness after the 4097-byte write (first 4096 bytes stored)", "1\n", value())
fd = os.open(B, os.O_WRONLY)
check("write of exactly 4096 bytes returns", ("OK", 4096), outcome(lambda: os.write(fd, b"0" * 4094 + b"42")))
os.close(fd)
check("brightness after the 4096-byte write", "42\n", value())

# pread after a read: served from the snapshot taken by the read at offset 0.
fd = os.open(B, os.O_RDONLY)
check("read at offset 0", ("OK", b"42\n"), outcome(lambda: os.read(fd, 100)))
with open(B, "w") as f:
    f.write("5\n")
check("pread at offset 1 after a read (snapshot)", ("OK", b"2\n"), outcome(lambda: os.pread(fd, 100, 1)))
check("pread at offset 0 takes a fresh snapshot", ("OK", b"5\n"), outcome(lambda: os.pread(fd, 100, 0)))
check("pread at offset 1 of the fresh snapshot", ("OK", b"\n"), outcome(lambda: os.pread(fd, 100, 1)))
os.close(fd)

sys.exit(1 if failed else 0)
PY
expect_daemon_alive
