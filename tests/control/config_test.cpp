// Device description files: what the validator accepts and how it names a refusal.
#include <gtest/gtest.h>

#include <string>

#include "control/config.hpp"

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
    EXPECT_EQ(config_error(R"({"plugin": []})"), "$.plugin: unknown key (expected \"plugins\", \"buses\" or \"devices\")");
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

// ---- "devices": declarative devices ----

std::string devices_error(const std::string& devices) {
    std::string text = "{\"devices\": " + devices + "}";
    auto r = driverfs::control::parse_config(json::parse(text));
    EXPECT_FALSE(r.ok()) << text;
    return r.ok() ? "" : r.error().message;
}

TEST(ConfigDevices, TheSchemaExampleParsesWithEveryField) {
    auto r = driverfs::control::parse_config(json::parse(R"({"devices": [
        {"path": "devices/pnp0/00:00", "bus": "pnp", "driver": "serial",
         "attributes": {"id": "PNP0501\n", "options": {"value": "", "mode": "0444"}}},
        {"path": "devices/pnp0/00:00/tty/ttyS0", "class": "tty",
         "devnum": {"type": "char", "major": 4, "minor": 64}, "devnode": "ttyS0",
         "properties": {"DEVNAME": "ttyS0", "N": 5}, "udev": {"ID_PATH": "pnp-00:00"},
         "devlinks": ["/dev/serial/by-path/pnp-00:00"],
         "attributes": {"type": "4\n", "power/control": "auto\n",
                        "close_delay": {"value": "50\n", "mode": "0644"},
                        "descriptors": {"base64": "EgEAAg==", "mode": "0444"}},
         "links": {"device": "../../../00:00"}}]})"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    const auto& d = r.value().declared;
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].bus, "pnp");
    EXPECT_EQ(d[0].driver, "serial");
    EXPECT_EQ(d[0].name(), "00:00");
    EXPECT_EQ(d[1].cls, "tty");
    ASSERT_TRUE(d[1].devnum.has_value());
    EXPECT_EQ(d[1].devnum->major, 4u);
    EXPECT_EQ(d[1].devnum->minor, 64u);
    EXPECT_FALSE(d[1].devnum->block);
    EXPECT_EQ(d[1].devnode, "ttyS0");
    EXPECT_EQ(d[1].devlinks, std::vector<std::string>{"/dev/serial/by-path/pnp-00:00"});
    bool seen_bin = false, seen_rw = false;
    for (const auto& a : d[1].attributes) {
        if (a.path == "descriptors") {
            seen_bin = true;
            EXPECT_TRUE(a.binary);
            EXPECT_EQ(a.value, std::string("\x12\x01\x00\x02", 4));
        }
        if (a.path == "close_delay") {
            seen_rw = true;
            EXPECT_EQ(a.mode, 0644u);
            EXPECT_EQ(a.value, "50\n");
        }
        if (a.path == "type") {
            EXPECT_EQ(a.mode, 0444u);
        }
    }
    EXPECT_TRUE(seen_bin);
    EXPECT_TRUE(seen_rw);
    EXPECT_EQ(r.value().declared_where[1], "$.devices[1]");
    bool n_is_text = false;
    for (const auto& [k, v] : d[1].properties)
        if (k == "N") n_is_text = v == "5";
    EXPECT_TRUE(n_is_text);
}

// Linux writes a net device's uevent as INTERFACE then IFINDEX, and udevadm
// prints the lines in the file's order: a description read from text keeps
// the order it was written in, for properties and udev lines alike.
TEST(ConfigDevices, PropertiesKeepTheOrderOfTheText) {
    auto r = driverfs::control::parse_config_text(R"({"devices": [
        {"path": "devices/virtual/net/lo", "class": "net",
         "properties": {"INTERFACE": "lo", "IFINDEX": "1", "B": "2", "A": "3"},
         "udev": {"ID_Z": "1", "ID_A": "2"}}]})",
                                                  "order.json");
    ASSERT_TRUE(r.ok()) << r.error().message;
    using Lines = std::vector<std::pair<std::string, std::string>>;
    const auto& d = r.value().declared.at(0);
    EXPECT_EQ(d.properties, (Lines{{"INTERFACE", "lo"}, {"IFINDEX", "1"}, {"B", "2"}, {"A", "3"}}));
    EXPECT_EQ(d.udev, (Lines{{"ID_Z", "1"}, {"ID_A", "2"}}));
}

TEST(ConfigDevices, SpacesInValuesSlashesInNodesAndDanglingLinksAreFine) {
    auto r = driverfs::control::parse_config(json::parse(R"({"devices": [
        {"path": "devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/0003:046D:C077.0001/input/input3/event3",
         "class": "input", "devnode": "input/event3", "devnum": {"type": "char", "major": 13, "minor": 67},
         "properties": {"HID_NAME": "Logitech USB Mouse"},
         "links": {"firmware_node": "../../../../../../../../../LNXSYSTM:00/nowhere"}}]})"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r.value().declared[0].properties[0].second, "Logitech USB Mouse");
    EXPECT_EQ(r.value().declared[0].devnode, "input/event3");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a", "devnode": "../x"}])"), "$.devices[0].devnode: '..' is not allowed as a name");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a", "devnode": "/dev/x"}])"),
              "$.devices[0].devnode: the node name is relative to /dev (\"ttyS0\", \"bus/usb/001/002\")");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a", "devnum": {"type": "char", "major": 4096, "minor": 0}}])"),
              "$.devices[0].devnum.major: must be an integer 0..4095");
}

