"""refusals: the file operations sysfs refuses, and what each one answers.

Used two ways:
  * by random_stress.py, which applies OPS at random to entries of a driverfs
    mount and checks each result against TABLE (what the real /sys answered);
  * by hand, to rebuild TABLE on another kernel and to compare side by side:

      python3 tests/stress/refusals.py            # probe the real /sys
      python3 tests/stress/refusals.py --mount M  # probe a driverfs mount M
                                                  # (led loaded, led0 bound)

Every operation here is refused by sysfs or changes nothing (a truncate of an
attribute, an O_TRUNC open), so probing the real /sys is harmless: no value is
written, no mode or owner changed, no entry made or removed.

An operation is applied to one entry, of one of five kinds: dir, link, and
attribute files rw, ro, wo (by mode bits). NEW is a name that does not exist
in the entry's parent (or in the entry itself when it is a directory).
"""
import errno
import mmap
import os
import stat
import sys

NEW = "stress-new-entry"


def _kind(path):
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return "link"
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    r = bool(st.st_mode & stat.S_IRUSR)
    w = bool(st.st_mode & stat.S_IWUSR)
    return "rw" if r and w else "ro" if r else "wo" if w else "none"


def kind(path):
    return _kind(path)


def _open_close(path, flags):
    fd = os.open(path, flags, 0o644)
    os.close(fd)


def _in_dir(p):
    # the directory a new entry goes into: p itself, or p's parent
    return p if os.path.isdir(p) and not os.path.islink(p) else os.path.dirname(p)


def _create(p):
    _open_close(os.path.join(_in_dir(p), NEW), os.O_CREAT | os.O_WRONLY)


def _create_excl_existing(p):
    _open_close(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY)


def _mknod(p):
    os.mknod(os.path.join(_in_dir(p), NEW), stat.S_IFREG | 0o644)


def _mkdir(p):
    os.mkdir(os.path.join(_in_dir(p), NEW))


def _symlink(p):
    os.symlink("target", os.path.join(_in_dir(p), NEW))


def _rmdir(p):
    os.rmdir(p)


def _unlink(p):
    os.unlink(p)


def _rename(p):
    os.rename(p, os.path.join(os.path.dirname(p), NEW))


def _rename_noreplace_self(p):
    # rename onto itself: POSIX says success, nothing happens
    os.rename(p, p)


def _link(p):
    os.link(p, os.path.join(os.path.dirname(p), NEW), follow_symlinks=False)


def _setxattr(p):
    os.setxattr(p, "user.stress", b"1", follow_symlinks=False)


def _getxattr(p):
    os.getxattr(p, "user.stress", follow_symlinks=False)


def _listxattr(p):
    os.listxattr(p, follow_symlinks=False)


def _removexattr(p):
    os.removexattr(p, "user.stress", follow_symlinks=False)


def _truncate(p):
    os.truncate(p, 0)


def _ftruncate(p):
    fd = os.open(p, os.O_WRONLY)
    try:
        os.ftruncate(fd, 0)
    finally:
        os.close(fd)


def _open_trunc(p):
    _open_close(p, os.O_WRONLY | os.O_TRUNC)


def _open_append(p):
    _open_close(p, os.O_WRONLY | os.O_APPEND)


def _open_rdwr(p):
    _open_close(p, os.O_RDWR)


def _open_wronly(p):
    _open_close(p, os.O_WRONLY)


def _open_rdonly(p):
    _open_close(p, os.O_RDONLY)


def _open_directory(p):
    _open_close(p, os.O_RDONLY | os.O_DIRECTORY)


def _read_dir(p):
    fd = os.open(p, os.O_RDONLY)
    try:
        os.read(fd, 4096)
    finally:
        os.close(fd)


def _lseek_past_end(p):
    # seek far past the page and read: sysfs gives 0 bytes there
    fd = os.open(p, os.O_RDONLY)
    try:
        os.lseek(fd, 1 << 20, os.SEEK_SET)
        if os.read(fd, 4096) != b"":
            raise OSError(errno.EPROTO, "read past the end returned data")
    finally:
        os.close(fd)


def _mmap(p):
    fd = os.open(p, os.O_RDONLY)
    try:
        m = mmap.mmap(fd, 4096, prot=mmap.PROT_READ)
        m.close()
    finally:
        os.close(fd)


def _fallocate(p):
    fd = os.open(p, os.O_WRONLY)
    try:
        os.posix_fallocate(fd, 0, 4096)
    finally:
        os.close(fd)


# name -> (function, kinds it is applied to)
ALL = ("dir", "link", "rw", "ro", "wo")
FILES = ("rw", "ro", "wo")
OPS = {
    "create": (_create, ("dir", "rw")),
    "create-excl-existing": (_create_excl_existing, ALL),
    "mknod": (_mknod, ("dir", "rw")),
    "mkdir": (_mkdir, ("dir", "rw")),
    "symlink": (_symlink, ("dir", "rw")),
    "rmdir": (_rmdir, ALL),
    "unlink": (_unlink, ALL),
    "rename": (_rename, ALL),
    "rename-self": (_rename_noreplace_self, ALL),
    "link": (_link, ALL),
    "setxattr": (_setxattr, ALL),
    "getxattr": (_getxattr, ALL),
    "listxattr": (_listxattr, ALL),
    "removexattr": (_removexattr, ALL),
    "truncate": (_truncate, ("dir", "rw", "ro", "wo")),
    "ftruncate": (_ftruncate, ("rw", "wo")),
    "open-trunc": (_open_trunc, ("dir", "rw", "ro", "wo")),
    "open-append": (_open_append, ("dir", "rw", "ro", "wo")),
    "open-rdwr": (_open_rdwr, ("dir", "rw", "ro", "wo")),
    "open-wronly": (_open_wronly, ("dir", "ro")),
    "open-rdonly": (_open_rdonly, ("wo",)),
    "open-directory": (_open_directory, FILES),
    "read-dir": (_read_dir, ("dir",)),
    "lseek-past-end": (_lseek_past_end, ("rw", "ro")),
    "mmap": (_mmap, ("rw", "ro")),
    "fallocate": (_fallocate, ("rw", "wo")),
}


