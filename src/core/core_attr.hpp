// Core attributes: files whose show/store are daemon code (control/, module/,
// bus files). Private to the core.
#pragma once

#include <functional>
#include <map>
#include <vector>
#include <string>
#include <string_view>

#include "driverfs/node.hpp"

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
// words[first..] as KEY=VALUE pairs; EINVAL naming the first bad one.
Result<std::map<std::string, std::string>> parse_properties(const std::vector<std::string>& words, size_t first);
// Names of devices, drivers, buses: 1-64 of [A-Za-z0-9_.:-], not . or ..
bool valid_object_name(std::string_view s);
// A device property as the uevent file shows it, one KEY=VALUE per line:
// EINVAL for an empty key, a key with '=' or white space, or a control
// character (NUL, newline, ...) in either, which would forge other lines.
Status check_property(std::string_view key, std::string_view value);

// Store callbacks return only an errno to the writer; keep the message for
// the person reading the log.
Status logged(Status s, std::string_view what);

}  // namespace driverfs
