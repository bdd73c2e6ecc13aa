// Unit tests of include/driverfs/plugin.hpp: the parse/format helpers
// (kstrto* integers with ranges, kstrtobool, the "[selected]" choice list)
// and the trampolines' promise that no exception crosses the C ABI.
#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <string>
#include <vector>

#include "driverfs/plugin.hpp"

namespace sdk = driverfs::sdk;

TEST(ParseInt, UnsignedAcceptsWhatKstrtoulAccepts) {
    unsigned long v = 0;
    EXPECT_EQ(sdk::parse_ulong("42", 0, ULONG_MAX, &v), 0);
    EXPECT_EQ(v, 42u);
    EXPECT_EQ(sdk::parse_ulong("42\n", 0, ULONG_MAX, &v), 0);
    EXPECT_EQ(sdk::parse_ulong("+7", 0, ULONG_MAX, &v), 0);
    EXPECT_EQ(v, 7u);
    EXPECT_EQ(sdk::parse_ulong("18446744073709551615", 0, ULONG_MAX, &v), 0);
    EXPECT_EQ(v, ULONG_MAX);
}

TEST(ParseInt, UnsignedRefusals) {
    unsigned long v = 99;
    for (const char* bad : {"", "\n", "-1", "+", "++1", "4 2", " 42", "42 ", "42\n\n", "0x10", "4a", "1e3", "-"})
        EXPECT_EQ(sdk::parse_ulong(bad, 0, ULONG_MAX, &v), -EINVAL) << "'" << bad << "'";
    EXPECT_EQ(sdk::parse_ulong("18446744073709551616", 0, ULONG_MAX, &v), -ERANGE);
    EXPECT_EQ(sdk::parse_ulong("256", 0, 255, &v), -ERANGE);
    EXPECT_EQ(sdk::parse_ulong("0", 1, 255, &v), -ERANGE);
    EXPECT_EQ(v, 99u) << "a refused value must not be stored";
}

TEST(ParseInt, SignedLikeKstrtol) {
    long v = 0;
    EXPECT_EQ(sdk::parse_long("-5\n", -10, 10, &v), 0);
    EXPECT_EQ(v, -5);
    EXPECT_EQ(sdk::parse_long("+5", -10, 10, &v), 0);
    EXPECT_EQ(v, 5);
    EXPECT_EQ(sdk::parse_long("-0", -10, 10, &v), 0);
    EXPECT_EQ(v, 0);
    EXPECT_EQ(sdk::parse_long("-11", -10, 10, &v), -ERANGE);
    EXPECT_EQ(sdk::parse_long("-9223372036854775808", LONG_MIN, LONG_MAX, &v), 0);
    EXPECT_EQ(v, LONG_MIN);
    EXPECT_EQ(sdk::parse_long("9223372036854775808", LONG_MIN, LONG_MAX, &v), -ERANGE);
    for (const char* bad : {"", "-", "+-1", "-+1", "--1", "1-", "- 1"})
        EXPECT_EQ(sdk::parse_long(bad, LONG_MIN, LONG_MAX, &v), -EINVAL) << "'" << bad << "'";
}

TEST(ParseInt, NarrowTypesReportRange) {
    uint8_t b = 0;
    EXPECT_EQ(sdk::parse_int<uint8_t>("255", 0, 255, &b), 0);
    EXPECT_EQ(b, 255);
    EXPECT_EQ(sdk::parse_int<uint8_t>("256", 0, 255, &b), -ERANGE);
    int16_t s = 0;
    EXPECT_EQ(sdk::parse_int<int16_t>("-32769", INT16_MIN, INT16_MAX, &s), -ERANGE);
}

