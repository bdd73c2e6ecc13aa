// The kernel's references to nodes: FUSE lookup counts, kept by the front end.
#pragma once

#include <cstdint>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "core/node.hpp"

namespace driverfs::fuse {

// Every inode the kernel was handed by LOOKUP or READDIRPLUS, with how many
// times, until its FORGET takes them back (libfuse's passthrough_hp keeps
// the same count in its own inode map). Holding the NodePtr here is what
// lets a removed node outlive its removal: the kernel may still name it by
// number (a stat through a cached dentry, an fstat of an open file) until
// it forgets it. The root is the kernel's without any lookup and never
// forgotten.
class KernelRefs {
public:
    explicit KernelRefs(NodeTree& tree) : tree_(tree) {}

    // The child `name` of `parent_ino`, counting one reference on success.
    // Finding and counting happen under mu_, and held() takes mu_ too: a
    // removal that asks held() after its node left the tree either sees the
    // count, or this lookup ran after the node left and found nothing.
    Result<NodePtr> lookup(uint64_t parent_ino, std::string_view name);
    // Drop `n` references; the last one lets a removed node go.
    void forget(uint64_t ino, uint64_t n);
    // A node the kernel holds, or a live one: anything it may name.
    NodePtr get(uint64_t ino) const;
    // Does the kernel hold `ino`, so that it may have it cached?
    bool held(uint64_t ino) const;
    size_t size() const;

private:
    struct Ref {
        NodePtr node;
        uint64_t nlookup;
    };
    NodeTree& tree_;
    mutable std::mutex mu_;  // guards refs_
    std::unordered_map<uint64_t, Ref> refs_;
};

}  // namespace driverfs::fuse
