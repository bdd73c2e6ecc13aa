// Unit test of the udev message and database naming.
// It checks the byte layout libudev's receivers check, the property list,
// and the database file names.
// (The hashes are checked against libudev itself by run_udevadm.sh, whose
// --subsystem-match monitor filters on them in the kernel.)
#include <arpa/inet.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "database.hpp"
#include "message.hpp"

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
    if (!ok) {
        std::fprintf(stderr, "FAIL: %s\n", what.c_str());
        ++failures;
    }
}

uint32_t word_at(const std::string& msg, size_t off) {
    uint32_t w;
    std::memcpy(&w, msg.data() + off, 4);
    return w;
}

}  // namespace

int main() {
    using namespace driverfs;
    using namespace driverfs::udev;

    Uevent ev;
    ev.seqnum = 12;
    ev.action = "add";
    ev.devpath = "devices/platform/led0";
    ev.subsystem = "platform";
    ev.env = {{"trigger", "heartbeat"}, {"DRIVER", "led"}, {"ACTION", "remove"}, {"devtype", "ledtype"}};
    Properties p = udev_properties(ev);
    check(p.size() == 7, "seven properties, got " + std::to_string(p.size()));
    check(p[0] == Properties::value_type{"ACTION", "add"}, "ACTION first, and a property cannot forge it");
    check(p[1] == Properties::value_type{"DEVPATH", "/devices/platform/led0"}, "DEVPATH absolute");
    check(p[2] == Properties::value_type{"SUBSYSTEM", "platform"}, "SUBSYSTEM");
    check(p[3] == Properties::value_type{"DEVTYPE", "ledtype"}, "DEVTYPE after SUBSYSTEM");
    check(p[4] == Properties::value_type{"DRIVER", "led"}, "DRIVER");
    check(p[5] == Properties::value_type{"TRIGGER", "heartbeat"}, "property keys upper-cased");
    check(p[6] == Properties::value_type{"SEQNUM", "12"}, "SEQNUM last");

    std::string msg = encode_monitor_message(p);
    static const char kBody[] = "ACTION=add\0DEVPATH=/devices/platform/led0\0SUBSYSTEM=platform\0"
                                "DEVTYPE=ledtype\0DRIVER=led\0TRIGGER=heartbeat\0SEQNUM=12\0";
    const std::string body(kBody, sizeof kBody - 1);
    check(msg.size() == 40 + body.size(), "header of 40 bytes, then the properties");
    check(std::memcmp(msg.data(), "libudev\0", 8) == 0, "\"libudev\" prefix, NUL-terminated");
    check(static_cast<unsigned char>(msg[8]) == 0xfe && static_cast<unsigned char>(msg[9]) == 0xed &&
              static_cast<unsigned char>(msg[10]) == 0xca && static_cast<unsigned char>(msg[11]) == 0xfe,
          "magic 0xfeedcafe big endian");
    check(word_at(msg, 12) == 40, "header_size in host order");
    check(word_at(msg, 16) == 40, "properties_off in host order");
    check(word_at(msg, 20) == body.size(), "properties_len");
    check(ntohl(word_at(msg, 24)) == murmur_hash2("platform"), "subsystem hash big endian");
    check(ntohl(word_at(msg, 28)) == murmur_hash2("ledtype"), "devtype hash big endian");
    check(word_at(msg, 32) == 0 && word_at(msg, 36) == 0, "empty tag bloom");
    check(msg.compare(40, std::string::npos, body) == 0, "NUL-separated KEY=VALUE body");

    // MurmurHash2's defining steps: the empty string hashes to the mixed
    // seed; a different tail length changes the hash.
    check(murmur_hash2("") == 0, "MurmurHash2 of \"\" with seed 0 is 0");
    check(murmur_hash2("abc") != murmur_hash2("abcd"), "tail bytes count");

    Uevent node;
    node.action = "add";
    node.devpath = "devices/virtual/tty/tty";
    node.subsystem = "tty";
    node.env = {{"MAJOR", "5"}, {"MINOR", "0"}, {"DEVNAME", "tty"}};
    auto devname = [](const Properties& props) {
        for (const auto& [k, v] : props)
            if (k == "DEVNAME") return v;
        return std::string("(none)");
    };
    check(devname(udev_properties(node)) == "/dev/tty", "DEVNAME below /dev in the uevent file is /dev/NAME for udev");
    node.env = {{"DEVNAME", "/dev/input/event3"}};
    check(devname(udev_properties(node)) == "/dev/input/event3", "a DEVNAME that is already a path stays as it is");

    Uevent mod;
    mod.seqnum = 3;
    mod.action = "load";
    mod.devpath = "module/led";
    mod.subsystem = "module";
    Properties m = udev_properties(mod);
    check(!m.empty() && m[0].second == "add" && m[1].second == "/module/led", "a module load is Linux's module add");
    mod.action = "unload";
    check(udev_properties(mod)[0].second == "remove", "a module unload is Linux's module remove");

    check(Database::entry_name(p) == "+platform:led0", "database name without a device number");
    Properties chr = {{"DEVPATH", "/devices/virtual/tty/tty9"}, {"SUBSYSTEM", "tty"}, {"MAJOR", "4"}, {"MINOR", "9"}};
    check(Database::entry_name(chr) == "c4:9", "character device: cMAJ:MIN");
    Properties blk = {{"DEVPATH", "/devices/virtual/block/ram0"}, {"SUBSYSTEM", "block"}, {"MAJOR", "1"}, {"MINOR", "0"}};
    check(Database::entry_name(blk) == "b1:0", "block device: bMAJ:MIN");

    if (failures == 0) std::printf("message_test: all checks passed\n");
    return failures == 0 ? 0 : 1;
}