// Found by tests/fuzz/fuzz_sdk_parse: digits that overflow followed by
// garbage were -ERANGE; malformed text is -EINVAL whatever its digits.
TEST(ParseInt, MalformedBeatsOverflow) {
    long l = 7;
    EXPECT_EQ(sdk::parse_long("18446744073709551616\x03 7", LONG_MIN, LONG_MAX, &l), -EINVAL);
    EXPECT_EQ(sdk::parse_long("9223372036854775808x", LONG_MIN, LONG_MAX, &l), -EINVAL);
    int i = 7;
    EXPECT_EQ(sdk::parse_int<int>("99999999999 ", INT_MIN, INT_MAX, &i), -EINVAL);
    EXPECT_EQ(sdk::parse_int<int>("99999999999\n", INT_MIN, INT_MAX, &i), -ERANGE);
    EXPECT_EQ(l, 7);
    EXPECT_EQ(i, 7);
}

TEST(ParseUint, OriginalHelperStillWorks) {
    unsigned long v = 0;
    const char buf[] = "17\n";
    EXPECT_EQ(sdk::parse_uint(buf, 3, 0, 100, &v), 0);
    EXPECT_EQ(v, 17u);
    EXPECT_EQ(sdk::parse_uint(buf, 0, 0, 100, &v), -EINVAL);
}

// The kstrtobool table of lib/kstrtox.c (Linux 6.x).
TEST(ParseBool, KstrtoboolTable) {
    struct Case {
        const char* in;
        int rc;
        bool value;
    };
    const Case cases[] = {
        {"1", 0, true},     {"y", 0, true},    {"Y", 0, true},        {"t", 0, true},       {"T", 0, true},
        {"on", 0, true},    {"ON", 0, true},   {"oN", 0, true},       {"yes", 0, true},     {"true\n", 0, true},
        {"1\n", 0, true},   {"0", 0, false},   {"n", 0, false},       {"N", 0, false},      {"f", 0, false},
        {"F", 0, false},    {"off", 0, false}, {"OFF", 0, false},     {"of", 0, false},     {"no", 0, false},
        {"false", 0, false}, {"0\n", 0, false}, {"", -EINVAL, false}, {"o", -EINVAL, false}, {"ox", -EINVAL, false},
        {"2", -EINVAL, false}, {"x", -EINVAL, false}, {" 1", -EINVAL, false}, {"\n", -EINVAL, false},
        {"-1", -EINVAL, false},
    };
    for (const Case& c : cases) {
        bool v = !c.value;
        int rc = sdk::parse_bool(c.in, &v);
        EXPECT_EQ(rc, c.rc) << "'" << c.in << "'";
        if (c.rc == 0) {
            EXPECT_EQ(v, c.value) << "'" << c.in << "'";
        }
    }
}

TEST(Choices, FormatLikeLedTrigger) {
    const char* const names[] = {"none", "timer", "heartbeat"};
    EXPECT_EQ(sdk::format_choices(names, 0), "[none] timer heartbeat\n");
    EXPECT_EQ(sdk::format_choices(names, 1), "none [timer] heartbeat\n");
    EXPECT_EQ(sdk::format_choices(names, 2), "none timer [heartbeat]\n");
    EXPECT_EQ(sdk::format_choices(names, 3), "none timer heartbeat\n");
    const char* const one[] = {"only"};
    EXPECT_EQ(sdk::format_choices(one, 0), "[only]\n");
}

TEST(Choices, ParseOneName) {
    const char* const names[] = {"none", "timer", "heartbeat"};
    EXPECT_EQ(sdk::parse_choice("timer", names), 1);
    EXPECT_EQ(sdk::parse_choice("timer\n", names), 1);
    EXPECT_EQ(sdk::parse_choice("heartbeat", names), 2);
    for (const char* bad : {"", "\n", "time", "timers", "Timer", " timer", "timer\n\n", "[timer]", "none timer"})
        EXPECT_EQ(sdk::parse_choice(bad, names), -EINVAL) << "'" << bad << "'";
}

TEST(Format, IntegersEndInANewline) {
    EXPECT_EQ(sdk::format_int(42), "42\n");
    EXPECT_EQ(sdk::format_int(-7L), "-7\n");
    EXPECT_EQ(sdk::format_int(0u), "0\n");
    EXPECT_EQ(sdk::format_int(std::numeric_limits<int64_t>::min()), "-9223372036854775808\n");
    EXPECT_EQ(sdk::format_int(std::numeric_limits<uint64_t>::max()), "18446744073709551615\n");
    EXPECT_EQ(sdk::format_int(int8_t{-128}), "-128\n") << "a narrow type prints as a number, not a character";
    EXPECT_EQ(sdk::format_bool(true), "1\n");
    EXPECT_EQ(sdk::format_bool(false), "0\n");
}

