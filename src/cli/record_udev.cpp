// udev database entries as a device description's "udev" and "devlinks" (record_udev.hpp).
#include "record_udev.hpp"

#include "src/control/attr_value.hpp"

namespace driverfs::cli {

using json = control::DescriptionJson;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size();
        if (nl > pos) out.push_back(text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return out;
}

// Lines E:KEY=VALUE (udev's properties), S:LINK (below /dev), G:/Q: (tags and
// current tags), I:USEC (initialization time); the rest is udev's own.
void add_udev_entry(const std::string& text, json& dev) {
    json udev = json::object();
    std::vector<std::string> links;
    std::string tags, current;
    for (const std::string& ln : lines_of(text)) {
        if (ln.size() < 2 || ln[1] != ':' || !control::is_text(ln)) continue;
        const std::string rest = ln.substr(2);
        if (ln[0] == 'E') {
            if (auto eq = rest.find('='); eq != std::string::npos && eq > 0) udev[rest.substr(0, eq)] = rest.substr(eq + 1);
        } else if (ln[0] == 'S') {
            links.push_back("/dev/" + rest);
        } else if (ln[0] == 'G') {
            tags += ":" + rest;
        } else if (ln[0] == 'Q') {
            current += ":" + rest;
        } else if (ln[0] == 'I') {
            udev["USEC_INITIALIZED"] = rest;
        }
    }
    if (!tags.empty()) udev["TAGS"] = tags + ":";
    if (!current.empty()) udev["CURRENT_TAGS"] = current + ":";
    if (!udev.empty()) dev["udev"] = udev;
    if (!links.empty()) dev["devlinks"] = links;
}

}  // namespace driverfs::cli
