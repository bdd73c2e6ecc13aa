// Reading a .umockdev dump: its "T: value" lines, checked and unescaped, into one UmockdevDump a device.
// The format, as umockdev-record writes it and umockdev's
// testbed reads it: one paragraph per device, paragraphs separated by blank
// lines, every line "T: value" with T one of
//   P: /devices/...     the device (first line of a paragraph, once)
//   E: KEY=VALUE        a udev property (kernel uevent keys and udev's own)
//   A: NAME=TEXT        a text attribute, escaped as GLib's g_strescape does
//   H: NAME=HEX         a binary attribute, two hex digits a byte
//   L: NAME=TARGET      a symlink below the device (driver, firmware_node, ...)
//   N: NAME[=HEX]       the node below /dev (and, for umockdev, its contents)
//   S: LINK             a /dev symlink, without the /dev/ prefix
// We also take '#' lines as comments, which umockdev does not: a hand-edited
// dump can then say where it came from.
#include "umockdev.hpp"
#include "umockdev_dump.hpp"

#include <cerrno>

#include "core/validate.hpp"

namespace driverfs::control {

namespace {

// The reverse of g_strescape: \b \f \n \r \t \v \\ \" and \ooo (one to three
// octal digits, at most \377). GLib turns any other "\c" into "c" without a
// word; umockdev-record never writes one, so here it is an error, as is a
// backslash at the end of the line.
std::optional<std::string> unescape(std::string_view s, std::string& why) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\') {
            out += s[i];
            continue;
        }
        if (++i == s.size()) {
            why = "a backslash at the end of the value escapes nothing";
            return std::nullopt;
        }
        const char c = s[i];
        if (c >= '0' && c <= '7') {
            unsigned v = 0;
            size_t k = 0;
            for (; k < 3 && i + k < s.size() && s[i + k] >= '0' && s[i + k] <= '7'; ++k) v = v * 8 + unsigned(s[i + k] - '0');
            if (v > 0xFF) {
                why = "octal escape \\" + std::string(s.substr(i, k)) + " is more than one byte (\\377)";
                return std::nullopt;
            }
            out += static_cast<char>(v);
            i += k - 1;
            continue;
        }
        switch (c) {
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'v': out += '\v'; break;
            case '\\': out += '\\'; break;
            case '"': out += '"'; break;
            default:
                why = std::string("unknown escape \\") + c + " (known: \\b \\f \\n \\r \\t \\v \\\\ \\\" \\ooo)";
                return std::nullopt;
        }
    }
    return out;
}

std::optional<std::string> unhex(std::string_view s, std::string& why) {
    if (s.size() % 2) {
        why = "odd number of hex digits (" + std::to_string(s.size()) + ")";
        return std::nullopt;
    }
    auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    std::string out;
    out.reserve(s.size() / 2);
    for (size_t i = 0; i < s.size(); i += 2) {
        const int hi = digit(s[i]), lo = digit(s[i + 1]);
        if (hi < 0 || lo < 0) {
            why = "'" + std::string(s.substr(hi < 0 ? i : i + 1, 1)) + "' at offset " + std::to_string(hi < 0 ? i : i + 1) +
                  " is not a hex digit";
            return std::nullopt;
        }
        out += static_cast<char>(hi << 4 | lo);
    }
    return out;
}

class Reader {
public:
    explicit Reader(const std::string& file) : file_(file) {}

    Status take_line(std::string_view line, size_t n);

    std::vector<UmockdevDump> dumps;

private:
    Error at(size_t line, const std::string& what) const { return umockdev_error(file_, line, what); }

    const std::string& file_;
    bool open_ = false;  // a paragraph is being read
};

