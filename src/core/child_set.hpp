// A directory's children: a hash set of nodes keyed by each node's own name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <new>
#include <string_view>
#include <utility>

#include "core/node.hpp"

namespace driverfs {

// Why not std::unordered_map<std::string, NodePtr>: each entry there is a
// heap node holding a second copy of the name (about 80 bytes a child,
// plus its bucket). Here a child costs one slot, its NodePtr, plus a tag
// byte: about 20 to 40 bytes a child depending on the load.
//
// Open addressing with linear probing over a power-of-two table. A parallel
// byte per slot holds 7 bits of the name's hash with the top bit set (0 is
// an empty slot), so a probe reads a child's name only on a tag match (one
// in 128 otherwise) and the table may fill to 7/8; a table of up to 8 slots
// may fill completely, probes being bounded by the capacity. Erasing shifts
// the rest of its cluster back, so there are no tombstones; the table
// halves when it falls below 1/8 full and is freed when empty.
//
// Not thread-safe: NodeTree::mu_ guards every set.
class ChildSet {
public:
    ChildSet() = default;
    ChildSet(const ChildSet&) = delete;
    ChildSet& operator=(const ChildSet&) = delete;
    ~ChildSet() { release(); }

    size_t size() const { return size_; }
    size_t capacity() const { return capacity_; }

    // The child named `name`, or null.
    const NodePtr* find(std::string_view name) const {
        const size_t at = index_of(name, hash(name));
        return at == kNone ? nullptr : &slots()[at];
    }

    // Adds `node` under its name; false (and no change) if the name is taken.
    bool insert(NodePtr node) {
        const size_t h = hash(node->name);
        if (index_of(node->name, h) != kNone) return false;
        if (size_ + 1 > limit(capacity_)) rehash(capacity_ ? capacity_ * 2 : 1);
        place(std::move(node), h);
        ++size_;
        return true;
    }

    // Removes `node` if it is the child under its name; false otherwise.
    bool erase(const Node& node) {
        const size_t at = index_of(node.name, hash(node.name));
        if (at == kNone || slots()[at].get() != &node) return false;
        // Freed when this returns: the node's destructor (and its subtree's)
        // must not run while the table is half shifted.
        NodePtr dying = std::move(slots()[at]);
        vacate(at);
        --size_;
        shift_back(at);
        if (size_ == 0) release();
        else if (capacity_ > 8 && size_ * 8 < capacity_) rehash(capacity_ / 2);
        return true;
    }

    // Calls f(const NodePtr&) for every child, in no particular order. `f`
    // must not change the set.
    template <class F>
    void for_each(F&& f) const {
        for (size_t i = 0; i < capacity_; ++i)
            if (tags()[i]) f(slots()[i]);
    }

private:
    static constexpr size_t kNone = SIZE_MAX;

    static size_t hash(std::string_view name) { return std::hash<std::string_view>{}(name); }
    // The top bits: the index uses the low ones.
    static uint8_t tag(size_t h) { return static_cast<uint8_t>(0x80 | (h >> (sizeof(size_t) * 8 - 7))); }
    // How many children a table of `cap` slots takes.
    static size_t limit(size_t cap) { return cap <= 8 ? cap : cap - cap / 8; }

    NodePtr* slots() const { return reinterpret_cast<NodePtr*>(mem_); }
    uint8_t* tags() const { return reinterpret_cast<uint8_t*>(mem_ + capacity_ * sizeof(NodePtr)); }
    size_t mask() const { return capacity_ - 1; }

    size_t index_of(std::string_view name, size_t h) const {
        if (size_ == 0) return kNone;
        const uint8_t t = tag(h);
        for (size_t i = h & mask(), n = 0; n < capacity_ && tags()[i]; i = (i + 1) & mask(), ++n)
            if (tags()[i] == t && slots()[i]->name == name) return i;
        return kNone;
    }

    // Into the first free slot from the home of `h`; there is one (limit()).
    void place(NodePtr node, size_t h) {
        size_t i = h & mask();
        while (tags()[i]) i = (i + 1) & mask();
        new (&slots()[i]) NodePtr(std::move(node));
        tags()[i] = tag(h);
    }

    void vacate(size_t i) {
        slots()[i].~NodePtr();
        tags()[i] = 0;
    }

    // Backward-shift deletion: move later members of the cluster into the
    // hole when their home lies at or before it, so that every member stays
    // reachable from its home without crossing an empty slot.
    void shift_back(size_t hole) {
        for (size_t j = (hole + 1) & mask(); tags()[j]; j = (j + 1) & mask()) {
            const size_t home = hash(slots()[j]->name) & mask();
            if (((j - home) & mask()) < ((j - hole) & mask())) continue;
            new (&slots()[hole]) NodePtr(std::move(slots()[j]));
            tags()[hole] = tags()[j];
            vacate(j);
            hole = j;
        }
    }

    void rehash(size_t cap) {
        std::byte* fresh = static_cast<std::byte*>(::operator new(cap * (sizeof(NodePtr) + 1)));
        std::byte* old = mem_;
        const size_t old_cap = capacity_;
        NodePtr* old_slots = slots();
        const uint8_t* old_tags = tags();
        mem_ = fresh;
        capacity_ = static_cast<uint32_t>(cap);
        std::memset(tags(), 0, cap);
        for (size_t i = 0; i < old_cap; ++i) {
            if (!old_tags[i]) continue;
            const size_t h = hash(old_slots[i]->name);
            place(std::move(old_slots[i]), h);
            old_slots[i].~NodePtr();
        }
        ::operator delete(old);
    }

    void release() {
        for (size_t i = 0; i < capacity_; ++i)
            if (tags()[i]) slots()[i].~NodePtr();
        ::operator delete(mem_);
        mem_ = nullptr;
        capacity_ = 0;
        size_ = 0;
    }

    std::byte* mem_ = nullptr;  // capacity_ slots, then capacity_ tags
    uint32_t size_ = 0;
    uint32_t capacity_ = 0;  // 0 or a power of two
};

}  // namespace driverfs
