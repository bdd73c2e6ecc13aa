// Device description files: what the validator accepts and how it names a refusal.
#include <gtest/gtest.h>

#include <string>

#include "config.hpp"

namespace {

using nlohmann::json;

std::string config_error(const char* text) {
    auto r = driverfs::control::parse_config(json::parse(text));
    EXPECT_FALSE(r.ok()) << text;
    return r.ok() ? "" : r.error().message;
}

TEST(Config, ValidDescriptionKeepsOrderParentsAndProperties) {
    auto r = driverfs::control::parse_config(json::parse(R"({
        "plugins": ["led"],
        "buses": {"platform": {"devices": [
            {"name": "led0", "properties": {"max_brightness": 100, "color": "red"}},
            {"name": "led1", "parent": "led0"}]}}})"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r.value().plugins, std::vector<std::string>{"led"});
    ASSERT_EQ(r.value().devices.size(), 2u);
    EXPECT_EQ(r.value().devices[0].properties.at("max_brightness"), "100");
    EXPECT_EQ(r.value().devices[0].properties.at("color"), "red");
    EXPECT_EQ(r.value().devices[1].parent, "led0");
    EXPECT_EQ(r.value().devices[1].bus, "platform");
}

TEST(Config, ErrorsNameTheJsonPathOfTheFirstProblem) {
    EXPECT_EQ(config_error("[]"), "$: the description must be a JSON object");
    EXPECT_EQ(config_error(R"({"plugin": []})"), "$.plugin: unknown key (expected \"plugins\" or \"buses\")");
    EXPECT_EQ(config_error(R"({"plugins": ["led", 3]})"), "$.plugins[1]: must be a non-empty string");
    EXPECT_EQ(config_error(R"({"buses": {"platform": {"devices": [{"name": "a"}, {"name": "b/c"}]}}})"),
              "$.buses.platform.devices[1].name: must be a device name (no '/', spaces or control characters)");
    EXPECT_EQ(config_error(R"({"buses": {"platform": {"devices": [{"name": "a", "properties": {"k": [1]}}]}}})"),
              "$.buses.platform.devices[0].properties.k: must be a string or an integer");
    EXPECT_EQ(config_error(R"({"buses": {"platform": {"devices": [{"name": "a"}, {"name": "a"}]}}})"),
              "$.buses.platform.devices[1].name: device 'a' is described twice");
    EXPECT_EQ(config_error(R"({"buses": {"platform": {"devices": [{"name": "c", "parent": "p"}, {"name": "p"}]}}})"),
              "$.buses.platform.devices[0].parent: parent 'p' is described after its child");
    EXPECT_EQ(config_error(R"({"buses": {"platform": {"devices": [{"parent": "p"}]}}})"),
              "$.buses.platform.devices[0].name: missing");
}

}  // namespace
