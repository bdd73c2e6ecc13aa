// ActiveRef: the one-atomic-op pin, deactivation, bounded drain, reactivation.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/active_ref.hpp"

using driverfs::ActiveRef;
using driverfs::Pin;
using namespace std::chrono_literals;

TEST(ActiveRef, PinAndUnpinCount) {
    ActiveRef ref;
    EXPECT_TRUE(ref.active());
    EXPECT_EQ(ref.in_flight(), 0);
    ASSERT_TRUE(ref.pin());
    ASSERT_TRUE(ref.pin());
    EXPECT_EQ(ref.in_flight(), 2);
    ref.unpin();
    EXPECT_EQ(ref.in_flight(), 1);
    ref.unpin();
    EXPECT_EQ(ref.in_flight(), 0);
}

TEST(ActiveRef, StartsDeactivatedWhenAsked) {
    ActiveRef ref(false);
    EXPECT_FALSE(ref.active());
    EXPECT_FALSE(ref.pin());
    EXPECT_EQ(ref.in_flight(), 0);
    ref.reactivate();
    EXPECT_TRUE(ref.pin());
    ref.unpin();
}

TEST(ActiveRef, PinFailsAfterDeactivate) {
    ActiveRef ref;
    EXPECT_TRUE(ref.deactivate());
    EXPECT_FALSE(ref.active());
    EXPECT_FALSE(ref.deactivate()) << "second deactivate must report it already was";
    for (int i = 0; i < 100; ++i) EXPECT_FALSE(ref.pin());
    EXPECT_EQ(ref.in_flight(), 0) << "a failed pin must leave no count behind";
}

TEST(ActiveRef, DeactivateKeepsHeldPinsCounted) {
    ActiveRef ref;
    ASSERT_TRUE(ref.pin());
    ASSERT_TRUE(ref.deactivate());
    EXPECT_EQ(ref.in_flight(), 1);
    EXPECT_FALSE(ref.pin());
    EXPECT_EQ(ref.in_flight(), 1);
    ref.unpin();
    EXPECT_EQ(ref.in_flight(), 0);
}

TEST(ActiveRef, DrainReturnsAtOnceWithoutPins) {
    ActiveRef ref;
    ASSERT_TRUE(ref.deactivate());
    // Far below the deadline, on any machine, unless drain waited for it.
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_TRUE(ref.drain_until(t0 + 60s));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s);
}

TEST(ActiveRef, DrainTimesOutWhilePinHeld) {
    ActiveRef ref;
    ASSERT_TRUE(ref.pin());
    ASSERT_TRUE(ref.deactivate());
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(ref.drain_until(t0 + 100ms));
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
    ref.unpin();
    EXPECT_TRUE(ref.drain_until(std::chrono::steady_clock::now() + 1s));
}

TEST(ActiveRef, DrainWakesWhenLastPinDropsOnAnotherThread) {
    ActiveRef ref;
    ASSERT_TRUE(ref.pin());
    ASSERT_TRUE(ref.pin());
    ASSERT_TRUE(ref.deactivate());
    // Whether drain returned early is told by a flag set just before the
    // last unpin, not by how long it took: a descheduled main thread could
    // start its clock late.
    std::atomic<bool> last_dropped{false};
    std::thread releaser([&] {
        std::this_thread::sleep_for(50ms);
        ref.unpin();
        std::this_thread::sleep_for(50ms);
        last_dropped = true;
        ref.unpin();
    });
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_TRUE(ref.drain_until(t0 + 60s));
    auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_TRUE(last_dropped.load()) << "drain returned before the last pin was dropped";
    // 100 ms of sleeps against a 60 s deadline: only a drainer that slept
    // until the deadline comes near this.
    EXPECT_LT(waited, 30s) << "the last unpin did not wake the drainer";
    releaser.join();
    EXPECT_EQ(ref.in_flight(), 0);
}

TEST(ActiveRef, ReactivateAfterTimedOutDrain) {
    ActiveRef ref;
    ASSERT_TRUE(ref.pin());
    ASSERT_TRUE(ref.deactivate());
    EXPECT_FALSE(ref.drain_until(std::chrono::steady_clock::now() + 20ms));
    ref.reactivate();
    EXPECT_TRUE(ref.active());
    EXPECT_EQ(ref.in_flight(), 1) << "reactivate must keep the pin still held";
    ASSERT_TRUE(ref.pin());
    EXPECT_EQ(ref.in_flight(), 2);
    ref.unpin();
    ref.unpin();
    EXPECT_EQ(ref.in_flight(), 0);
    ref.reactivate();  // no-op when active
    EXPECT_TRUE(ref.active());
    EXPECT_EQ(ref.in_flight(), 0);
}

TEST(ActiveRef, PinRaii) {
    ActiveRef ref;
    {
        Pin p(ref);
        EXPECT_TRUE(static_cast<bool>(p));
        EXPECT_EQ(ref.in_flight(), 1);
        Pin moved(std::move(p));
        EXPECT_FALSE(static_cast<bool>(p));
        EXPECT_TRUE(static_cast<bool>(moved));
        EXPECT_EQ(ref.in_flight(), 1);
    }
    EXPECT_EQ(ref.in_flight(), 0);
    ASSERT_TRUE(ref.deactivate());
    Pin failed(ref);
    EXPECT_FALSE(static_cast<bool>(failed));
    EXPECT_EQ(ref.in_flight(), 0);
}
