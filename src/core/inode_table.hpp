// Nodes by inode number: O(1) without hashing, for numbers handed out in
// increasing order and never reused.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

namespace driverfs {

class Node;

// A two-level array: chunk ino / kChunk, slot ino % kChunk. A chunk is
// allocated when its first number is stored and freed when its last entry
// is erased, so a daemon that creates and removes nodes forever (devices
// coming and going) keeps only the chunks that still hold live nodes, plus
// one pointer per kChunk numbers ever handed out.
//
// Growing a hash table of a million nodes rehashes every entry about twenty
// times; this never moves an entry. Not thread-safe: NodeTree::mu_ guards it.
class InodeTable {
public:
    static constexpr uint64_t kChunk = 1024;

    const std::shared_ptr<Node>* find(uint64_t ino) const {
        const uint64_t c = ino / kChunk;
        if (c >= chunks_.size() || !chunks_[c]) return nullptr;
        const std::shared_ptr<Node>& slot = chunks_[c]->slots[ino % kChunk];
        return slot ? &slot : nullptr;
    }

    // Store `node` under `ino`, which must be free.
    void insert(uint64_t ino, std::shared_ptr<Node> node) {
        const uint64_t c = ino / kChunk;
        if (c >= chunks_.size()) chunks_.resize(c + 1);
        if (!chunks_[c]) chunks_[c] = std::make_unique<Chunk>();
        chunks_[c]->slots[ino % kChunk] = std::move(node);
        ++chunks_[c]->used;
        ++size_;
    }

    void erase(uint64_t ino) {
        const uint64_t c = ino / kChunk;
        if (c >= chunks_.size() || !chunks_[c]) return;
        std::shared_ptr<Node>& slot = chunks_[c]->slots[ino % kChunk];
        if (!slot) return;
        slot.reset();
        --size_;
        if (--chunks_[c]->used == 0) chunks_[c].reset();
    }

    size_t size() const { return size_; }

private:
    struct Chunk {
        std::array<std::shared_ptr<Node>, kChunk> slots;
        uint32_t used = 0;
    };
    std::vector<std::unique_ptr<Chunk>> chunks_;
    size_t size_ = 0;
};

}  // namespace driverfs
