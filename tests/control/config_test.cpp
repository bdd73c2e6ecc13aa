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
              "$.buses.platform.devices[1].name: must be a device name (1-64 of A-Z a-z 0-9 _ . : -)");
    EXPECT_EQ(config_error(R"({"buses": {"platform": {"devices": [{"name": "a", "properties": {"k": [1]}}]}}})"),
              "$.buses.platform.devices[0].properties.k: must be a string or an integer");
    EXPECT_EQ(config_error(R"({"buses": {"platform": {"devices": [{"name": "a"}, {"name": "a"}]}}})"),
              "$.buses.platform.devices[1].name: device 'a' is described twice");
    EXPECT_EQ(config_error(R"({"buses": {"platform": {"devices": [{"name": "c", "parent": "p"}, {"name": "p"}]}}})"),
              "$.buses.platform.devices[0].parent: parent 'p' is described after its child");
    EXPECT_EQ(config_error(R"({"buses": {"platform": {"devices": [{"parent": "p"}]}}})"),
              "$.buses.platform.devices[0].name: missing");
}

// The file is checked with the rules the core applies, so what the core
// would refuse half way through an apply (with a rollback) is refused here,
// before anything changes, naming the entry.
TEST(Config, RefusesUpFrontWhatTheCoreWouldRefuse) {
    EXPECT_EQ(config_error(R"({"buses": {"platform": {"devices": [{"name": "a!b"}]}}})"),
              "$.buses.platform.devices[0].name: must be a device name (1-64 of A-Z a-z 0-9 _ . : -)");
    EXPECT_EQ(config_error(R"({"buses": {"pl@tform": {"devices": []}}})"),
              "$.buses.pl@tform: 'pl@tform' is not a bus name (1-64 of A-Z a-z 0-9 _ . : -)");
    EXPECT_EQ(config_error(R"({"plugins": ["le d"]})"),
              "$.plugins[0]: 'le d' is not a plugin name (letters, digits, _ . -)");
    EXPECT_EQ(config_error(R"({"buses": {"platform": {"devices": [{"name": "a", "properties": {"k": "x\ty"}}]}}})"),
              "$.buses.platform.devices[0].properties.k: the value of property k holds a control character");
}

}  // namespace
