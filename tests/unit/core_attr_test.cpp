// CoreAttr: callables kept in the object or on the heap, absent ones refused.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>

#include "core/core_attr.hpp"

using driverfs::AttrOps;
using driverfs::CoreAttr;
using driverfs::Error;
using driverfs::Result;
using driverfs::Status;

namespace {

std::string shown(AttrOps& a) {
    std::array<char, AttrOps::kPageSize> page{};
    Result<size_t> n = a.show(page.data());
    return n ? std::string(page.data(), n.value()) : "error " + std::to_string(n.error().code);
}

}  // namespace

TEST(CoreAttr, ShowAndStoreWithSmallCaptures) {
    auto owner = std::make_shared<std::string>("v");
    std::weak_ptr<std::string> weak = owner;
    std::string* self = owner.get();
    // A pointer and a weak_ptr, as every device's files capture.
    auto attr = std::make_unique<CoreAttr>(
        [self, weak]() -> Result<std::string> {
            if (!weak.lock()) return Error::of(ENODEV, "gone");
            return *self + "\n";
        },
        [self, weak](std::string_view data) -> Status {
            if (!weak.lock()) return Error::of(ENODEV, "gone");
            *self = std::string(data);
            return {};
        });
    EXPECT_EQ(shown(*attr), "v\n");
    Result<size_t> n = attr->store("abc");
    ASSERT_TRUE(n);
    EXPECT_EQ(n.value(), 3u) << "the writer sees the whole count";
    EXPECT_EQ(shown(*attr), "abc\n");
    owner.reset();
    EXPECT_EQ(shown(*attr), "error " + std::to_string(ENODEV));
    EXPECT_EQ(attr->store("x").error().code, ENODEV);
}

TEST(CoreAttr, LargeCapturesAndAbsentCallables) {
    // Too big for the object: kept on the heap, same behaviour.
    std::string a(100, 'a'), b(100, 'b'), c(100, 'c');
    auto big = std::make_unique<CoreAttr>([a, b, c]() -> Result<std::string> { return a.substr(0, 2) + c.substr(0, 1); },
                                          nullptr);
    EXPECT_EQ(shown(*big), "aac");
    EXPECT_EQ(big->store("x").error().code, EACCES) << "read-only";

    auto write_only = std::make_unique<CoreAttr>(nullptr, [](std::string_view) -> Status { return {}; });
    EXPECT_EQ(shown(*write_only), "error " + std::to_string(EACCES));
    EXPECT_TRUE(write_only->store("x"));

    // Empty std::functions count as absent, as before.
    auto empty = std::make_unique<CoreAttr>(CoreAttr::ShowFn{}, CoreAttr::StoreFn{});
    EXPECT_EQ(shown(*empty), "error " + std::to_string(EACCES));
    EXPECT_EQ(empty->store("x").error().code, EACCES);
    auto full = std::make_unique<CoreAttr>(CoreAttr::ShowFn([]() -> Result<std::string> { return std::string("f"); }),
                                           CoreAttr::StoreFn([](std::string_view) -> Status {
                                               return Error::of(EINVAL, "no");
                                           }));
    EXPECT_EQ(shown(*full), "f");
    EXPECT_EQ(full->store("x").error().code, EINVAL);

    // A show longer than a page is cut to one.
    auto huge = std::make_unique<CoreAttr>(
        []() -> Result<std::string> { return std::string(AttrOps::kPageSize + 10, 'z'); }, nullptr);
    EXPECT_EQ(shown(*huge).size(), AttrOps::kPageSize);
}
