// Plugin objects: resolve, vet, copy, dlopen, find the entry symbol, dlclose.
#include "core/plugin_loader.hpp"

#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.hpp"
#include "core/validate.hpp"
#include "plugin_gate.hpp"
#include "stray_threads.hpp"

namespace driverfs {
namespace {

std::string errno_text(int e) { return std::strerror(e); }

bool same_file_state(const struct stat& a, const struct stat& b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
           a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

}  // namespace

SharedObject::~SharedObject() {
    // Reached with a handle only when a load fails after dlopen (unmap()
    // takes it otherwise): the object's constructors or entry function may
    // have started a thread all the same.
    if (handle && finish_plugin_threads(handle).keep_mapped()) {
        log(LogLevel::err, "plugin " + source + " left thread(s) running after a failed load; its code stays mapped");
        return;  // the memfd stays open with it, as in unmap()
    }
    if (handle) dlclose(handle);
    if (memfd >= 0) close(memfd);
}

Result<std::string> resolve_plugin(const std::string& name_or_path, const std::string& plugin_dir) {
    if (Status s = check_plugin_ref(name_or_path); !s) return s.error();
    if (name_or_path.find('/') != std::string::npos) return name_or_path;
    for (const std::string& candidate :
         {plugin_dir + "/" + name_or_path + ".so", plugin_dir + "/" + name_or_path + "/" + name_or_path + ".so"}) {
        if (access(candidate.c_str(), F_OK) == 0) return candidate;
    }
    return Error::of(ENOENT, "no plugin '" + name_or_path + "' in " + plugin_dir +
                                 " (looked for " + name_or_path + ".so and " + name_or_path + "/" +
                                 name_or_path + ".so); give a path or --plugin-dir");
}

namespace {

// Group- or other-writable, or owned by someone who is neither us nor root.
bool writable_by_others(const struct stat& s) {
    return (s.st_mode & (S_IWGRP | S_IWOTH)) || (s.st_uid != geteuid() && s.st_uid != 0);
}

std::string dir_of(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

Status check_dir(const std::string& path, const std::string& dir) {
    struct stat st;
    if (stat(dir.c_str(), &st) != 0)
        return Error::of(errno, "cannot stat plugin directory " + dir + ": " + errno_text(errno));
    // A sticky world-writable directory (/tmp) still lets others replace the
    // name; refuse it like any other writable directory.
    if (writable_by_others(st))
        return Error::of(EPERM, "refusing plugin " + path + ": directory " + dir +
                                    " is writable by other users (chmod go-w)");
    return {};
}

}  // namespace

Status check_plugin_file(const std::string& path) {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0)
        return Error::of(errno, "cannot stat plugin " + path + ": " + errno_text(errno));
    if (S_ISDIR(st.st_mode)) return Error::of(EISDIR, path + " is a directory, not a plugin");
    if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) return Error::of(EINVAL, path + " is not a regular file");
    // A link is only as safe as the directory holding it: whoever can write
    // there can point it elsewhere.
    if (Status s = check_dir(path, dir_of(path)); !s) return s;
    if (S_ISLNK(st.st_mode)) {
        char* real = realpath(path.c_str(), nullptr);
        if (!real) return Error::of(errno, "cannot resolve plugin link " + path + ": " + errno_text(errno));
        std::string target = real;
        free(real);
        return check_plugin_file(target);
    }
    if (writable_by_others(st))
        return Error::of(EPERM, "refusing plugin " + path +
                                    ": it is writable by other users or owned by another user (chmod go-w)");
    return {};
}

Result<std::unique_ptr<SharedObject>> map_private_copy(const std::string& path) {
    // Open the checked file itself, never whatever a link points to now, and
    // vet what was opened: the checks above were on names, this is on the
    // object we copy.
    char* real = realpath(path.c_str(), nullptr);
    if (!real) return Error::of(errno, "cannot resolve plugin " + path + ": " + errno_text(errno));
    std::string resolved = real;
    free(real);
    int fd = open(resolved.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return Error::of(errno, "cannot open plugin " + path + ": " + errno_text(errno));
    struct stat before;
    fstat(fd, &before);
    if (!S_ISREG(before.st_mode) || writable_by_others(before)) {
        close(fd);
        return Error::of(EPERM, "refusing plugin " + path + ": it changed into something unsafe while being loaded");
    }
    // A link re-pointed after check_plugin_file may lead into a directory
    // others can write: vet the directory of what was opened, too. The name
    // is checked to still be this file once it is copied (below).
    if (Status s = check_dir(path, dir_of(resolved)); !s) {
        close(fd);
        return s.error();
    }
    auto so = std::make_unique<SharedObject>();
    so->source = path;
    so->memfd = memfd_create(("driverfs:" + path.substr(path.rfind('/') + 1)).c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (so->memfd < 0) {
        int e = errno;
        close(fd);
        return Error::of(e, "memfd_create failed: " + errno_text(e));
    }
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = ::write(so->memfd, buf + off, static_cast<size_t>(n - off));
            if (w < 0) {
                int e = errno;
                close(fd);
                return Error::of(e, "copying plugin " + path + ": " + errno_text(e));
            }
            off += w;
        }
    }
    int read_errno = n < 0 ? errno : 0;
    struct stat after;
    fstat(fd, &after);
    struct stat now;
    bool renamed = stat(resolved.c_str(), &now) != 0 || now.st_ino != after.st_ino || now.st_dev != after.st_dev;
    close(fd);
    if (read_errno) return Error::of(read_errno, "reading plugin " + path + ": " + errno_text(read_errno));
    if (!same_file_state(before, after) || renamed)
        return Error::of(EAGAIN, "plugin " + path + " changed while it was being read; retry once it is written");
    // Seal the copy: nothing can change the code we are about to map.
    fcntl(so->memfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
    so->mapped = "/proc/self/fd/" + std::to_string(so->memfd);
    dlerror();
    PluginCodeLoad code_load;  // its constructors' threads are its threads
    so->handle = dlopen(so->mapped.c_str(), RTLD_NOW | RTLD_LOCAL);
    // A failed commit leaves the object unknown: unmap() then keeps it.
    if (so->handle) code_load.commit(so->handle);
    if (!so->handle) {
        const char* why = dlerror();
        std::string msg = why ? why : "unknown error";
        // dlerror names the memfd path; name the real file instead.
        if (auto p = msg.find(so->mapped); p != std::string::npos) msg.replace(p, so->mapped.size(), path);
        return Error::of(ENOEXEC, "cannot load " + path + " as a plugin: " + msg);
    }
    return so;
}

Result<const dfs_plugin_desc*> plugin_descriptor(const SharedObject& so) {
    dlerror();
    void* sym = dlsym(so.handle, DRIVERFS_ENTRY_SYMBOL);
    if (!sym)
        return Error::of(ENOEXEC, so.source + " is not a driverfs plugin: it does not export " +
                                      DRIVERFS_ENTRY_SYMBOL + "() (use DRIVERFS_PLUGIN() from driverfs/plugin.h)");
    auto entry = reinterpret_cast<dfs_entry_fn>(sym);
    Result<const dfs_plugin_desc*> called = gate_plugin_entry(entry, so.source);
    if (!called) return called.error();
    const dfs_plugin_desc* desc = called.value();
    if (!desc) return Error::of(ENOEXEC, so.source + ": " + DRIVERFS_ENTRY_SYMBOL + "() returned NULL");
    if (desc->size < offsetof(dfs_plugin_desc, exit) + sizeof desc->exit)
        return Error::of(ENOEXEC, so.source + ": plugin descriptor is too small (size " +
                                      std::to_string(desc->size) + ")");
    if (desc->abi_version < DRIVERFS_ABI_MIN)
        return Error::of(EPROTO, so.source + " was built for driverfs plugin ABI " +
                                     std::to_string(desc->abi_version) + ", older than the oldest this driverfsd loads (" +
                                     std::to_string(DRIVERFS_ABI_MIN) + "): rebuild it against this host's driverfs/plugin.h");
    if (desc->abi_version > DRIVERFS_ABI_VERSION)
        return Error::of(EPROTO, so.source + " needs driverfs plugin ABI " + std::to_string(desc->abi_version) +
                                     " but this driverfsd provides ABI " + std::to_string(DRIVERFS_ABI_VERSION) +
                                     ": rebuild the plugin against this host's driverfs/plugin.h or upgrade driverfsd");
    if (!desc->name || !valid_plugin_name(desc->name))
        return Error::of(EINVAL, so.source + ": plugin name is missing or has characters other than [A-Za-z0-9_.-]");
    if (!desc->init) return Error::of(EINVAL, so.source + ": plugin descriptor has no init function");
    return desc;
}

Status unmap(std::unique_ptr<SharedObject> so) {
    if (!so || !so->handle) return {};
    // exit() has returned: a thread the plugin started and left running
    // must not lose the code under it. Then the object is never dlclosed,
    // and its memfd stays open (unowned) so no later load's
    // /proc/self/fd/N can name the same path and be handed this object by
    // dlopen.
    const PluginThreads left = finish_plugin_threads(so->handle);
    if (left.keep_mapped()) {
        so->handle = nullptr;
        so->memfd = -1;
        std::string tids;
        for (pid_t t : left.tids) tids += (tids.empty() ? "" : ", ") + std::to_string(t);
        const std::string why = left.unknown ? "could not be checked for threads it started (its code segments "
                                               "were not found at load)"
                                             : "left " + std::to_string(left.tids.size()) +
                                                   " thread(s) running after exit (thread " + tids + ")";
        return Error::of(EBUSY, so->source + " " + why + "; its code stays mapped");
    }
    void* handle = so->handle;
    so->handle = nullptr;
    if (dlclose(handle) != 0) {
        const char* why = dlerror();
        return Error::of(EIO, "dlclose of " + so->source + " failed: " + (why ? why : "?"));
    }
    // RTLD_NOLOAD answers whether the object is still mapped under that name.
    if (void* again = dlopen(so->mapped.c_str(), RTLD_NOW | RTLD_NOLOAD)) {
        dlclose(again);
        // Keep the memfd open: the resident code still maps it.
        so->memfd = -1;
        return Error::of(EBUSY, "plugin " + so->source +
                                    " stayed resident after dlclose (STB_GNU_UNIQUE or NODELETE symbols; "
                                    "build it with -fno-gnu-unique): its code is unloaded logically but still mapped");
    }
    return {};
}

}  // namespace driverfs