def run(op, path):
    """Apply OP to PATH: "OK" or the errno's name."""
    fn = OPS[op][0]
    try:
        fn(path)
        return "OK"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


# What the real /sys answered (Linux 6.18.44, 2026-12-02, `python3 refusals.py`):
# (op, kind) -> the one answer. A driverfs entry of that kind must answer the same
# (random_stress.py also allows ENOENT/ENODEV when the entry went away meanwhile).
TABLE = {}  # filled in below from TABLE_TEXT

TABLE_TEXT = """
create dir EACCES
create rw EACCES
create-excl-existing dir EEXIST
create-excl-existing link EEXIST
create-excl-existing ro EEXIST
create-excl-existing rw EEXIST
create-excl-existing wo EEXIST
fallocate rw EBADF
fallocate wo EBADF
ftruncate rw OK
ftruncate wo OK
getxattr dir ENODATA
getxattr link ENODATA
getxattr ro ENODATA
getxattr rw ENODATA
getxattr wo ENODATA
link dir EPERM
link link EPERM
link ro EPERM
link rw EPERM
link wo EPERM
listxattr dir OK
listxattr link OK
listxattr ro OK
listxattr rw OK
listxattr wo OK
lseek-past-end ro OK
lseek-past-end rw OK
mkdir dir EPERM
mkdir rw EPERM
mknod dir EACCES
mknod rw EACCES
mmap ro ENODEV
mmap rw ENODEV
open-append dir EISDIR
open-append ro EACCES
open-append rw OK
open-append wo OK
open-directory ro ENOTDIR
open-directory rw ENOTDIR
open-directory wo ENOTDIR
open-rdonly wo EACCES
open-rdwr dir EISDIR
open-rdwr ro EACCES
open-rdwr rw OK
open-rdwr wo EACCES
open-trunc dir EISDIR
open-trunc ro EACCES
open-trunc rw OK
open-trunc wo OK
open-wronly dir EISDIR
open-wronly ro EACCES
read-dir dir EISDIR
removexattr dir ENOTSUP
removexattr link EPERM
removexattr ro ENOTSUP
removexattr rw ENOTSUP
removexattr wo ENOTSUP
rename dir EPERM
rename link EPERM
rename ro EPERM
rename rw EPERM
rename wo EPERM
rename-self dir OK
rename-self link OK
rename-self ro OK
rename-self rw OK
rename-self wo OK
rmdir dir EPERM
rmdir link ENOTDIR
rmdir ro ENOTDIR
rmdir rw ENOTDIR
rmdir wo ENOTDIR
setxattr dir ENOTSUP
setxattr link EPERM
setxattr ro ENOTSUP
setxattr rw ENOTSUP
setxattr wo ENOTSUP
symlink dir EPERM
symlink rw EPERM
truncate dir EISDIR
truncate ro OK
truncate rw OK
truncate wo OK
unlink dir EISDIR
unlink link EPERM
unlink ro EPERM
unlink rw EPERM
unlink wo EPERM
"""


def _parse_table(text):
    t = {}
    for line in text.strip().splitlines():
        op, kind_, ans = line.split()
        t[(op, kind_)] = ans
    return t


TABLE.update(_parse_table(TABLE_TEXT))


def sys_targets():
    return {
        "dir": "/sys/devices/platform",
        "link": "/sys/devices/platform/serial8250/subsystem",
        "rw": "/sys/module/8250/parameters/skip_txen_test",
        "ro": "/sys/devices/platform/serial8250/modalias",
        "wo": "/sys/bus/platform/drivers_probe",
    }


def driverfs_targets(m):
    return {
        "dir": m + "/devices/platform",
        "link": m + "/devices/platform/led0/subsystem",
        "rw": m + "/devices/platform/led0/leds/led0/brightness",
        "ro": m + "/devices/platform/led0/leds/led0/max_brightness",
        "wo": m + "/bus/platform/drivers_probe",
    }


def probe(targets):
    out = {}
    for op, (_, kinds) in OPS.items():
        for k in kinds:
            p = targets[k]
            assert kind(p) == k, (p, kind(p), k)
            out[(op, k)] = run(op, p)
    return out


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--mount":
        got = probe(driverfs_targets(sys.argv[2]))
        bad = 0
        for (op, k), ans in sorted(got.items()):
            want = TABLE.get((op, k), "?")
            flag = "" if ans == want else "   <-- /sys: " + want
            bad += ans != want
            print(f"{op:22} {k:5} {ans}{flag}")
        print(f"{bad} differences from /sys")
        sys.exit(1 if bad else 0)
    for (op, k), ans in sorted(probe(sys_targets()).items()):
        print(f"{op} {k} {ans}")