// parse(format(x)) == x at the edges of each type and around zero.
template <class T>
void expect_int_round_trip() {
    constexpr T lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
    for (T x : {lo, static_cast<T>(lo + 1), T{0}, T{1}, static_cast<T>(hi - 1), hi}) {
        T back = x == lo ? hi : lo;
        ASSERT_EQ(sdk::parse_int<T>(sdk::format_int(x), lo, hi, &back), 0) << +x;
        EXPECT_EQ(back, x);
    }
    if constexpr (std::is_signed_v<T>) {
        T back = 0;
        ASSERT_EQ(sdk::parse_int<T>(sdk::format_int(T{-1}), lo, hi, &back), 0);
        EXPECT_EQ(back, T{-1});
    }
}

TEST(Format, RoundTripsThroughParse) {
    expect_int_round_trip<int8_t>();
    expect_int_round_trip<uint8_t>();
    expect_int_round_trip<int16_t>();
    expect_int_round_trip<uint16_t>();
    expect_int_round_trip<int>();
    expect_int_round_trip<unsigned>();
    expect_int_round_trip<long>();
    expect_int_round_trip<unsigned long>();
    expect_int_round_trip<long long>();
    expect_int_round_trip<unsigned long long>();
    for (bool x : {false, true}) {
        bool back = !x;
        ASSERT_EQ(sdk::parse_bool(sdk::format_bool(x), &back), 0);
        EXPECT_EQ(back, x);
    }
    const char* const names[] = {"none", "timer", "heartbeat"};
    EXPECT_EQ(sdk::parse_choice(sdk::format_choices(names, 1), names), -EINVAL)
        << "the whole list is not a choice: a store gets one name";
    for (size_t i = 0; i < std::size(names); ++i) {
        std::string shown = sdk::format_choices(names, i);
        size_t open = shown.find('['), close = shown.find(']');
        ASSERT_NE(open, std::string::npos);
        EXPECT_EQ(sdk::parse_choice(shown.substr(open + 1, close - open - 1), names), static_cast<int>(i));
    }
}

TEST(Emit, TruncatesToThePage) {
    char buf[8];
    EXPECT_EQ(sdk::emit(buf, sizeof buf, "%d\n", 42), 3);
    const std::string ten = "0123456789";
    EXPECT_EQ(sdk::emit(buf, sizeof buf, "%s", ten.c_str()), 7);
}

// ---- trampolines against a fake host ------------------------------------------

