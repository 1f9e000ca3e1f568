// ChangeHub: the counters that wake the device and task event streams of hecs-control.
#include "common/change_hub.h"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hecs {
namespace {

using std::chrono::milliseconds;

TEST(ChangeHub, WakesAWaiterOnceItsKeyChanges) {
  ChangeHub hub;
  EXPECT_EQ(hub.version("a"), 0U);
  std::vector<bool> woken;
  const auto handle = hub.wait("a", 0, [&](bool changed) { woken.push_back(changed); });
  EXPECT_NE(handle, 0U);
  hub.notify({"b"});
  EXPECT_TRUE(woken.empty()) << "another key's change wakes nobody";
  hub.notify({"a", "b"});
  EXPECT_EQ(woken, std::vector<bool>{true});
  EXPECT_EQ(hub.version("a"), 1U);
  EXPECT_EQ(hub.version("b"), 2U);
  hub.notify({"a"});
  EXPECT_EQ(woken.size(), 1U) << "a waiter is woken once, then forgotten";
}

TEST(ChangeHub, WakesAtOnceWhenTheCounterPassedWhatTheWaiterSaw) {
  ChangeHub hub;
  hub.notify({"a"});
  int woken = 0;
  EXPECT_EQ(hub.wait("a", 0, [&](bool changed) { woken += changed ? 1 : 100; }), 0U);
  EXPECT_EQ(woken, 1);
  EXPECT_NE(hub.wait("a", hub.version("a"), [&](bool) { woken += 10; }), 0U);
  EXPECT_EQ(woken, 1) << "a waiter that saw the current counter waits";
}

TEST(ChangeHub, CancelledWaitersAreNotWokenAndIdleOnesAreSweptWithFalse) {
  ChangeHub hub;
  std::vector<bool> first, second;
  const auto h1 = hub.wait("a", 0, [&](bool changed) { first.push_back(changed); });
  hub.wait("a", 0, [&](bool changed) { second.push_back(changed); });
  hub.cancel(h1);
  hub.sweep(milliseconds(60000));
  EXPECT_TRUE(second.empty()) << "a waiter younger than `idle` stays";
  hub.sweep(milliseconds(0));
  EXPECT_TRUE(first.empty());
  EXPECT_EQ(second, std::vector<bool>{false});
  hub.notify({"a"});
  EXPECT_EQ(second.size(), 1U) << "a swept waiter is gone";
}

TEST(ChangeHub, HandsOutAtMostMaxStreamSlots) {
  ChangeHub hub;
  EXPECT_TRUE(hub.acquire(2));
  EXPECT_TRUE(hub.acquire(2));
  EXPECT_FALSE(hub.acquire(2));
  EXPECT_EQ(hub.streams(), 2U);
  hub.release();
  EXPECT_TRUE(hub.acquire(2));
  hub.release();
  hub.release();
  hub.release();  // one too many: stays at zero
  EXPECT_EQ(hub.streams(), 0U);
}

}  // namespace
}  // namespace hecs
