#include "test_util.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "core/log.hpp"
#include "driverfs_config.h"

namespace dfs_test {
namespace {

std::string env_or(const char* var, const std::string& fallback) {
    const char* v = std::getenv(var);
    return v && *v ? std::string(v) : fallback;
}

void default_sink(driverfs::LogLevel level, std::string_view msg) {
    std::string line = "driverfsd[test]: " + std::to_string(static_cast<int>(level)) + ": ";
    line.append(msg);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

std::string fixtures_dir() {
    return env_or("DRIVERFS_TEST_FIXTURES", std::string(DRIVERFS_BUILD_ROOT) + "/tests/fixtures");
}
std::string plugins_dir() {
    return env_or("DRIVERFS_TEST_PLUGINS", std::string(DRIVERFS_BUILD_ROOT) + "/plugins");
}
std::string fixture_so(const std::string& name) { return fixtures_dir() + "/" + name + ".so"; }
std::string plugin_so(const std::string& name) { return plugins_dir() + "/" + name + "/" + name + ".so"; }

PrivateDir::PrivateDir() {
    std::string tmpl = env_or("TMPDIR", "/tmp") + "/driverfs-unit-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
    if (chmod(path_.c_str(), 0700) != 0) throw std::runtime_error("chmod of " + path_ + " failed");
}

PrivateDir::~PrivateDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path_, ec);
}

std::string PrivateDir::install(const std::string& src, const std::string& name, unsigned mode) {
    std::string dst = path_ + "/" + name;
    std::filesystem::copy_file(src, dst, std::filesystem::copy_options::overwrite_existing);
    if (chmod(dst.c_str(), mode) != 0) throw std::runtime_error("chmod of " + dst + " failed");
    return dst;
}

std::string PrivateDir::write_file(const std::string& name, std::string_view text, unsigned mode) {
    std::string dst = path_ + "/" + name;
    {
        std::ofstream out(dst, std::ios::binary | std::ios::trunc);
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
        if (!out) throw std::runtime_error("writing " + dst + " failed");
    }
    if (chmod(dst.c_str(), mode) != 0) throw std::runtime_error("chmod of " + dst + " failed");
    return dst;
}

Gate::Gate() : path_(dir_.path() + "/gate") {
    if (mkfifo(path_.c_str(), 0600) != 0) throw std::runtime_error("mkfifo " + path_ + " failed");
}

Gate::~Gate() {
    // Without a reader, a non-blocking open fails at once (ENXIO): nothing waits.
    int fd = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) ::close(fd);
}

void Gate::release() {
    // Non-blocking, retried while nobody reads (ENXIO): a broken test whose
    // callback never reaches the gate gets its failures reported after 60 s
    // instead of hanging here.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
        int fd = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            ::close(fd);
            return;
        }
        if (errno != ENXIO || std::chrono::steady_clock::now() > give_up) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

std::string listing(driverfs::Core& core, const std::string& path) {
    driverfs::NodePtr dir = core.tree().resolve(path);
    if (!dir) return "<none>";
    auto entries = core.tree().list(dir->ino);
    if (!entries) return "<error>";
    std::string out;
    for (const driverfs::DirEntry& e : entries.value()) out += (out.empty() ? "" : " ") + e.name;
    return out;
}

int open_errno(driverfs::Core& core, const std::string& path, int flags) {
    driverfs::NodePtr node = core.tree().resolve(path);
    if (!node) return ENOENT;
    auto f = driverfs::OpenFile::open(node, flags);
    return f ? 0 : f.error().code;
}

Io read_handle(driverfs::OpenFile& f, off_t offset, size_t size) {
    Io io;
    std::string buf(size, '\0');
    auto n = f.read(buf.data(), buf.size(), offset);
    if (!n) {
        io.err = n.error().code;
        return io;
    }
    buf.resize(n.value());
    io.count = n.value();
    io.data = std::move(buf);
    return io;
}

Io write_handle(driverfs::OpenFile& f, std::string_view data) {
    Io io;
    auto n = f.write(data, 0);
    if (!n) io.err = n.error().code;
    else io.count = n.value();
    return io;
}

Io read_attr(driverfs::Core& core, const std::string& path) {
    driverfs::NodePtr node = core.tree().resolve(path);
    if (!node) return Io{ENOENT, {}, 0};
    auto f = driverfs::OpenFile::open(node, O_RDONLY);
    if (!f) return Io{f.error().code, {}, 0};
    return read_handle(*f.value());
}

Io write_attr(driverfs::Core& core, const std::string& path, std::string_view data) {
    driverfs::NodePtr node = core.tree().resolve(path);
    if (!node) return Io{ENOENT, {}, 0};
    auto f = driverfs::OpenFile::open(node, O_WRONLY);
    if (!f) return Io{f.error().code, {}, 0};
    return write_handle(*f.value(), data);
}

const driverfs::ModuleInfo* find_module(const std::vector<driverfs::ModuleInfo>& mods, const std::string& name) {
    for (const auto& m : mods)
        if (m.name == name) return &m;
    return nullptr;
}

int live_modules(const driverfs::Core& core, const std::string& name) {
    int n = 0;
    for (const auto& m : core.modules())
        if (m.name == name && m.state == "live") ++n;
    return n;
}

LogCapture::LogCapture() {
    driverfs::set_log_sink([this](driverfs::LogLevel level, std::string_view msg) {
        {
            std::lock_guard lock(mu_);
            lines_.emplace_back(msg);
        }
        default_sink(level, msg);
    });
}

LogCapture::~LogCapture() { driverfs::set_log_sink(default_sink); }

QuietLog::QuietLog() { driverfs::set_log_sink([](driverfs::LogLevel, std::string_view) {}); }
QuietLog::~QuietLog() { driverfs::set_log_sink(default_sink); }

bool LogCapture::contains(std::string_view needle) const {
    std::lock_guard lock(mu_);
    for (const auto& l : lines_)
        if (l.find(needle) != std::string::npos) return true;
    return false;
}

bool LogCapture::before(std::string_view first, std::string_view second) const {
    std::lock_guard lock(mu_);
    for (const auto& l : lines_) {
        if (l.find(first) != std::string::npos) return true;
        if (l.find(second) != std::string::npos) return false;
    }
    return false;
}

std::vector<pid_t> task_ids() {
    std::vector<pid_t> out;
    DIR* d = opendir("/proc/self/task");
    while (dirent* e = d ? readdir(d) : nullptr)
        if (e->d_name[0] != '.') out.push_back(static_cast<pid_t>(std::stol(e->d_name)));
    if (d) closedir(d);
    return out;
}

std::vector<pid_t> threads_since(const std::vector<pid_t>& before) {
    std::vector<pid_t> out;
    for (pid_t t : task_ids())
        if (std::find(before.begin(), before.end(), t) == before.end()) out.push_back(t);
    return out;
}

}  // namespace dfs_test