Status Reader::take_line(std::string_view line, size_t n) {
    if (line.empty()) {  // a blank line ends a paragraph; more than one is harmless
        open_ = false;
        return {};
    }
    if (line[0] == '#') return {};
    if (line.size() < 3 || line[1] != ':' || line[2] != ' ')
        return at(n, "not a \"T: value\" line (a letter, a colon and a space)");
    const char type = line[0];
    const std::string_view rest = line.substr(3);
    if (std::string_view("PEAHLNS").find(type) == std::string_view::npos)
        return at(n, std::string("unknown line type '") + type + ":' (known: P E A H L N S)");
    if (type == 'P') {
        if (open_)
            return at(n, "P: inside the description of /" + dumps.back().path +
                             " (devices are separated by a blank line)");
        if (rest.rfind("/devices/", 0) != 0) return at(n, "device path '" + std::string(rest) + "' does not start with /devices/");
        if (!good_relative(rest.substr(1)))
            return at(n, "device path '" + std::string(rest) +
                             "' has an empty, '.', '..' or over-long component, or a control character");
        UmockdevDump d;
        d.line = n;
        d.path = std::string(rest.substr(1));
        for (const UmockdevDump& o : dumps)
            if (o.path == d.path) return at(n, "device /" + d.path + " is described twice (first at line " + std::to_string(o.line) + ")");
        dumps.push_back(std::move(d));
        open_ = true;
        return {};
    }
    if (!open_) return at(n, std::string(1, type) + ": line outside a device (each starts with \"P: /devices/...\", a blank line ends it)");
    UmockdevDump& d = dumps.back();

    if (type == 'S') {
        if (!good_relative(rest)) return at(n, "link name '" + std::string(rest) + "' is not a path below /dev (empty, '.' or '..' component)");
        d.devlinks.push_back("/dev/" + std::string(rest));
        return {};
    }
    // The others are NAME=VALUE (N: with the value optional).
    const size_t eq = rest.find('=');
    if (eq == std::string_view::npos && type != 'N') return at(n, std::string(1, type) + ": line without '=' (expected NAME=VALUE)");
    const std::string name(rest.substr(0, eq));
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : rest.substr(eq + 1);
    std::string why;

    switch (type) {
        case 'E': {
            if (Status ok = check_property(name, value); !ok) return at(n, ok.error().message);
            if (!is_text(name) || !is_text(value)) return at(n, "property " + name + " is not UTF-8 text");
            if (d.env_line.count(name))
                return at(n, "property " + name + " given twice (first at line " + std::to_string(d.env_line[name]) + ")");
            d.env_line[name] = n;
            d.env.emplace_back(name, std::string(value));
            return {};
        }
        case 'A':
        case 'H': {
            if (!good_relative(name)) return at(n, "attribute name '" + name + "' is not a relative path of names (no '.', '..', empty parts)");
            if (d.attr_line.count(name) || d.links.count(name))
                return at(n, "attribute " + name + " given twice");
            auto bytes = type == 'A' ? unescape(value, why) : unhex(value, why);
            if (!bytes) return at(n, "attribute " + name + ": " + why);
            if (bytes->size() > kMaxBinaryAttr)
                return at(n, "attribute " + name + " is " + std::to_string(bytes->size()) + " bytes, more than " +
                                 std::to_string(kMaxBinaryAttr));
            (type == 'A' ? d.text_attrs : d.bin_attrs)[name] = std::move(*bytes);
            d.attr_line[name] = n;
            return {};
        }
        case 'L': {
            if (!good_relative(name)) return at(n, "link name '" + name + "' is not a relative path of names (no '.', '..', empty parts)");
            if (d.links.count(name) || d.attr_line.count(name)) return at(n, "link " + name + " given twice");
            if (value.empty() || value[0] == '/')
                return at(n, "link " + name + ": target must be a relative path, got '" + std::string(value) + "'");
            d.links[name] = std::string(value);
            return {};
        }
        case 'N': {
            if (!good_relative(name)) return at(n, "device node name '" + name + "' is not a path below /dev (no '.', '..', empty parts)");
            if (d.node) return at(n, "N: given twice");
            // The contents umockdev would put in its fake /dev node have no
            // place in driverfs, but a broken one is still a broken file.
            if (eq != std::string_view::npos && !unhex(value, why)) return at(n, "device node contents: " + why);
            d.node = name;
            return {};
        }
    }
    return at(n, "unreachable line type");  // every letter of "PEAHLNS" is handled above
}

}  // namespace

Result<std::vector<UmockdevDump>> read_umockdev_dump(std::string_view text, const std::string& file) {
    Reader reader(file);
    size_t n = 0, pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        if (Status s = reader.take_line(text.substr(pos, nl - pos), ++n); !s) return s.error();
        pos = nl + 1;
    }
    return std::move(reader.dumps);
}

bool looks_like_umockdev(std::string_view text) {
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view line = text.substr(pos, nl - pos);
        const size_t first = line.find_first_not_of(" \t\r");
        if (first != std::string_view::npos && line[first] != '#') return line.substr(first).rfind("P:", 0) == 0;
        pos = nl + 1;
    }
    return false;
}

}  // namespace driverfs::control
