// The control protocol alone: request parsing, reply lines, socket paths.
#include <gtest/gtest.h>

#include <string>

#include "control/protocol.hpp"

namespace {

namespace proto = driverfs::protocol;
using proto::json;

proto::Failure failure_of(std::string_view line) {
    auto r = proto::parse_request(line);
    EXPECT_TRUE(std::holds_alternative<proto::Failure>(r)) << line;
    if (auto* f = std::get_if<proto::Failure>(&r)) return *f;
    return {nullptr, 0, ""};
}

TEST(ProtocolParse, ValidRequestKeepsIdCmdAndBody) {
    auto r = proto::parse_request(R"({"id":7,"cmd":"load","plugin":"led"})");
    ASSERT_TRUE(std::holds_alternative<proto::Request>(r));
    const auto& req = std::get<proto::Request>(r);
    EXPECT_EQ(req.id, json(7));
    EXPECT_EQ(req.cmd, "load");
    EXPECT_EQ(req.body.at("plugin"), "led");
    auto s = proto::parse_request(R"({"id":"abc","cmd":"ping"})");
    ASSERT_TRUE(std::holds_alternative<proto::Request>(s));
    EXPECT_EQ(std::get<proto::Request>(s).id, json("abc"));
}

TEST(ProtocolParse, MalformedJsonIsEinvalWithNullId) {
    auto f = failure_of(R"({"id":1,"cmd":)");
    EXPECT_EQ(f.code, EINVAL);
    EXPECT_TRUE(f.id.is_null());
    EXPECT_EQ(f.message, "malformed JSON");
}

TEST(ProtocolParse, NonObjectsAndBadFieldsAreRefused) {
    EXPECT_EQ(failure_of("[1,2]").message, "a request must be a JSON object");
    EXPECT_EQ(failure_of("42").code, EINVAL);
    auto missing = failure_of(R"({"id":3})");
    EXPECT_EQ(missing.code, EINVAL);
    EXPECT_EQ(missing.id, json(3));
    EXPECT_EQ(missing.message, "missing \"cmd\"");
    EXPECT_EQ(failure_of(R"({"id":3,"cmd":5})").message, "\"cmd\" must be a string");
    EXPECT_EQ(failure_of(R"({"id":{"a":1},"cmd":"ping"})").message, "\"id\" must be a number, string or null");
}

TEST(ProtocolParse, UnknownCommandIsEnosysAndEchoesId) {
    auto f = failure_of(R"({"id":9,"cmd":"frobnicate"})");
    EXPECT_EQ(f.code, ENOSYS);
    EXPECT_EQ(f.id, json(9));
    EXPECT_EQ(f.message, "unknown command 'frobnicate'");
}

TEST(ProtocolParse, OverlongLineIsEmsgsize) {
    std::string line = R"({"id":1,"cmd":"ping","pad":")" + std::string(proto::kMaxLine, 'x') + "\"}";
    EXPECT_EQ(failure_of(line).code, EMSGSIZE);
}

TEST(ProtocolReply, LinesHaveTheDocumentedShape) {
    EXPECT_EQ(proto::result_line(4, json{{"module", "led"}}), R"({"id":4,"result":{"module":"led"}})");
    json e = json::parse(proto::error_line("x", ENOENT, "no such plugin"));
    EXPECT_EQ(e["id"], "x");
    EXPECT_EQ(e["error"]["errno"], ENOENT);
    EXPECT_EQ(e["error"]["name"], "ENOENT");
    EXPECT_EQ(e["error"]["message"], "no such plugin");
    EXPECT_EQ(proto::event_line(1, json{{"seqnum", 2}}), R"({"event":{"seqnum":2},"id":1})");
}

TEST(ProtocolPaths, MountIdEscapesLikeSystemdEscapePath) {
    EXPECT_EQ(proto::mount_id("/mnt/driverfs"), "mnt-driverfs");
    EXPECT_EQ(proto::mount_id("/"), "-");
    EXPECT_EQ(proto::mount_id("/mnt/a b/"), "mnt-a\\x20b");
    EXPECT_EQ(proto::mount_id("/a-b/.c"), "a\\x2db-.c");
    EXPECT_EQ(proto::mount_id("/.hidden"), "\\x2ehidden");
}

TEST(ProtocolPaths, DefaultSocketPathDependsOnUser) {
    EXPECT_EQ(proto::default_socket_path("/mnt/x", 0, "/run/user/0"), "/run/driverfs/mnt-x.sock");
    EXPECT_EQ(proto::default_socket_path("/mnt/x", 1000, "/run/user/1000"), "/run/user/1000/driverfs/mnt-x.sock");
    EXPECT_EQ(proto::default_socket_path("/mnt/x", 1000, nullptr), "/tmp/driverfs-1000/mnt-x.sock");
}

// ---- config ------------------------------------------------------------------

}  // namespace
