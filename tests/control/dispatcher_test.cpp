// The dispatcher driving a real core: every command, its refusals, apply (no socket, no mount).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "control/dispatcher.hpp"
#include "control/protocol.hpp"

namespace {

namespace proto = driverfs::protocol;
using proto::json;
using driverfs::control::Dispatcher;

class DispatcherTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/driverfs-proto-test.XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        chmod(dir_.c_str(), 0700);
        const char* plugins = std::getenv("DRIVERFS_TEST_PLUGINS");
        ASSERT_NE(plugins, nullptr) << "DRIVERFS_TEST_PLUGINS is not set (run through meson test)";
        std::filesystem::copy_file(std::string(plugins) + "/led/led.so", dir_ + "/led.so");
        chmod((dir_ + "/led.so").c_str(), 0644);
        driverfs::CoreOptions o;
        o.plugin_dir = dir_;
        o.unload_timeout = std::chrono::milliseconds(2000);
        core_ = std::make_unique<driverfs::Core>(o);
        disp_ = std::make_unique<Dispatcher>(*core_);
    }
    void TearDown() override {
        disp_.reset();
        if (core_) core_->shutdown();
        core_.reset();
        std::filesystem::remove_all(dir_);
    }
    // Send one request object, return the parsed reply; the id must echo.
    json call(json req) {
        req["id"] = ++next_id_;
        json reply = json::parse(disp_->handle_line(req.dump()));
        EXPECT_EQ(reply["id"], next_id_);
        return reply;
    }
    json ok(json req) {
        json r = call(req);
        EXPECT_TRUE(r.contains("result")) << req.dump() << " -> " << r.dump();
        return r.value("result", json());
    }
    int err(json req) {
        json r = call(req);
        EXPECT_TRUE(r.contains("error")) << req.dump() << " -> " << r.dump();
        return r.contains("error") ? r["error"]["errno"].get<int>() : 0;
    }
    json device(const std::string& name) {
        const json devs = ok({{"cmd", "devices"}})["devices"];
        for (const json& d : devs)
            if (d["name"] == name) return d;
        return nullptr;
    }

    std::string dir_;
    std::unique_ptr<driverfs::Core> core_;
    std::unique_ptr<Dispatcher> disp_;
    int next_id_ = 0;
};

TEST_F(DispatcherTest, LineErrorsEchoWhatTheyCan) {
    json r = json::parse(disp_->handle_line("not json"));
    EXPECT_TRUE(r["id"].is_null());
    EXPECT_EQ(r["error"]["errno"], EINVAL);
    r = json::parse(disp_->handle_line(R"({"id":5,"cmd":"nope"})"));
    EXPECT_EQ(r["id"], 5);
    EXPECT_EQ(r["error"]["errno"], ENOSYS);
}

TEST_F(DispatcherTest, WrongTypesAreEinvalNamingTheField) {
    json r = call({{"cmd", "load"}, {"plugin", 5}});
    EXPECT_EQ(r["error"]["errno"], EINVAL);
    EXPECT_EQ(r["error"]["message"], "\"plugin\" must be a string");
    r = call({{"cmd", "bind"}, {"bus", "platform"}, {"driver", "led"}});
    EXPECT_EQ(r["error"]["message"], "missing \"device\"");
    EXPECT_EQ(err({{"cmd", "add-device"}, {"bus", "platform"}, {"name", "x"}, {"properties", {{"k", 1}}}}), EINVAL);
    EXPECT_EQ(err({{"cmd", "unload"}, {"module", "led"}, {"timeout", "soon"}}), EINVAL);
    EXPECT_EQ(err({{"cmd", "unload"}, {"module", "led"}, {"timeout", -1}}), EINVAL);
    EXPECT_EQ(err({{"cmd", "monitor"}}), EOPNOTSUPP);
    // A JSON client may leave out what driverfsctl's usage always asks for.
    r = call({{"cmd", "set-attribute"}, {"path", "devices/platform/x/a"}});
    EXPECT_EQ(r["error"]["message"], "missing \"value\"");
    EXPECT_EQ(err({{"cmd", "set-attribute"}, {"path", "x"}, {"value", "1"}, {"no_newline", "yes"}}), EINVAL);
    EXPECT_EQ(ok({{"cmd", "devices"}})["devices"].size(), 0u);  // nothing was created
}

