// Recorded attributes of declarative devices: text and binary values kept by the daemon.
#include <algorithm>
#include <cstring>

#include "declared.hpp"

namespace driverfs {

Result<size_t> DeclaredAttrOps::show(char* page) {
    std::lock_guard lock(value_->mu);
    size_t n = std::min(value_->bytes.size(), kPageSize);
    std::memcpy(page, value_->bytes.data(), n);
    return n;
}

Result<size_t> DeclaredAttrOps::store(std::string_view data) {
    // The whole buffer, as sysfs hands it to store(): at most a page (the
    // open file cuts longer writes to a page, as kernfs does).
    if (data.size() > DeclaredAttr::kMaxText) return Error::of(EINVAL, "a text attribute holds at most a page");
    {
        std::lock_guard lock(value_->mu);
        value_->bytes.assign(data);
    }
    changed();
    return data.size();
}

size_t DeclaredAttrOps::size() const {
    if (!binary_) return kPageSize;
    std::lock_guard lock(value_->mu);
    return value_->bytes.size();
}

Result<size_t> DeclaredAttrOps::read_at(char* out, size_t count, size_t offset) {
    std::lock_guard lock(value_->mu);
    if (offset >= value_->bytes.size()) return size_t{0};
    size_t n = std::min(count, value_->bytes.size() - offset);
    std::memcpy(out, value_->bytes.data() + offset, n);
    return n;
}

Result<size_t> DeclaredAttrOps::write_at(std::string_view data, size_t offset) {
    if (offset > DeclaredAttr::kMaxBinary || data.size() > DeclaredAttr::kMaxBinary - offset)
        return Error::of(EFBIG, "a binary attribute holds at most 65536 bytes");
    {
        std::lock_guard lock(value_->mu);
        if (value_->bytes.size() < offset + data.size()) value_->bytes.resize(offset + data.size());
        std::memcpy(value_->bytes.data() + offset, data.data(), data.size());
    }
    changed();
    return data.size();
}

Status DeclaredAttrOps::replace(std::string_view bytes) {
    if (!binary_ && bytes.size() > DeclaredAttr::kMaxText) return Error::of(EINVAL, "a text attribute holds at most a page");
    if (binary_ && bytes.size() > DeclaredAttr::kMaxBinary)
        return Error::of(EFBIG, "a binary attribute holds at most 65536 bytes");
    {
        std::lock_guard lock(value_->mu);
        value_->bytes.assign(bytes);
    }
    changed();
    return {};
}

void DeclaredAttrOps::changed() {
    // notify_changed only queues for the front end: safe inside a write.
    if (NodePtr n = node_.lock()) tree_.notify_changed(*n);
}

Result<NodePtr> add_declared_attr(NodeTree& tree, const NodePtr& dir, const std::string& name, uint32_t mode,
                                  const std::shared_ptr<DeclaredValue>& value, bool binary) {
    auto ops = std::make_unique<DeclaredAttrOps>(value, binary, tree);
    DeclaredAttrOps* raw = ops.get();
    Result<NodePtr> node = tree.add_attr(dir, name, mode, std::move(ops));
    if (node) raw->set_node(node.value());
    return node;
}

namespace {

// `path` walked as the kernel walks one, symlinks followed: a user names
// /sys/class/hwmon/hwmon3/temp1_input, which is devices/... behind a link.
// The directories walked so far are a stack, so ".." needs no parent
// pointer; 40 links at most, as Linux's bound before ELOOP.
Result<NodePtr> resolve_following_links(NodeTree& tree, std::string_view path) {
    std::vector<NodePtr> dirs{tree.root()};
    std::vector<std::string> todo;  // components still to walk, the next one last
    auto push_front = [&todo](std::string_view p) {
        std::vector<std::string> parts = split_path(p);
        todo.insert(todo.end(), parts.rbegin(), parts.rend());
    };
    push_front(path);
    NodePtr cur = dirs.back();
    for (int links = 0; !todo.empty();) {
        const std::string part = std::move(todo.back());
        todo.pop_back();
        if (part.empty() || part == ".") continue;
        if (cur->kind != NodeKind::dir) return Error::of(ENOTDIR, std::string(path) + ": a file is not a directory");
        if (part == "..") {
            if (dirs.size() > 1) dirs.pop_back();
            cur = dirs.back();
            continue;
        }
        Result<NodePtr> next = tree.lookup(cur->ino, part, true);
        if (!next) return Error::of(ENOENT, std::string(path) + ": no such file in the tree");
        if (next.value()->kind == NodeKind::symlink) {
            if (++links > 40) return Error::of(ELOOP, std::string(path) + ": too many symbolic links");
            push_front(next.value()->target());
            continue;
        }
        cur = next.value();
        dirs.push_back(cur);
    }
    return cur;
}

}  // namespace

Status set_recorded_attribute(NodeTree& tree, std::string_view path, std::string_view bytes) {
    Result<NodePtr> found = resolve_following_links(tree, path);
    if (!found) return found.error();
    NodePtr node = found.value();
    // Its ops are daemon code the node owns, alive as long as `node`: no pin
    // is needed, and a removal racing with this write only loses the write.
    auto* ops = node->kind == NodeKind::attr ? dynamic_cast<DeclaredAttrOps*>(node->ops()) : nullptr;
    if (!ops)
        return Error::of(EINVAL, std::string(path) +
                                     ": not a recorded attribute of a described device (a driver's or the core's "
                                     "files change through their owner)");
    Status s = ops->replace(bytes);
    if (!s) return Error::of(s.error().code, std::string(path) + ": " + s.error().message);
    return {};
}

}  // namespace driverfs
