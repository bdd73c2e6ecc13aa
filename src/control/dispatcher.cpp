// The dispatcher: check one control request against its row of the command table, run its handler, reply.
#include "dispatcher.hpp"

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <exception>

#include "control/commands.hpp"
#include "handlers.hpp"

namespace driverfs::control {

using nlohmann::json;
namespace proto = driverfs::protocol;

namespace {

Error einval(std::string msg) { return Error::of(EINVAL, std::move(msg)); }

}  // namespace

json event_to_json(const Uevent& ev) {
    return json{{"seqnum", ev.seqnum}, {"action", ev.action}, {"devpath", ev.devpath},
                {"subsystem", ev.subsystem}, {"env", ev.env}};
}

json log_record_to_json(const LogRecord& rec) {
    using namespace std::chrono;
    const auto us = duration_cast<microseconds>(rec.time.time_since_epoch()).count();
    const time_t secs = static_cast<time_t>(us / 1000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[64];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(us % 1000000));
    return json{{"seq", rec.seq}, {"time", stamp}, {"level", log_level_name(rec.level)}, {"message", rec.message}};
}

uint64_t log_after(const json& body) {
    auto it = body.find("after");
    return it == body.end() || it->is_null() ? 0 : it->get<uint64_t>();
}

std::string Dispatcher::handle_line(std::string_view line) {
    auto parsed = proto::parse_request(line);
    if (auto* f = std::get_if<proto::Failure>(&parsed)) return proto::error_line(f->id, f->code, f->message);
    return handle(std::get<proto::Request>(parsed));
}

std::string Dispatcher::handle(const proto::Request& req) {
    Result<json> r = Error::of(EIO, "internal error");
    try {
        r = run(req);
    } catch (const std::exception& e) {
        r = Error::of(EIO, std::string("internal error: ") + e.what());
    }
    // A client that unbinds and then looks at the mount must not find the
    // kernel's cached links of before: reply once the kernel was told.
    core_.tree().sync_changes();
    if (!r) return proto::error_line(req.id, r.error().code, r.error().message);
    return proto::result_line(req.id, r.value());
}

Result<json> Dispatcher::run(const proto::Request& req) {
    const proto::Command* cmd = proto::find_command(req.cmd);
    Handler handler = cmd ? find_handler(cmd->name) : nullptr;
    if (cmd && !cmd->local) {
        if (auto err = proto::check_fields(*cmd, req.body)) return einval(*err);
        if (proto::streams(*cmd, req.body))
            return Error::of(EOPNOTSUPP, req.cmd + (cmd->stream_if ? std::string(" --") + cmd->stream_if : "") +
                                             " streams over a connection; the server handles it");
    }
    if (!handler) return Error::of(ENOSYS, "unknown command '" + req.cmd + "'");
    HandlerContext ctx{core_, apply_mu_};
    return handler(ctx, req.body);
}

}  // namespace driverfs::control