namespace {

std::vector<std::string> logged;
void* drvdata;

const char* fake_name(const dfs_device*) { return "dev0"; }
const char* fake_property(const dfs_device*, const char*) { return nullptr; }
void fake_set_drvdata(dfs_device*, void* p) { drvdata = p; }
void* fake_get_drvdata(const dfs_device*) { return drvdata; }
void fake_log(dfs_plugin*, int, const char* m) { logged.push_back(m); }
void fake_notify(dfs_device*, const char*) {}
// What update_group was last asked for, and what it answers.
const dfs_attribute_group* updated_group;
int update_answer;
int fake_update_group(dfs_device*, const dfs_attribute_group* g) {
    updated_group = g;
    return update_answer;
}

// The driver the host says a callback runs for (device_driver): the SDK's
// one probe/remove trampoline finds its Driver through it.
const dfs_driver* calling_driver;
const dfs_driver* fake_device_driver(const dfs_device*) { return calling_driver; }

const dfs_host fake_host = {sizeof(dfs_host), DRIVERFS_ABI_VERSION, nullptr, fake_name, fake_property,
                            fake_set_drvdata, fake_get_drvdata, fake_log, fake_notify, nullptr, nullptr,
                            fake_update_group, fake_device_driver, nullptr, nullptr, nullptr};

// Probe and remove as the host does: through the driver's own function
// pointers, telling device_driver which driver it is.
int probe_as(const sdk::Driver& d, dfs_device* dev) {
    calling_driver = &d;
    return d.probe(dev);
}
void remove_as(const sdk::Driver& d, dfs_device* dev) {
    calling_driver = &d;
    d.remove(dev);
}

dfs_device* const kDev = reinterpret_cast<dfs_device*>(0x1000);

struct Counter {
    static inline int alive = 0;
    explicit Counter(sdk::Device) { ++alive; }
    ~Counter() { --alive; }
    int n = 5;
};

sdk::Attribute boom("boom", 0644,
    [](sdk::Device, std::string&) -> int { throw std::runtime_error("kaboom"); },
    [](sdk::Device, std::string_view) -> int { throw 42; });
sdk::Attribute errno_attr("err", 0644,
    [](sdk::Device, std::string&) { return -EAGAIN; },
    [](sdk::Device, std::string_view) -> int { throw sdk::Errno(ENOSPC); });
sdk::Attribute count("count", 0444, [](sdk::Device d, std::string& out) {
    out = std::to_string(d.state<Counter>().n) + "\n";
    return 0;
});
sdk::Attribute hidden("hidden", 0400, [](sdk::Device, std::string&) { return 0; });

sdk::Driver counting("counting", "platform", [](sdk::Driver& d) { d.attributes({&count}).state<Counter>(); });

// A State whose members serve the attributes, one of them inherited.
struct Base {
    virtual ~Base() = default;
    int show_base(std::string& out) const {
        out = "base " + sdk::format_int(base_value);
        return 0;
    }
    int base_value = 3;
};
struct Led : Base {
    explicit Led(sdk::Device) {}
    int show_level(std::string& out) const {
        out = sdk::format_int(level);
        return 0;
    }
    int store_level(std::string_view in) { return sdk::parse_int(in, 0, 255, &level); }
    int show_throws(std::string&) { throw std::logic_error("member kaboom"); }
    int store_throws(std::string_view) noexcept(false) { throw sdk::Errno(EBUSY); }
    int level = 7;
};

sdk::Attribute level = sdk::Attribute::member<Led>("level", 0644, &Led::show_level, &Led::store_level);
sdk::Attribute level_wo = sdk::Attribute::member<Led>("level_wo", 0200, nullptr, &Led::store_level);
sdk::Attribute inherited = sdk::Attribute::member<Led>("inherited", 0444, &Base::show_base);
sdk::Attribute mboom = sdk::Attribute::member<Led>("mboom", 0644, &Led::show_throws, &Led::store_throws);
sdk::Driver leds("leds", "platform", [](sdk::Driver& d) { d.attributes({&level, &inherited, &mboom}).state<Led>(); });

struct HostFixture : ::testing::Test {
    void SetUp() override {
        sdk::Host::attach(nullptr, &fake_host);
        logged.clear();
        drvdata = nullptr;
        updated_group = nullptr;
        update_answer = 0;
    }
};

}  // namespace

TEST_F(HostFixture, ExceptionsBecomeEioAndALogLineNamingTheAttribute) {
    char page[DRIVERFS_PAGE_SIZE];
    EXPECT_EQ(boom.show(kDev, &boom, page, sizeof page), -EIO);
    ASSERT_EQ(logged.size(), 1u);
    EXPECT_EQ(logged[0], "show boom of dev0 threw: kaboom");
    EXPECT_EQ(boom.store(kDev, &boom, "1", 1), -EIO);
    ASSERT_EQ(logged.size(), 2u);
    EXPECT_EQ(logged[1], "store boom of dev0 threw a non-standard exception");
}

TEST_F(HostFixture, ErrnoPassesThroughWithoutALogLine) {
    char page[DRIVERFS_PAGE_SIZE];
    EXPECT_EQ(errno_attr.show(kDev, &errno_attr, page, sizeof page), -EAGAIN);
    EXPECT_EQ(errno_attr.store(kDev, &errno_attr, "x", 1), -ENOSPC);
    EXPECT_TRUE(logged.empty());
}

