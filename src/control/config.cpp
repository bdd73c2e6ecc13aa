// Device description files, first half: reading and fully validating one (JSON or .umockdev) into a ConfigSpec.
// config_apply.cpp applies it.
#include "config.hpp"
#include "umockdev.hpp"

#include <cerrno>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "core/validate.hpp"

namespace driverfs::control {

using json = DescriptionJson;

namespace {

Error bad(const std::string& where, const std::string& what) { return Error::of(EINVAL, where + ": " + what); }

// Standard base64 (RFC 4648, with padding; white space ignored).
std::optional<std::string> decode_base64(const std::string& in) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    std::string out;
    uint32_t acc = 0;
    int bits = 0, pad = 0;
    size_t count = 0;
    for (char c : in) {
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
        ++count;
        if (c == '=') {
            ++pad;
            continue;
        }
        if (pad) return std::nullopt;  // data after padding
        int v = value(c);
        if (v < 0) return std::nullopt;
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    if (count % 4 != 0 || pad > 2) return std::nullopt;
    return out;
}

// "0644" -> 0644; nullopt unless 1-4 octal digits.
std::optional<uint32_t> parse_mode(const json& v) {
    if (!v.is_string()) return std::nullopt;
    const std::string s = v.get<std::string>();
    if (s.empty() || s.size() > 4) return std::nullopt;
    uint32_t m = 0;
    for (char c : s) {
        if (c < '0' || c > '7') return std::nullopt;
        m = m * 8 + static_cast<uint32_t>(c - '0');
    }
    return m;
}

// A "string or integer" property value as its text.
std::optional<std::string> scalar_text(const json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer()) return v.dump();
    return std::nullopt;
}

Result<DeclaredDevice> parse_declared(const json& d, const std::string& where) {
    if (!d.is_object()) return bad(where, "must be an object");
    DeclaredDevice dd;
    for (auto& [key, value] : d.items()) {
        const std::string kwhere = where + "." + key;
        if (key == "path" || key == "bus" || key == "class" || key == "driver" || key == "devnode") {
            if (!value.is_string() || value.get<std::string>().empty()) return bad(kwhere, "must be a non-empty string");
            std::string text = value.get<std::string>();
            if (key == "path") dd.path = std::move(text);
            else if (key == "bus") dd.bus = std::move(text);
            else if (key == "class") dd.cls = std::move(text);
            else if (key == "driver") dd.driver = std::move(text);
            else dd.devnode = std::move(text);
        } else if (key == "attributes") {
            if (!value.is_object()) return bad(kwhere, "must be an object mapping relative paths to values");
            for (auto& [apath, av] : value.items()) {
                const std::string awhere = kwhere + "." + apath;
                DeclaredAttr a;
                a.path = apath;
                if (av.is_string()) {
                    a.value = av.get<std::string>();
                } else if (av.is_object()) {
                    bool has_value = av.contains("value"), has_b64 = av.contains("base64");
                    if (has_value == has_b64) return bad(awhere, "give exactly one of \"value\" (text) or \"base64\" (binary)");
                    for (auto& [ak, akv] : av.items()) {
                        (void)akv;
                        if (ak != "value" && ak != "base64" && ak != "mode")
                            return bad(awhere + "." + ak, "unknown key (expected value, base64, mode)");
                    }
                    if (has_value) {
                        if (!av["value"].is_string()) return bad(awhere + ".value", "must be a string");
                        a.value = av["value"].get<std::string>();
                    } else {
                        if (!av["base64"].is_string()) return bad(awhere + ".base64", "must be a base64 string");
                        std::optional<std::string> bytes = decode_base64(av["base64"].get<std::string>());
                        if (!bytes) return bad(awhere + ".base64", "is not valid base64");
                        a.value = std::move(*bytes);
                        a.binary = true;
                    }
                    if (av.contains("mode")) {
                        std::optional<uint32_t> m = parse_mode(av["mode"]);
                        if (!m) return bad(awhere + ".mode", "must be an octal string such as \"0644\"");
                        if (*m & ~0666u) return bad(awhere + ".mode", "only the bits 0666 are allowed (no execute, no special bits)");
                        a.mode = *m;
                    }
                } else {
                    return bad(awhere, "must be a string or {\"value\"|\"base64\": ..., \"mode\": \"0644\"}");
                }
                dd.attributes.push_back(std::move(a));
            }
        } else if (key == "links" || key == "udev" || key == "properties") {
            if (!value.is_object()) return bad(kwhere, "must be an object");
            for (auto& [k, v] : value.items()) {
                std::optional<std::string> text = key == "links" ? (v.is_string() ? std::optional(v.get<std::string>()) : std::nullopt) : scalar_text(v);
                if (!text) return bad(kwhere + "." + k, key == "links" ? "must be a relative target path" : "must be a string or an integer");
                (key == "links" ? dd.links : key == "udev" ? dd.udev : dd.properties).emplace_back(k, std::move(*text));
            }
        } else if (key == "devlinks") {
            if (!value.is_array()) return bad(kwhere, "must be an array of /dev/... paths");
            for (size_t i = 0; i < value.size(); ++i) {
                if (!value[i].is_string()) return bad(kwhere + "[" + std::to_string(i) + "]", "must be a string");
                dd.devlinks.push_back(value[i].get<std::string>());
            }
        } else if (key == "devnum") {
            if (!value.is_object()) return bad(kwhere, "must be {\"type\": \"char\"|\"block\", \"major\": M, \"minor\": N}");
            DeclaredDevnum n;
            for (auto& [nk, nv] : value.items()) {
                if (nk == "type") {
                    if (!nv.is_string() || (nv != "char" && nv != "block")) return bad(kwhere + ".type", "must be \"char\" or \"block\"");
                    n.block = nv == "block";
                } else if (nk == "major" || nk == "minor") {
                    // Linux: 12 bits of major, 20 of minor.
                    const uint64_t limit = nk == "major" ? 0xfff : 0xfffff;
                    if (!nv.is_number_integer() || nv.get<int64_t>() < 0 || nv.get<uint64_t>() > limit)
                        return bad(kwhere + "." + nk, "must be an integer 0.." + std::to_string(limit));
                    (nk == "major" ? n.major : n.minor) = static_cast<uint32_t>(nv.get<uint64_t>());
                } else {
                    return bad(kwhere + "." + nk, "unknown key (expected type, major, minor)");
                }
            }
            for (const char* k : {"type", "major", "minor"})
                if (!value.contains(k)) return bad(kwhere + "." + k, "missing");
            dd.devnum = n;
        } else {
            return bad(kwhere, "unknown key (expected path, bus, class, driver, attributes, links, properties, udev, "
                               "devnum, devnode, devlinks)");
        }
    }
    if (dd.path.empty()) return bad(where + ".path", "missing");
    // The rules that need no JSON live in the core, so every way in checks
    // the same; its message starts with the key at fault.
    if (Status s = check_declared(dd); !s) return Error::of(EINVAL, where + "." + s.error().message);
    return dd;
}

}  // namespace