TEST(ConfigDevices, EveryRefusalNamesTheKey) {
    const std::string page(4097, 'x');
    EXPECT_EQ(devices_error(R"({})"), "$.devices: must be an array of device objects");
    EXPECT_EQ(devices_error(R"([{}])"), "$.devices[0].path: missing");
    EXPECT_EQ(devices_error(R"([{"path": "bus/pci/x"}])"),
              "$.devices[0].path: 'bus/pci/x' is not below devices/ (write devices/NAME/...)");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a/../b"}])"), "$.devices[0].path: '..' is not allowed as a name");
    EXPECT_EQ(devices_error(R"([{"path": "devices//b"}])"),
              "$.devices[0].path: an empty path component (two slashes, or a slash at an end)");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a\u0001b"}])"), "$.devices[0].path: 'a\\x01b' holds a NUL or control character");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a", "attributes": {"x": ")" + page + R"("}}])"),
              "$.devices[0].attributes.x: a text value is at most 4096 bytes (one page); this one is 4097: make it binary");
    // 65537 bytes of zeros in base64.
    std::string b64;
    for (int i = 0; i < 65537 / 3; ++i) b64 += "AAAA";
    b64 += "AAA=";  // 2 more bytes: 65535 + 2 = 65537
    EXPECT_EQ(devices_error(R"([{"path": "devices/a", "attributes": {"b": {"base64": ")" + b64 + R"("}}}])"),
              "$.devices[0].attributes.b: a binary value is at most 65536 bytes; this one is 65537");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a", "attributes": {"b": {"base64": "A*=="}}}])"),
              "$.devices[0].attributes.b.base64: is not valid base64");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a", "links": {"l": "/devices/b"}}])"),
              "$.devices[0].links.l: the target '/devices/b' must be relative to the link");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a", "links": {"l": "../../../etc"}}])"),
              "$.devices[0].links.l: the target '../../../etc' leaves the tree");
    // Climbing to the root and down again stays inside.
    EXPECT_TRUE(driverfs::control::parse_config(
                    json::parse(R"({"devices": [{"path": "devices/a", "links": {"l": "../../class"}}]})"))
                    .ok());
    EXPECT_EQ(devices_error(R"([{"path": "devices/a", "attributes": {"x": {"value": "1", "mode": "0755"}}}])"),
              "$.devices[0].attributes.x.mode: only the bits 0666 are allowed (no execute, no special bits)");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a", "attributes": {"x": {"value": "1", "mode": "rw"}}}])"),
              "$.devices[0].attributes.x.mode: must be an octal string such as \"0644\"");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a", "bus": "pci", "class": "tty"}])"),
              "$.devices[0].class: a device has a bus or a class, not both");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a", "driver": "serial"}])"),
              "$.devices[0].driver: a driver needs a \"bus\" (class devices are never bound)");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a", "colour": "red"}])"),
              "$.devices[0].colour: unknown key (expected path, bus, class, driver, attributes, links, properties, "
              "udev, devnum, devnode, devlinks)");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a/b"}, {"path": "devices/a"}])"),
              "$.devices[1].path: 'devices/a' is an ancestor of $.devices[0] and must come before it");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a"}, {"path": "devices/a"}])"),
              "$.devices[1].path: 'devices/a' is described twice (first at $.devices[0])");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a", "attributes": {"uevent": "x"}}])"),
              "$.devices[0].attributes.uevent: 'uevent' is made by the core and cannot be an attribute");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a", "attributes": {"a/b": "x", "a": "y"}}])"),
              "$.devices[0].attributes.a/b: is below 'a', which is a file, not a directory");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a", "links": {"subsystem": "../../bus/pci"}}])"),
              "$.devices[0].links.subsystem: 'subsystem' comes from \"bus\"/\"class\"/\"driver\", not from links");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a", "properties": {"A-B": "x"}}])"),
              "$.devices[0].properties.A-B: a key is 1 or more of A-Z a-z 0-9 _");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a", "properties": {"A": "x\ny"}}])"),
              "$.devices[0].properties.A: the value of property A holds a control character");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a", "devnum": {"type": "pipe", "major": 1, "minor": 3}}])"),
              "$.devices[0].devnum.type: must be \"char\" or \"block\"");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a", "devnum": {"type": "char", "major": 1}}])"),
              "$.devices[0].devnum.minor: missing");
    EXPECT_EQ(devices_error(R"([{"path": "devices/a", "devlinks": ["dev/x"]}])"),
              "$.devices[0].devlinks[0]: a devlink is an absolute path below /dev/");
}

}  // namespace

