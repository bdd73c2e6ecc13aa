// The log ring behind `driverfsctl log`: order, bounds, and a follower that
// sees every record exactly once while other threads log.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/log.hpp"
#include "test_util.hpp"

namespace {

using driverfs::LogLevel;
using driverfs::LogRecord;

uint64_t last_seq() {
    driverfs::log(LogLevel::info, "ring test: mark");
    return driverfs::log_records(0).back().seq;
}

// The ring is the daemon's one log: other tests' messages are in it too, so
// each test looks only at what came after its own mark.
class LogRingTest : public ::testing::Test {
    dfs_test::QuietLog quiet_;  // these tests log thousands of lines
};

TEST_F(LogRingTest, RecordsAfterASeqAreTheNewerOnesInOrder) {
    const uint64_t mark = last_seq();
    driverfs::log(LogLevel::err, "ring test: one");
    driverfs::log(LogLevel::warning, "ring test: two\nforged line");
    std::vector<LogRecord> got = driverfs::log_records(mark);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].seq, mark + 1);
    EXPECT_EQ(got[0].level, LogLevel::err);
    EXPECT_EQ(got[0].message, "ring test: one");
    EXPECT_EQ(got[1].seq, mark + 2);
    EXPECT_EQ(got[1].message, "ring test: two\\x0aforged line");
    EXPECT_TRUE(driverfs::log_records(mark + 2).empty());
    EXPECT_TRUE(driverfs::log_records(mark + 1000).empty());
}

TEST_F(LogRingTest, DebugIsKeptOnlyWhenItIsWritten) {
    const uint64_t mark = last_seq();
    driverfs::log(LogLevel::debug, "ring test: hidden");
    EXPECT_TRUE(driverfs::log_records(mark).empty());
}

TEST_F(LogRingTest, KeepsTheNewestRecordsWithinBothBounds) {
    for (int i = 0; i < 2100; ++i) driverfs::log(LogLevel::info, "ring test: flood " + std::to_string(i));
    std::vector<LogRecord> all = driverfs::log_records(0);
    ASSERT_EQ(all.size(), driverfs::kLogRingRecords);
    EXPECT_EQ(all.back().message, "ring test: flood 2099");
    EXPECT_EQ(all.back().seq - all.front().seq + 1, all.size()) << "seqs in the ring are dense";

    const std::string big(3000, 'x');
    for (int i = 0; i < 400; ++i) driverfs::log(LogLevel::info, big + std::to_string(i));
    all = driverfs::log_records(0);
    size_t bytes = 0;
    for (const LogRecord& r : all) bytes += r.message.size();
    EXPECT_LE(bytes, driverfs::kLogRingBytes);
    EXPECT_GT(bytes, driverfs::kLogRingBytes - 4000) << "only as many dropped as needed";
    EXPECT_EQ(all.back().message, big + "399");
}

// Four threads log while a follower starts in the middle: its backlog and
// what it is handed afterwards are every seq from the backlog's first to
// the last logged, each once, in order.
TEST_F(LogRingTest, AFollowerStartedWhileOthersLogMissesAndRepeatsNothing) {
    const uint64_t mark = last_seq();
    constexpr int kThreads = 4, kEach = 2000;
    std::atomic<int> started{0};
    std::vector<std::thread> loggers;
    for (int t = 0; t < kThreads; ++t)
        loggers.emplace_back([t, &started] {
            for (int i = 0; i < kEach; ++i) {
                if (i == kEach / 4) started.fetch_add(1);
                driverfs::log(LogLevel::info, "ring test: t" + std::to_string(t) + " " + std::to_string(i));
            }
        });
    while (started.load() < kThreads) std::this_thread::yield();

    std::mutex mu;
    std::vector<uint64_t> seen;
    std::vector<LogRecord> backlog;
    const uint64_t id = driverfs::log_follow(mark, backlog, [&](const LogRecord& r) {
        std::lock_guard lock(mu);
        seen.push_back(r.seq);
    });
    for (std::thread& t : loggers) t.join();
    const uint64_t end = last_seq();
    driverfs::log_unfollow(id);
    driverfs::log(LogLevel::info, "ring test: after unfollow");

    std::vector<uint64_t> all;
    for (const LogRecord& r : backlog) all.push_back(r.seq);
    {
        std::lock_guard lock(mu);
        all.insert(all.end(), seen.begin(), seen.end());
    }
    ASSERT_FALSE(all.empty());
    ASSERT_FALSE(backlog.empty()) << "a quarter of each thread's lines came before the follow";
    EXPECT_EQ(all.back(), end) << "nothing after unfollow, the last mark before it";
    for (size_t i = 1; i < all.size(); ++i) ASSERT_EQ(all[i], all[i - 1] + 1) << "at " << i;
}

}  // namespace
