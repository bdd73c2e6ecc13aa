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

}  // namespace driverfs