Result<ConfigSpec> parse_config(const json& doc) {
    ConfigSpec spec;
    if (!doc.is_object()) return bad("$", "the description must be a JSON object");
    for (auto& [key, value] : doc.items()) {
        (void)value;
        if (key != "plugins" && key != "buses" && key != "devices")
            return bad("$." + key, "unknown key (expected \"plugins\", \"buses\" or \"devices\")");
    }
    if (auto it = doc.find("plugins"); it != doc.end()) {
        if (!it->is_array()) return bad("$.plugins", "must be an array of plugin names or paths");
        for (size_t i = 0; i < it->size(); ++i) {
            const std::string where = "$.plugins[" + std::to_string(i) + "]";
            const json& p = (*it)[i];
            if (!p.is_string() || p.get<std::string>().empty()) return bad(where, "must be a non-empty string");
            if (Status ok = check_plugin_ref(p.get<std::string>()); !ok) return bad(where, ok.error().message);
            spec.plugins.push_back(p.get<std::string>());
        }
    }
    std::set<std::string> names;
    if (auto it = doc.find("buses"); it != doc.end()) {
        if (!it->is_object()) return bad("$.buses", "must be an object mapping bus names to {\"devices\": [...]}");
        for (auto& [bus, body] : it->items()) {
            const std::string bwhere = "$.buses." + bus;
            if (Status ok = check_object_name("bus", bus); !ok) return bad(bwhere, ok.error().message);
            if (!body.is_object()) return bad(bwhere, "must be an object");
            for (auto& [key, value] : body.items()) {
                (void)value;
                if (key != "devices") return bad(bwhere + "." + key, "unknown key (expected \"devices\")");
            }
            auto devs = body.find("devices");
            if (devs == body.end()) continue;
            if (!devs->is_array()) return bad(bwhere + ".devices", "must be an array");
            for (size_t i = 0; i < devs->size(); ++i) {
                const std::string where = bwhere + ".devices[" + std::to_string(i) + "]";
                const json& d = (*devs)[i];
                if (!d.is_object()) return bad(where, "must be an object");
                DeviceSpec ds;
                ds.bus = bus;
                ds.where = where;
                for (auto& [key, value] : d.items()) {
                    if (key == "name") {
                        if (!value.is_string() || !valid_object_name(value.get<std::string>()))
                            return bad(where + ".name", "must be a device name (1-64 of A-Z a-z 0-9 _ . : -)");
                        ds.name = value.get<std::string>();
                    } else if (key == "parent") {
                        if (!value.is_string() || !valid_object_name(value.get<std::string>()))
                            return bad(where + ".parent", "must be a device name (1-64 of A-Z a-z 0-9 _ . : -)");
                        ds.parent = value.get<std::string>();
                    } else if (key == "properties") {
                        if (!value.is_object()) return bad(where + ".properties", "must be an object");
                        for (auto& [pk, pv] : value.items()) {
                            const std::string pwhere = where + ".properties." + pk;
                            std::optional<std::string> text = scalar_text(pv);
                            if (!text) return bad(pwhere, "must be a string or an integer");
                            if (Status ok = check_property(pk, *text); !ok) return bad(pwhere, ok.error().message);
                            // A description must be expressible as bus/*/new_device
                            // lines, which split on white space.
                            if (text->find(' ') != std::string::npos) return bad(pwhere, "values cannot hold spaces");
                            ds.properties[pk] = std::move(*text);
                        }
                    } else {
                        return bad(where + "." + key, "unknown key (expected name, parent, properties)");
                    }
                }
                if (ds.name.empty()) return bad(where + ".name", "missing");
                if (!names.insert(ds.name).second) return bad(where + ".name", "device '" + ds.name + "' is described twice");
                if (ds.parent == ds.name) return bad(where + ".parent", "a device cannot be its own parent");
                spec.devices.push_back(std::move(ds));
            }
        }
    }
    // A parent named in the file must come before its child; one not in the
    // file must exist when the description is applied.
    std::set<std::string> seen;
    for (const DeviceSpec& d : spec.devices) {
        if (!d.parent.empty() && names.count(d.parent) && !seen.count(d.parent))
            return bad(d.where + ".parent", "parent '" + d.parent + "' is described after its child");
        seen.insert(d.name);
    }
    if (auto it = doc.find("devices"); it != doc.end()) {
        if (!it->is_array()) return bad("$.devices", "must be an array of device objects");
        // Paths so far, to refuse a second description of one path and an
        // ancestor described after its descendant.
        std::map<std::string, size_t> paths;
        for (size_t i = 0; i < it->size(); ++i) {
            const std::string where = "$.devices[" + std::to_string(i) + "]";
            Result<DeclaredDevice> d = parse_declared((*it)[i], where);
            if (!d) return d.error();
            const std::string& path = d.value().path;
            if (auto p = paths.find(path); p != paths.end())
                return bad(where + ".path", "'" + path + "' is described twice (first at $.devices[" +
                                                std::to_string(p->second) + "])");
            if (auto below = paths.lower_bound(path + "/");
                below != paths.end() && below->first.rfind(path + "/", 0) == 0)
                return bad(where + ".path", "'" + path + "' is an ancestor of $.devices[" + std::to_string(below->second) +
                                                "] and must come before it");
            paths.emplace(path, i);
            spec.declared.push_back(std::move(d.value()));
            spec.declared_where.push_back(where);
        }
    }
    return spec;
}

Result<ConfigSpec> parse_config_text(std::string_view text, const std::string& name) {
    json doc;
    if (looks_like_umockdev(text)) {  // a umockdev-record dump: translated (umockdev.hpp), errors name the line
        Result<json> dumped = umockdev_to_description(text, name);
        if (!dumped) return dumped.error();
        doc = std::move(dumped.value());
    } else {
        doc = json::parse(text, nullptr, false);
    }
    if (doc.is_discarded()) return Error::of(EINVAL, name + ": $: malformed JSON");
    Result<ConfigSpec> r = parse_config(doc);
    if (!r) return Error::of(r.error().code, name + ": " + r.error().message);
    return r;
}

Result<ConfigSpec> load_config_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        const int e = errno ? errno : ENOENT;
        return Error::of(e, path + ": cannot open: " + std::strerror(e));
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_config_text(ss.str(), path);
}

}  // namespace driverfs::control
