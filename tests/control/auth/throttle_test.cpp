// Login throttling (S39) and the client address it counts by.
#include <string>

#include <gtest/gtest.h>

#include "control/auth/auth.h"

namespace hecs::control::auth {
namespace {

constexpr std::int64_t kStart = 1'800'000'000'000;
constexpr std::int64_t kSecond = 1000;
constexpr std::int64_t kWindow = kSecond * 15 * 60;  // the default

TEST(LoginThrottle, LetsAnAccountTryFourTimesAndHoldsTheFifthFailureForTheWindow) {
  LoginThrottle throttle;
  for (int i = 0; i < 4; ++i) {
    throttle.failed("ann", "203.0.113.7", kStart + i * kSecond);
    EXPECT_FALSE(throttle.retry_after_s("ann", "203.0.113.7", kStart + i * kSecond)) << i;
  }
  throttle.failed("ann", "203.0.113.7", kStart + 4 * kSecond);
  const std::int64_t now = kStart + 5 * kSecond;
  auto wait = throttle.retry_after_s("ann", "203.0.113.7", now);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, (kStart + kWindow - now) / 1000) << "until the first failure leaves";
  EXPECT_TRUE(throttle.retry_after_s("ann", "198.51.100.9", now)) << "from any address";
  EXPECT_FALSE(throttle.retry_after_s("bob", "203.0.113.7", now)) << "another account";
}

TEST(LoginThrottle, FreesTheAccountWhenTheOldestCountedFailureLeavesTheWindow) {
  LoginThrottle throttle;
  for (int i = 0; i < 5; ++i) {
    throttle.failed("ann", "203.0.113.7", kStart + kSecond * 60 * i);
  }
  auto just_before = throttle.retry_after_s("ann", "203.0.113.7", kStart + kWindow - 1);
  ASSERT_TRUE(just_before);
  EXPECT_EQ(*just_before, 1) << "rounded up, never 0";
  EXPECT_FALSE(throttle.retry_after_s("ann", "203.0.113.7", kStart + kWindow));
  // One more failure now: five within the window again.
  throttle.failed("ann", "203.0.113.7", kStart + kWindow);
  auto again = throttle.retry_after_s("ann", "203.0.113.7", kStart + kWindow);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 60) << "until the second failure leaves";
}

TEST(LoginThrottle, ASuccessClearsTheAccount) {
  LoginThrottle throttle;
  for (int i = 0; i < 5; ++i) {
    throttle.failed("ann", "203.0.113.7", kStart);
  }
  ASSERT_TRUE(throttle.retry_after_s("ann", "203.0.113.7", kStart));
  throttle.succeeded("ann");
  EXPECT_FALSE(throttle.retry_after_s("ann", "203.0.113.7", kStart));
  throttle.failed("ann", "203.0.113.7", kStart);
  EXPECT_FALSE(throttle.retry_after_s("ann", "203.0.113.7", kStart)) << "counting from zero";
}

TEST(LoginThrottle, HoldsAnAddressThatFailsForManyAccounts) {
  LoginThrottle throttle;
  for (int i = 0; i < 19; ++i) {
    throttle.failed("user-" + std::to_string(i), "203.0.113.7", kStart);
  }
  EXPECT_FALSE(throttle.retry_after_s("someone", "203.0.113.7", kStart));
  throttle.failed("user-19", "203.0.113.7", kStart);
  auto wait = throttle.retry_after_s("someone", "203.0.113.7", kStart + kSecond);
  ASSERT_TRUE(wait) << "twenty failures from one address, one per account";
  EXPECT_EQ(*wait, (kWindow - kSecond) / 1000);
  EXPECT_FALSE(throttle.retry_after_s("someone", "198.51.100.9", kStart)) << "another address";
  throttle.succeeded("user-0");
  EXPECT_TRUE(throttle.retry_after_s("someone", "203.0.113.7", kStart))
      << "one account's success does not clear the address";
  EXPECT_FALSE(throttle.retry_after_s("someone", "203.0.113.7", kStart + kWindow));
}

