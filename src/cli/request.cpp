// driverfsctl's command words -> request fields, as the command table's row says (request.hpp).
#include "request.hpp"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "exit.hpp"

namespace driverfs::cli {

namespace {

namespace proto = driverfs::protocol;
using proto::Form;
using proto::json;

const proto::Param* param_of(const proto::Command* cmd, Form form, const std::string& word) {
    if (!cmd) return nullptr;
    for (const proto::Param& p : cmd->params)
        if (p.form == form && ((p.option && word == p.option) || (p.short_option && word == p.short_option)))
            return &p;
    return nullptr;
}

// The row that has the value option `opt`, or nullptr.
const proto::Command* owner_of(std::string_view opt) {
    for (const proto::Command& c : proto::kCommands)
        if (param_of(&c, Form::option, std::string(opt))) return &c;
    return nullptr;
}

// The synopsis as a usage error says it: "[--timeout[=]SECS]" as "[--timeout SECS]".
std::string usage_synopsis(const proto::Command& cmd) {
    if (cmd.params.empty()) return std::string(cmd.name) + " (takes no arguments)";
    std::string s = cmd.synopsis;
    for (size_t at; (at = s.find("[=]")) != std::string::npos;) s.replace(at, 3, " ");
    return s;
}

int read_file(const std::string& path, bool as_json, std::string& out) {
    std::ifstream in(path);
    if (!in) {
        const int e = errno ? errno : EIO;
        return failed(e, path + ": " + std::strerror(e), false, as_json);
    }
    std::stringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return kOk;
}

}  // namespace

std::string absolute(const std::string& p) {
    char buf[PATH_MAX];
    if (realpath(p.c_str(), buf)) return buf;
    if (!p.empty() && p[0] == '/') return p;
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd)) return std::string(cwd) + "/" + p;
    return p;
}

int build_request(const proto::Command* cmd, const std::vector<std::string>& args, bool as_json, json& req) {
    std::vector<std::string> pos;             // positional words after the command
    std::map<std::string, std::string> opts;  // value options, by option ("--timeout")
    std::map<std::string, bool> flags;        // flags given, by field
    for (size_t i = 1; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--") {
            pos.insert(pos.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
            break;
        }
        const size_t eq = a.find('=');
        if (const proto::Param* f = param_of(cmd, Form::flag, a)) {
            flags[f->key] = true;
        } else if (owner_of(a)) {
            // An option of any command is taken with its value here; one of
            // another command is refused below, naming that command.
            if (i + 1 >= args.size()) return usage_error(a + " needs a value");
            opts[a] = args[++i];
        } else if (a.rfind("--", 0) == 0 && eq != std::string::npos && owner_of(a.substr(0, eq))) {
            opts[a.substr(0, eq)] = a.substr(eq + 1);
        } else if (a.size() > 1 && a[0] == '-') {
            return usage_error("unknown option '" + a + "' for " + args[0]);
        } else {
            pos.push_back(a);
        }
    }
    for (const proto::Command& c : proto::kCommands)
        for (const proto::Param& p : c.params)
            if (p.form == Form::option && opts.count(p.option) && !param_of(cmd, Form::option, p.option))
                return usage_error(std::string(p.option) + " is an option of " + std::string(c.name));
    if (!cmd || cmd->local) return usage_error("unknown command '" + args[0] + "'");

    size_t need = 0;
    bool rest = false;
    for (const proto::Param& p : cmd->params) {
        need += p.form == Form::word || p.form == Form::path || p.form == Form::file;
        rest = rest || p.form == Form::rest;
    }
    if (pos.size() < need || (pos.size() > need && !rest))
        return usage_error("usage: driverfsctl " + usage_synopsis(*cmd));

    size_t next = 0;
    for (const proto::Param& p : cmd->params) {
        switch (p.form) {
            case Form::word: req[p.key] = pos[next++]; break;
            case Form::path: {
                // A path is resolved here: the daemon's working directory is /.
                const std::string& w = pos[next++];
                req[p.key] = w.find('/') != std::string::npos ? absolute(w) : w;
                break;
            }
            case Form::rest: {
                json props = json::object();
                for (; next < pos.size(); ++next) {
                    const std::string& w = pos[next];
                    auto eq = w.find('=');
                    if (eq == std::string::npos || eq == 0) return usage_error("property '" + w + "' is not KEY=VALUE");
                    props[w.substr(0, eq)] = w.substr(eq + 1);
                }
                req[p.key] = props;
                break;
            }
            case Form::file: {
                // The daemon tells JSON from a .umockdev dump and names the file and
                // line of an error: one parser for this and driverfsd --config.
                const std::string& path = pos[next++];
                std::string text;
                if (int e = read_file(path, as_json, text); e != kOk) return e;
                req[p.key] = std::move(text);
                req["file"] = path;
                break;
            }
            case Form::option: {
                auto it = opts.find(p.option);
                if (it == opts.end()) break;
                if (p.type != proto::Type::seconds) {
                    req[p.key] = it->second;
                    break;
                }
                char* end;
                const double t = std::strtod(it->second.c_str(), &end);
                if (it->second.empty() || *end || !(t > 0 && t <= 3600))
                    return usage_error(std::string(p.option) + " takes seconds, more than 0 and at most 3600");
                req[p.key] = t;
                break;
            }
            case Form::flag:
                if (flags.count(p.key)) req[p.key] = true;
                break;
            case Form::none: break;
        }
    }
    return kOk;
}

}  // namespace driverfs::cli
