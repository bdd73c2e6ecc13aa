// The shared file operations: one implementation of open/read/write/release
// serves every attribute file, whoever owns it.
#pragma once

#include <memory>
#include <atomic>
#include <mutex>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "core/error.hpp"
#include "core/node.hpp"

namespace driverfs {

// The current value of a text attribute: its show() into `page` (capacity
// AttrOps::kPageSize), under a pin of `node`; ENODEV once it was removed.
// The one place a front end gets a value from: OpenFile::read, and the size
// a front end reports for a cacheable attribute. Runs the owner's code (a
// plugin's, through the plugin gate), so it may block as long as show() does.
Result<size_t> current_value(Node& node, char* page);

// An open attribute. Owns its node, so the handle stays valid after the node
// is removed or its plugin unloaded: calls then fail with ENODEV, and
// releasing it (the destructor) runs only daemon code.
class OpenFile {
public:
    // EACCES when the access mode asks for a direction the attribute lacks
    // (even for root, as kernfs), ENODEV when its owner is going or gone.
    static Result<std::unique_ptr<OpenFile>> open(NodePtr node, int flags);

    // A read at offset 0 (or the first read) calls show and keeps the page;
    // later offsets are served from that snapshot.
    Result<size_t> read(char* out, size_t size, off_t offset);
    // store receives the whole buffer, cut to one page as sysfs does; the
    // offset is ignored, as in sysfs. Binary attributes get the exact offset
    // and size instead (read_at/write_at).
    Result<size_t> write(std::string_view data, off_t offset);

    const NodePtr& node() const { return node_; }
    // Did the attribute change (or go away) since this file last read it?
    bool changed_since_read() const {
        return node_->events.load(std::memory_order_acquire) != seen_events_.load(std::memory_order_relaxed);
    }

private:
    explicit OpenFile(NodePtr node)
        : node_(std::move(node)), seen_events_(node_->events.load(std::memory_order_acquire)) {}

    const NodePtr node_;
    std::mutex mu_;  // serializes reads of one handle (the snapshot)
    std::string snapshot_;
    bool have_snapshot_ = false;
    std::atomic<uint64_t> seen_events_;  // node_->events when last read
};

}  // namespace driverfs