TEST(LoginThrottle, ReportsTheLongerOfTheTwoWaits) {
  LoginThrottle::Limits limits;
  limits.per_account = 2;
  limits.per_source = 2;
  LoginThrottle throttle(limits);
  throttle.failed("ann", "203.0.113.7", kStart);
  throttle.failed("bob", "203.0.113.7", kStart + 100 * kSecond);
  throttle.failed("ann", "198.51.100.9", kStart + 200 * kSecond);
  // ann (failures at 0 and 200 s) and 203.0.113.7 (0 and 100 s) are both held by their
  // failure at 0.
  auto wait = throttle.retry_after_s("ann", "203.0.113.7", kStart + 300 * kSecond);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, (kWindow - 300 * kSecond) / 1000);
  throttle.failed("carl", "198.51.100.9", kStart + 400 * kSecond);
  auto longer = throttle.retry_after_s("ann", "198.51.100.9", kStart + 400 * kSecond);
  ASSERT_TRUE(longer);
  EXPECT_EQ(*longer, (kWindow - 200 * kSecond) / 1000) << "the address, held from +200 s";
}

TEST(LoginThrottle, KeepsAtMostMaxEntriesAndForgetsTheStalestFirst) {
  LoginThrottle::Limits limits;
  limits.per_account = 1;
  limits.per_source = 1000;
  limits.max_entries = 3;
  LoginThrottle throttle(limits);
  throttle.failed("a1", "s", kStart + 1);
  throttle.failed("a2", "s", kStart + 2);
  throttle.failed("a3", "s", kStart + 3);
  const std::int64_t now = kStart + 10;
  EXPECT_TRUE(throttle.retry_after_s("a1", "s", now));
  throttle.failed("a4", "s", kStart + 4);  // full: a1, the stalest, goes
  EXPECT_FALSE(throttle.retry_after_s("a1", "s", now));
  EXPECT_TRUE(throttle.retry_after_s("a2", "s", now));
  EXPECT_TRUE(throttle.retry_after_s("a3", "s", now));
  EXPECT_TRUE(throttle.retry_after_s("a4", "s", now));
  throttle.failed("a2", "s", kStart + 5);  // a2 is fresh again: a3 is now the stalest
  throttle.failed("a5", "s", kStart + 6);
  EXPECT_FALSE(throttle.retry_after_s("a3", "s", now));
  EXPECT_TRUE(throttle.retry_after_s("a2", "s", now));
}

TEST(LoginThrottle, StaysBoundedUnderAFloodOfAccountsAndAddresses) {
  LoginThrottle::Limits limits;
  limits.max_entries = 100;
  LoginThrottle throttle(limits);
  for (int i = 0; i < 10'000; ++i) {
    throttle.failed("user-" + std::to_string(i),
                    "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), kStart + i);
  }
  // The newest entries are still counted; the flood did not stop the throttle working.
  for (int i = 0; i < 4; ++i) {
    throttle.failed("victim", "192.0.2.1", kStart + 10'000);
  }
  throttle.failed("victim", "192.0.2.1", kStart + 10'001);
  EXPECT_TRUE(throttle.retry_after_s("victim", "192.0.2.2", kStart + 10'002));
}

TEST(SourceAddress, TakesTheAddressOutOfAHostAndPort) {
  EXPECT_EQ(source_address("203.0.113.7:51234"), "203.0.113.7");
  EXPECT_EQ(source_address("[2001:db8::1]:443"), "2001:db8::1");
  EXPECT_EQ(source_address("[::1]:8080"), "::1");
  EXPECT_EQ(source_address("[2001:db8::1]"), "2001:db8::1");
}

TEST(SourceAddress, KeepsABareAddressOrNameAsItIs) {
  EXPECT_EQ(source_address("203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(source_address("2001:db8::1"), "2001:db8::1") << "colons, but no port";
  EXPECT_EQ(source_address("::1"), "::1");
  EXPECT_EQ(source_address("unix"), "unix");
  EXPECT_EQ(source_address(""), "");
}

}  // namespace
}  // namespace hecs::control::auth
