// The kernel's references to nodes: counted at lookup, dropped at forget.
#include "kernel_refs.hpp"

namespace driverfs::fuse {

Result<NodePtr> KernelRefs::lookup(uint64_t parent_ino, std::string_view name) {
    std::lock_guard lock(mu_);
    Result<NodePtr> node = tree_.lookup(parent_ino, name, true);
    if (!node) return node;
    auto [it, inserted] = refs_.try_emplace(node.value()->ino, Ref{node.value(), 0});
    ++it->second.nlookup;
    return node;
}

void KernelRefs::forget(uint64_t ino, uint64_t n) {
    NodePtr last;  // dropped after mu_: a node's end may free its owner's objects
    std::lock_guard lock(mu_);
    auto it = refs_.find(ino);
    if (it == refs_.end()) return;
    if (n < it->second.nlookup) {
        it->second.nlookup -= n;
        return;
    }
    last = std::move(it->second.node);
    refs_.erase(it);
}

NodePtr KernelRefs::get(uint64_t ino) const {
    {
        std::lock_guard lock(mu_);
        if (auto it = refs_.find(ino); it != refs_.end()) return it->second.node;
    }
    return tree_.get(ino);
}

bool KernelRefs::held(uint64_t ino) const {
    std::lock_guard lock(mu_);
    return refs_.count(ino) != 0;
}

size_t KernelRefs::size() const {
    std::lock_guard lock(mu_);
    return refs_.size();
}

}  // namespace driverfs::fuse
