// Unit tests of include/driverfs/plugin.hpp: the parse/format helpers
// (kstrto* integers with ranges, kstrtobool, the "[selected]" choice list)
// and the trampolines' promise that no exception crosses the C ABI.
#include <gtest/gtest.h>

#include <climits>
#include <stdexcept>
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

const dfs_host fake_host = {sizeof(dfs_host), DRIVERFS_ABI_VERSION, nullptr, fake_name, fake_property,
                            fake_set_drvdata, fake_get_drvdata, fake_log, fake_notify, nullptr, nullptr};

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

struct HostFixture : ::testing::Test {
    void SetUp() override {
        sdk::Host::attach(nullptr, &fake_host);
        logged.clear();
        drvdata = nullptr;
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
    ASSERT_EQ(counting.probe(kDev), 0);
    EXPECT_EQ(Counter::alive, 1);
    ASSERT_EQ(count.show(kDev, &count, page, sizeof page), 2);
    EXPECT_EQ(std::string(page, 2), "5\n");
    counting.remove(kDev);
    EXPECT_EQ(Counter::alive, 0);
    EXPECT_EQ(drvdata, nullptr);
    EXPECT_EQ(count.store, nullptr) << "a read-only attribute has no store";
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
