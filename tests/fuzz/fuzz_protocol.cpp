// Fuzz target: the control-protocol request parser (src/control/protocol.cpp),
// fed one request line. Properties, beyond not crashing:
//  - a refusal has a documented errno (EINVAL, EMSGSIZE, ENOSYS), a message,
//    and an id that is null or a scalar; its error line is JSON that echoes
//    the id and the errno;
//  - an accepted request names a known command, its body is the object it
//    came from, and its reply line echoes the id; re-parsing the body as
//    printed gives the same request (parse -> print -> parse is stable);
//  - the typed field getters either return a value with no error, or no value
//    with an error when the field is there with the wrong type.
#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "check.hpp"
#include "control/commands.hpp"
#include "control/protocol.hpp"

namespace proto = driverfs::protocol;
using proto::json;

namespace {

// A command the daemon answers: in the table and not run by driverfsctl itself.
bool known(const std::string& cmd) {
    const proto::Command* c = proto::find_command(cmd);
    return c && !c->local;
}

void check_getters(const json& body) {
    for (const char* key : {"plugin", "module", "bus", "name", "timeout", "id"}) {
        std::string err;
        const bool present = body.contains(key) && !body.at(key).is_null();
        auto s = proto::get_string(body, key, true, err);
        FUZZ_CHECK(s.has_value() == err.empty(), "get_string: a value xor an error");
        FUZZ_CHECK(s.has_value() == (present && body.at(key).is_string()), "get_string: value iff a string is there");
        err.clear();
        auto n = proto::get_number(body, key, false, err);
        FUZZ_CHECK(!(n.has_value() && !err.empty()), "get_number: a value and an error");
        FUZZ_CHECK(err.empty() == (!present || body.at(key).is_number()), "get_number: error iff wrong type");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view line(reinterpret_cast<const char*>(data), size);
    auto parsed = proto::parse_request(line);
    if (auto* f = std::get_if<proto::Failure>(&parsed)) {
        FUZZ_CHECK(f->code == EINVAL || f->code == EMSGSIZE || f->code == ENOSYS, "refusal errno is documented");
        FUZZ_CHECK(!f->message.empty(), "refusal has a message");
        FUZZ_CHECK(f->id.is_null() || f->id.is_primitive(), "refusal id is null or a scalar");
        FUZZ_CHECK(size <= proto::kMaxLine || f->code == EMSGSIZE, "an overlong line is EMSGSIZE");
        const json reply = json::parse(proto::error_line(f->id, f->code, f->message), nullptr, false);
        FUZZ_CHECK(!reply.is_discarded(), "error line is JSON");
        FUZZ_CHECK(reply.at("id") == f->id, "error line echoes the id");
        FUZZ_CHECK(reply.at("error").at("errno") == f->code, "error line carries the errno");
        return 0;
    }
    const auto& req = std::get<proto::Request>(parsed);
    FUZZ_CHECK(size <= proto::kMaxLine, "no request over kMaxLine is accepted");
    FUZZ_CHECK(known(req.cmd), "accepted command is known");
    FUZZ_CHECK(req.body.is_object(), "body is an object");
    FUZZ_CHECK(req.body.at("cmd") == req.cmd, "body holds the command");
    FUZZ_CHECK(req.id.is_primitive(), "id is a scalar or null");
    check_getters(req.body);

    const json reply = json::parse(proto::result_line(req.id, req.body), nullptr, false);
    FUZZ_CHECK(!reply.is_discarded(), "result line is JSON");
    FUZZ_CHECK(reply.at("id") == req.id, "result line echoes the id");

    // A body printed and parsed again is the same request.
    const std::string again = req.body.dump();
    auto reparsed = proto::parse_request(again);
    if (again.size() <= proto::kMaxLine) {
        const auto* r2 = std::get_if<proto::Request>(&reparsed);
        FUZZ_CHECK(r2 != nullptr, "a printed request parses again");
        FUZZ_CHECK(r2->cmd == req.cmd && r2->id == req.id && r2->body == req.body, "print/parse round trip");
    }
    return 0;
}
