// Core attributes: files whose show/store are daemon code (control/, module/, bus files).
// Private to the core.
#pragma once

#include <functional>
#include <vector>
#include <string>
#include <string_view>

#include "core/node.hpp"

namespace driverfs {

class CoreAttr : public AttrOps {
public:
    using ShowFn = std::function<Result<std::string>()>;
    using StoreFn = std::function<Status(std::string_view)>;

    CoreAttr(ShowFn show, StoreFn store) : show_(std::move(show)), store_(std::move(store)) {}

    Result<size_t> show(char* page) override;
    Result<size_t> store(std::string_view data) override;

private:
    ShowFn show_;
    StoreFn store_;
};

// The text a sysfs store() usually wants: without one trailing newline.
std::string_view chomp(std::string_view s);

// Helpers for parsing what is written to core attributes.
std::vector<std::string> split_words(std::string_view s);

// Store callbacks return only an errno to the writer; keep the message for
// the person reading the log.
Status logged(Status s, std::string_view what);

}  // namespace driverfs