TEST_F(HostFixture, StateLivesFromProbeToRemove) {
    char page[DRIVERFS_PAGE_SIZE];
    EXPECT_EQ(count.show(kDev, &count, page, sizeof page), -ENODEV) << "no state before probe";
    ASSERT_EQ(probe_as(counting, kDev), 0);
    EXPECT_EQ(Counter::alive, 1);
    ASSERT_EQ(count.show(kDev, &count, page, sizeof page), 2);
    EXPECT_EQ(std::string(page, 2), "5\n");
    remove_as(counting, kDev);
    EXPECT_EQ(Counter::alive, 0);
    EXPECT_EQ(drvdata, nullptr);
    EXPECT_EQ(count.store, nullptr) << "a read-only attribute has no store";
}

TEST_F(HostFixture, OneTrampolineServesEveryDriver) {
    // No slot per Driver, so no limit on how many a plugin has.
    EXPECT_EQ(counting.probe, leds.probe);
    EXPECT_EQ(counting.remove, leds.remove);
    calling_driver = nullptr;
    EXPECT_EQ(counting.probe(kDev), -ENODEV) << "a host that names no driver";
    EXPECT_EQ(Counter::alive, 0);
}

TEST_F(HostFixture, VisibilityGivesTheModeOrZero) {
    sdk::Group g("grp", {&hidden, &count});
    hidden.visible_if([](sdk::Device) { return false; });
    EXPECT_EQ(g.is_visible(kDev, &hidden), 0u);
    EXPECT_EQ(g.is_visible(kDev, &count), 0444u);
    ASSERT_NE(g.attrs, nullptr);
    EXPECT_EQ(g.attrs[0], &hidden);
    EXPECT_EQ(g.attrs[1], &count);
    EXPECT_EQ(g.attrs[2], nullptr);
}

TEST_F(HostFixture, ModeForGivesAModePerDeviceAndContainsThrows) {
    bool writable = false;
    bool fail = false;
    sdk::Attribute knob("knob", 0444, [](sdk::Device, std::string& out) { out = "1\n"; return 0; });
    knob.visible_if([](sdk::Device) { return false; });  // mode_for wins over it
    knob.mode_for([&](sdk::Device) -> uint32_t {
        if (fail) throw std::runtime_error("no mode today");
        return writable ? 0100644 : 0444;  // type bits are not the attribute's to give
    });
    sdk::Group g(nullptr, {&knob});
    EXPECT_EQ(g.is_visible(kDev, &knob), 0444u);
    writable = true;
    EXPECT_EQ(g.is_visible(kDev, &knob), 0644u);
    fail = true;
    EXPECT_EQ(g.is_visible(kDev, &knob), 0u) << "a throwing mode_for gives no file";
    ASSERT_FALSE(logged.empty());
    EXPECT_NE(logged.back().find("is_visible knob"), std::string::npos) << logged.back();
}

TEST_F(HostFixture, UpdateGroupReachesTheHostAndPassesItsErrno) {
    sdk::Group g("grp", {&hidden, &count});
    EXPECT_EQ(g.update(sdk::Device(kDev)), 0);
    EXPECT_EQ(updated_group, &g);
    update_answer = -ENODEV;
    EXPECT_EQ(sdk::Device(kDev).update_group(g), -ENODEV);
    EXPECT_TRUE(logged.empty());
}

TEST_F(HostFixture, UpdateGroupOnAnOlderHostIsEnosys) {
    sdk::Group g(nullptr, {&count});
    // A version-2 host's table ends before update_group.
    dfs_host v2 = fake_host;
    v2.version = 2;
    v2.size = offsetof(dfs_host, update_group);
    sdk::Host::attach(nullptr, &v2);
    EXPECT_EQ(g.update(sdk::Device(kDev)), -ENOSYS);
    EXPECT_EQ(updated_group, nullptr) << "a field past the host's size was called";
    // A version-3 table without the service.
    dfs_host v3 = fake_host;
    v3.update_group = nullptr;
    sdk::Host::attach(nullptr, &v3);
    EXPECT_EQ(g.update(sdk::Device(kDev)), -ENOSYS);
    sdk::Host::attach(nullptr, &fake_host);
}

