// The shared file operations for attributes, and the current value of one.
#include "core/open_file.hpp"

#include <fcntl.h>

namespace driverfs {
namespace {

// Every call of an attribute's ops holds a pin of its node: removal
// deactivates the node, so a removed attribute never calls its owner again.
Result<Pin> pin_attr(Node& node) {
    Pin pin(node.active());
    if (!pin) return Error::of(ENODEV, node.name + " was removed");
    return pin;
}

}  // namespace

Result<size_t> current_value(Node& node, char* page) {
    Result<Pin> pin = pin_attr(node);
    if (!pin) return pin.error();
    return node.ops()->show(page);
}

Result<std::unique_ptr<OpenFile>> OpenFile::open(NodePtr node, int flags) {
    if (node->kind == NodeKind::dir) return Error::of(EISDIR, "is a directory");
    if (node->kind != NodeKind::attr) return Error::of(ELOOP, "is a symlink");
    const int acc = flags & O_ACCMODE;
    const uint32_t mode = node->mode();
    if ((acc == O_RDONLY || acc == O_RDWR) && !(mode & 0444))
        return Error::of(EACCES, node->name + " is write-only");
    if ((acc == O_WRONLY || acc == O_RDWR) && !(mode & 0222))
        return Error::of(EACCES, node->name + " is read-only");
    Result<Pin> pin = pin_attr(*node);
    if (!pin) return pin.error();
    if (Status s = node->ops()->validate(); !s) return s.error();
    return std::unique_ptr<OpenFile>(new OpenFile(std::move(node)));
}

Result<size_t> OpenFile::read(char* out, size_t size, off_t offset) {
    if (offset < 0) return Error::of(EINVAL, "negative offset");
    if (node_->ops()->binary()) {
        Result<Pin> pin = pin_attr(*node_);
        if (!pin) return pin.error();
        return node_->ops()->read_at(out, size, static_cast<size_t>(offset));
    }
    std::lock_guard lock(mu_);
    if (offset == 0 || !have_snapshot_) {
        seen_events_.store(node_->events.load(std::memory_order_acquire), std::memory_order_relaxed);
        char page[AttrOps::kPageSize];
        Result<size_t> n = current_value(*node_, page);
        if (!n) return n.error();
        // A page once, so that no later read allocates whatever its length.
        if (snapshot_.capacity() < AttrOps::kPageSize) snapshot_.reserve(AttrOps::kPageSize);
        snapshot_.assign(page, n.value());
        have_snapshot_ = true;
    } else if (Result<Pin> alive = pin_attr(*node_); !alive) {
        // Even a read served from the snapshot needs the attribute alive, as
        // in kernfs: a removed attribute answers ENODEV at any offset.
        return alive.error();
    }
    if (static_cast<size_t>(offset) >= snapshot_.size()) return size_t{0};
    size_t len = std::min(size, snapshot_.size() - static_cast<size_t>(offset));
    snapshot_.copy(out, len, static_cast<size_t>(offset));
    return len;
}

Result<size_t> OpenFile::write(std::string_view data, off_t offset) {
    if (node_->ops()->binary()) {
        if (offset < 0) return Error::of(EINVAL, "negative offset");
        Result<Pin> pin = pin_attr(*node_);
        if (!pin) return pin.error();
        return node_->ops()->write_at(data, static_cast<size_t>(offset));
    }
    // Linux sysfs hands store() at most one page and reports the write as
    // short: a 4097-byte write() returns 4096 (checked on this project's
    // kernel; see driverfs(5)).
    if (data.size() > AttrOps::kPageSize) data = data.substr(0, AttrOps::kPageSize);
    Result<Pin> pin = pin_attr(*node_);
    if (!pin) return pin.error();
    return node_->ops()->store(data);
}

}  // namespace driverfs