TEST_F(DispatcherTest, EveryCommandDrivesTheCore) {
    EXPECT_EQ(ok({{"cmd", "ping"}})["pid"], static_cast<long>(getpid()));
    EXPECT_EQ(ok({{"cmd", "load"}, {"plugin", "led"}})["module"], "led");
    EXPECT_EQ(err({{"cmd", "load"}, {"plugin", "nosuch"}}), ENOENT);

    json mods = ok({{"cmd", "list"}})["modules"];
    ASSERT_EQ(mods.size(), 1u);
    EXPECT_EQ(mods[0]["name"], "led");
    EXPECT_EQ(mods[0]["state"], "live");
    EXPECT_EQ(mods[0]["generation"], 1);
    EXPECT_EQ(mods[0]["drivers"], json::array({"led"}));

    ok({{"cmd", "add-device"}, {"bus", "platform"}, {"name", "led0"}, {"properties", {{"max_brightness", "100"}}}});
    ok({{"cmd", "add-device"}, {"bus", "platform"}, {"name", "led1"}, {"parent", "led0"}});
    EXPECT_EQ(err({{"cmd", "add-device"}, {"bus", "platform"}, {"name", "led0"}}), EEXIST);
    EXPECT_EQ(err({{"cmd", "add-device"}, {"bus", "nobus"}, {"name", "x0"}}), ENOENT);
    json d0 = device("led0");
    EXPECT_EQ(d0["driver"], "led");
    EXPECT_EQ(d0["state"], "active");
    EXPECT_EQ(d0["properties"]["max_brightness"], "100");
    EXPECT_EQ(device("led1")["parent"], "led0");
    EXPECT_EQ(ok({{"cmd", "list"}})["modules"][0]["devices"], 2);

    ok({{"cmd", "unbind"}, {"bus", "platform"}, {"driver", "led"}, {"device", "led1"}});
    EXPECT_EQ(device("led1")["driver"], "");
    ok({{"cmd", "bind"}, {"bus", "platform"}, {"driver", "led"}, {"device", "led1"}});
    EXPECT_EQ(device("led1")["driver"], "led");

    ok({{"cmd", "suspend"}});
    EXPECT_EQ(device("led0")["state"], "suspended");
    ok({{"cmd", "resume"}});
    EXPECT_EQ(device("led0")["state"], "active");

    json st = ok({{"cmd", "stats"}});
    EXPECT_EQ(st["devices"], 2);
    EXPECT_EQ(st["bound_devices"], 2);
    EXPECT_EQ(st["plugins_loaded"], 1);

    // led probed, removed, suspended and resumed its devices: all counted.
    json ds = ok({{"cmd", "driver-stats"}})["drivers"];
    ASSERT_EQ(ds.size(), 1u) << ds.dump();
    EXPECT_EQ(ds[0]["module"], "led");
    EXPECT_EQ(ds[0]["driver"], "led");
    EXPECT_GT(ds[0]["calls"].get<uint64_t>(), 0u);
    EXPECT_EQ(ds[0]["errors"], 0);
    EXPECT_EQ(ds[0]["in_flight"], 0);
    EXPECT_EQ(ds[0]["refused"], 0);
    EXPECT_TRUE(ds[0]["slowest"].is_object() && ds[0]["slowest"]["call"].is_string()) << ds.dump();

    ok({{"cmd", "remove-device"}, {"name", "led0"}});  // and its child
    EXPECT_EQ(ok({{"cmd", "devices"}})["devices"].size(), 0u);
    EXPECT_EQ(err({{"cmd", "remove-device"}, {"name", "led0"}}), ENODEV);

    EXPECT_EQ(ok({{"cmd", "unload"}, {"module", "led"}, {"timeout", 1.5}})["module"], "led");
    EXPECT_EQ(err({{"cmd", "unload"}, {"module", "led"}}), ENOENT);
    EXPECT_EQ(ok({{"cmd", "list"}})["modules"][0]["state"], "gone");
    EXPECT_EQ(ok({{"cmd", "driver-stats"}})["drivers"], json::array());
    EXPECT_EQ(ok({{"cmd", "purge"}})["freed"], 1);
    EXPECT_EQ(ok({{"cmd", "stats"}})["inactive_stubs"], 0);
}

TEST_F(DispatcherTest, ApplyIsAllOrNothingAndIdempotent) {
    json good = json::parse(R"({"plugins": ["led"], "buses": {"platform": {"devices": [
        {"name": "led0"}, {"name": "led1", "parent": "led0", "properties": {"max_brightness": 7}}]}}})");
    // Invalid: refused with the path, nothing applied.
    json bad = good;
    bad["buses"]["platform"]["devices"][1]["properties"]["max_brightness"] = 1.5;
    json r = call({{"cmd", "apply"}, {"config", bad}});
    EXPECT_EQ(r["error"]["errno"], EINVAL);
    EXPECT_EQ(r["error"]["message"], "$.buses.platform.devices[1].properties.max_brightness: must be a string or an integer");
    EXPECT_EQ(ok({{"cmd", "list"}})["modules"].size(), 0u);

    // Valid but failing half way (an unknown bus): what was done is undone.
    json half = good;
    half["buses"]["nobus"] = json::parse(R"({"devices": [{"name": "z0"}]})");
    r = call({{"cmd", "apply"}, {"config", half}});
    EXPECT_EQ(r["error"]["errno"], ENOENT);
    EXPECT_EQ(r["error"]["message"].get<std::string>().rfind("$.buses.nobus.devices[0]: ", 0), 0u)
        << r["error"]["message"];
    EXPECT_EQ(ok({{"cmd", "devices"}})["devices"].size(), 0u);
    const json mods = ok({{"cmd", "list"}})["modules"];
    for (const json& m : mods) EXPECT_NE(m["state"], "live");

    json rep = ok({{"cmd", "apply"}, {"config", good}});
    EXPECT_EQ(rep["loaded"], json::array({"led"}));
    EXPECT_EQ(rep["added"], json::array({"led0", "led1"}));
    EXPECT_EQ(device("led1")["properties"]["max_brightness"], "7");
    EXPECT_EQ(device("led1")["parent"], "led0");
    rep = ok({{"cmd", "apply"}, {"config", good}});
    EXPECT_EQ(rep["loaded"], json::array());
    EXPECT_EQ(rep["plugins_present"], json::array({"led"}));
    EXPECT_EQ(rep["devices_present"], json::array({"led0", "led1"}));
    EXPECT_EQ(ok({{"cmd", "devices"}})["devices"].size(), 2u);
}

}  // namespace