TEST_F(HostFixture, MemberFunctionsRunOnTheDevicesState) {
    char page[DRIVERFS_PAGE_SIZE];
    EXPECT_EQ(level.show(kDev, &level, page, sizeof page), -ENODEV) << "no state before probe";
    EXPECT_EQ(level.store(kDev, &level, "1", 1), -ENODEV);
    ASSERT_EQ(probe_as(leds, kDev), 0);
    ASSERT_EQ(level.show(kDev, &level, page, sizeof page), 2);
    EXPECT_EQ(std::string(page, 2), "7\n");
    EXPECT_EQ(level.store(kDev, &level, "200\n", 4), 4);
    EXPECT_EQ(level.store(kDev, &level, "256", 3), -ERANGE);
    EXPECT_EQ(level_wo.store(kDev, &level_wo, "9", 1), 1);
    EXPECT_EQ(level_wo.show, nullptr) << "a null show gives a write-only attribute";
    ASSERT_EQ(level.show(kDev, &level, page, sizeof page), 2);
    EXPECT_EQ(std::string(page, 2), "9\n");
    ASSERT_EQ(inherited.show(kDev, &inherited, page, sizeof page), 7);
    EXPECT_EQ(std::string(page, 7), "base 3\n");
    EXPECT_EQ(inherited.store, nullptr);
    EXPECT_TRUE(logged.empty());
    remove_as(leds, kDev);
    EXPECT_EQ(drvdata, nullptr);
}

TEST_F(HostFixture, MemberFunctionExceptionsAreContainedLikeLambdas) {
    char page[DRIVERFS_PAGE_SIZE];
    ASSERT_EQ(probe_as(leds, kDev), 0);
    EXPECT_EQ(mboom.show(kDev, &mboom, page, sizeof page), -EIO);
    ASSERT_EQ(logged.size(), 1u);
    EXPECT_EQ(logged[0], "show mboom of dev0 threw: member kaboom");
    EXPECT_EQ(mboom.store(kDev, &mboom, "1", 1), -EBUSY) << "an Errno from a member is its errno";
    EXPECT_EQ(logged.size(), 1u) << "and no log line";
    remove_as(leds, kDev);
}

namespace {
// The hooks of the one Module a binary may hold, and the host's answer to
// register_driver.
int inits, exits, init_answer, register_answer;
std::vector<const dfs_driver*> registered;
int fake_register_driver(dfs_plugin*, const dfs_driver* d) {
    registered.push_back(d);
    return register_answer;
}
sdk::Module module("sdk_test", "1", {&counting, &leds},
    [] { return ++inits, init_answer; },
    [] { ++exits; });

struct ModuleFixture : HostFixture {
    dfs_host host = fake_host;
    void SetUp() override {
        HostFixture::SetUp();
        host.register_driver = fake_register_driver;
        inits = exits = init_answer = register_answer = 0;
        registered.clear();
    }
};
}  // namespace

TEST_F(ModuleFixture, InitRegistersTheDriversInOrder) {
    EXPECT_EQ(module.init(nullptr, &host), 0);
    EXPECT_EQ(registered, (std::vector<const dfs_driver*>{&counting, &leds}));
    EXPECT_EQ(exits, 0) << "the host calls exit at unload";
    module.exit(nullptr);
    EXPECT_EQ(exits, 1);
}

TEST_F(ModuleFixture, AFailedRegistrationUndoesTheInitHook) {
    register_answer = -EEXIST;
    EXPECT_EQ(module.init(nullptr, &host), -EEXIST);
    EXPECT_EQ(registered.size(), 1u) << "registration stops at the first refusal";
    EXPECT_EQ(inits, 1);
    EXPECT_EQ(exits, 1) << "the host gives a failed init no exit: the SDK must";
}

TEST_F(ModuleFixture, AFailedInitHookIsNotUndone) {
    init_answer = -ENODEV;
    EXPECT_EQ(module.init(nullptr, &host), -ENODEV);
    EXPECT_TRUE(registered.empty());
    EXPECT_EQ(exits, 0) << "exit pairs with an init hook that succeeded";
}
