// The ack queue: order, merging per device, the message size limit, the low-priority thread,
// holding acks through a burst, and the bound on how long an ack waits.
#include "control/devices/acks.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/clock.h"
#include "proto/proto.h"
#include "support/io_loop.h"
#include "support/process.h"

namespace hecs::control::devices {
namespace {
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace): test durations
using Clock = std::chrono::steady_clock;

struct Sent {
  std::string device;
  std::vector<std::string> ids;
  pid_t thread = 0;
};

// The nice value of one of our threads: field 19 of /proc/self/task/TID/stat.
int nice_of(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));  // the name may hold spaces
  std::string field;
  for (int i = 3; i <= 19; ++i) {
    fields >> field;
  }
  return std::stoi(field);
}

std::string name_of(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

class Acks : public ::testing::Test {
 protected:
  AckQueue::SendFn recorder(bool succeed = true) {
    return [this, succeed](const std::string& device, boost::json::object body) {
      auto ack = proto::parse_ack(body);
      EXPECT_TRUE(ack) << (ack ? "" : ack.error().message);
      std::lock_guard lock(mutex_);
      sent_.push_back(Sent{device, ack ? ack->ids : std::vector<std::string>{},
                           static_cast<pid_t>(syscall(SYS_gettid))});
      return succeed;
    };
  }

  std::vector<Sent> sent() {
    std::lock_guard lock(mutex_);
    return sent_;
  }

  // A clock the test moves by hand.
  AckQueue::Now manual_clock() {
    return [this] { return Clock::time_point(Clock::duration(now_.load())); };
  }
  void advance(Clock::duration d) { now_ += d.count(); }

  std::uint64_t counter(const std::string& name) { return metrics_.counter(name, "").value(); }

  static std::vector<std::string> ids(int count) {
    std::vector<std::string> out;
    for (int i = 0; i < count; ++i) {
      out.push_back(random_uuid());
    }
    return out;
  }

  metrics::Registry metrics_;
  std::mutex mutex_;
  std::vector<Sent> sent_;
  std::atomic<Clock::rep> now_{Clock::duration(1h).count()};
  test::IoLoop loop_;  // after what its work uses
  boost::asio::io_context& io_ = loop_.io();
  boost::asio::thread_pool& workers_ = loop_.workers();
};

constexpr const char* kA = "device-a";
constexpr const char* kB = "device-b";

TEST_F(Acks, WaitUpToMaxLagThenGoInArrivalOrderOneMessagePerDevice) {
  AckOptions options;
  options.background = false;
  options.max_lag = 2s;
  AckQueue acks(io_, workers_, metrics_, recorder(), options, manual_clock());
  const auto a1 = ids(2);
  const auto b = ids(1);
  const auto a2 = ids(1);
  acks.add(kA, a1);
  advance(1s);
  acks.add(kB, b);
  acks.add(kA, a2);  // joins device-a's waiting ack, at its place
  EXPECT_EQ(acks.pending(), 4U);

  advance(999ms);
  EXPECT_EQ(acks.send_overdue(), 0U) << "device-a's ack has waited 1.999 s of 2";
  EXPECT_TRUE(sent().empty());

  advance(1ms);
  EXPECT_EQ(acks.send_overdue(), 1U);
  ASSERT_EQ(sent().size(), 1U);
  EXPECT_EQ(sent()[0].device, kA);
  EXPECT_EQ(sent()[0].ids, (std::vector<std::string>{a1[0], a1[1], a2[0]}));
  EXPECT_EQ(acks.pending(), 1U);

  advance(1s);
  EXPECT_EQ(acks.send_overdue(), 1U);
  ASSERT_EQ(sent().size(), 2U);
  EXPECT_EQ(sent()[1].device, kB);
  EXPECT_EQ(sent()[1].ids, b);
  EXPECT_EQ(acks.pending(), 0U);
  EXPECT_EQ(counter("hecs_acks_sent_total"), 2U);
  EXPECT_EQ(counter("hecs_acks_overdue_total"), 2U);
}

TEST_F(Acks, MoreIdsThanOneAckHoldsGoInSeveralMessages) {
  AckOptions options;
  options.background = false;
  AckQueue acks(io_, workers_, metrics_, recorder(), options, manual_clock());
  const auto all = ids(static_cast<int>(2 * proto::kMaxAckIds + 500));
  acks.add(kA, std::vector<std::string>(all.begin(), all.begin() + 1500));
  acks.add(kA, std::vector<std::string>(all.begin() + 1500, all.end()));
  advance(options.max_lag);
  EXPECT_EQ(acks.send_overdue(), 1U);
  auto messages = sent();
  ASSERT_EQ(messages.size(), 3U);
  std::vector<std::string> got;
  for (const auto& m : messages) {
    EXPECT_EQ(m.device, kA);
    EXPECT_LE(m.ids.size(), proto::kMaxAckIds);
    got.insert(got.end(), m.ids.begin(), m.ids.end());
  }
  EXPECT_EQ(got, all);
  EXPECT_EQ(counter("hecs_acks_sent_total"), 3U);
}

TEST_F(Acks, TheBackgroundThreadSendsAtOnceAtTheLowestPriority) {
  AckQueue acks(io_, workers_, metrics_, recorder(), AckOptions{}, manual_clock());
  const int base = nice_of(getpid());
  acks.start();
  const auto a = ids(3);
  acks.add(kA, a);
  // The manual clock never moves: only the background thread can send it.
  ASSERT_TRUE(test::wait_until([&] { return sent().size() == 1; }, 5s));
  const auto first = sent()[0];
  EXPECT_EQ(first.ids, a);
  EXPECT_NE(first.thread, static_cast<pid_t>(syscall(SYS_gettid)));
  EXPECT_EQ(nice_of(first.thread), 19);
  EXPECT_EQ(name_of(first.thread), "hecs-acks");
  EXPECT_EQ(nice_of(getpid()), base) << "the rest of the process keeps its nice";
  EXPECT_EQ(counter("hecs_acks_overdue_total"), 0U);
  EXPECT_TRUE(test::wait_until([&] { return acks.pending() == 0; }, 5s));
  acks.stop();
}

TEST_F(Acks, DuringABurstOfArrivalsTheThreadHoldsAcksUntilItPasses) {
  AckOptions options;  // bursts: more than 100 arrivals in 100 ms
  AckQueue acks(io_, workers_, metrics_, recorder(), options, manual_clock());
  acks.start();
  for (int i = 0; i < 101; ++i) {
    acks.arrived();
  }
  const auto a = ids(1);
  acks.add(kA, a);
  std::this_thread::sleep_for(150ms);  // the thread looks again every 10 ms
  EXPECT_TRUE(sent().empty()) << "sent during the burst";
  advance(100ms);  // the burst is in the last window: still one
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(sent().empty()) << "sent one window after the burst";
  advance(100ms);  // two windows later, nothing arrived since
  ASSERT_TRUE(test::wait_until([&] { return sent().size() == 1; }, 5s));
  EXPECT_EQ(sent()[0].ids, a);
  EXPECT_EQ(name_of(sent()[0].thread), "hecs-acks");
  EXPECT_EQ(counter("hecs_acks_overdue_total"), 0U);
  acks.stop();
}

TEST_F(Acks, ABurstThatGoesOnHoldsAnAckNoLongerThanMaxLag) {
  AckOptions options;
  options.max_lag = 2s;
  AckQueue acks(io_, workers_, metrics_, recorder(), options, manual_clock());
  acks.start();
  auto burst = [&] {
    for (int i = 0; i < 101; ++i) {
      acks.arrived();
    }
  };
  burst();
  acks.add(kA, ids(1));
  for (int step = 1; step < 20; ++step) {  // 1.9 s of burst
    advance(100ms);
    burst();
    std::this_thread::sleep_for(15ms);
  }
  EXPECT_TRUE(sent().empty()) << "sent during the burst, before max_lag";
  advance(100ms);
  burst();
  EXPECT_TRUE(test::wait_until([&] { return sent().size() == 1; }, 5s)) << "held beyond max_lag";
  acks.stop();
}

TEST_F(Acks, ArrivalsAtOrBelowTheBurstRateHoldNothing) {
  AckQueue acks(io_, workers_, metrics_, recorder(), AckOptions{}, manual_clock());
  acks.start();
  for (int i = 0; i < 100; ++i) {
    acks.arrived();
  }
  acks.add(kA, ids(1));
  EXPECT_TRUE(test::wait_until([&] { return sent().size() == 1; }, 5s));
  acks.stop();
}

TEST_F(Acks, TheTimerSendsOverdueAcksFromTheWorkersWhenTheThreadCannot) {
  AckOptions options;
  options.background = false;  // as a thread that never gets the CPU
  options.max_lag = 200ms;
  AckQueue acks(io_, workers_, metrics_, recorder(), options);
  const int base = nice_of(getpid());
  acks.start();
  const auto started = Clock::now();
  const auto a = ids(1);
  acks.add(kA, a);
  ASSERT_TRUE(test::wait_until([&] { return sent().size() == 1; }, 5s));
  const auto waited = Clock::now() - started;
  EXPECT_GE(waited, 200ms);
  EXPECT_EQ(sent()[0].ids, a);
  EXPECT_NE(name_of(sent()[0].thread), "hecs-acks");
  EXPECT_EQ(nice_of(sent()[0].thread), base);
  EXPECT_EQ(counter("hecs_acks_overdue_total"), 1U);
  acks.stop();
}

TEST_F(Acks, StopDropsWhatWaitsAndNothingIsSentAfterIt) {
  AckOptions options;
  options.background = false;
  AckQueue acks(io_, workers_, metrics_, recorder(), options, manual_clock());
  acks.add(kA, ids(2));
  acks.stop();
  EXPECT_EQ(acks.pending(), 0U);
  acks.add(kB, ids(1));
  EXPECT_EQ(acks.pending(), 0U);
  advance(1h);
  EXPECT_EQ(acks.send_overdue(), 0U);
  EXPECT_TRUE(sent().empty());
  acks.stop();  // twice: nothing happens
}

TEST_F(Acks, AnAckTheBrokerDidNotTakeIsNotCountedAsSent) {
  AckOptions options;
  options.background = false;
  AckQueue acks(io_, workers_, metrics_, recorder(false), options, manual_clock());
  acks.add(kA, ids(1));
  advance(options.max_lag);
  EXPECT_EQ(acks.send_overdue(), 1U);
  EXPECT_EQ(sent().size(), 1U);
  EXPECT_EQ(counter("hecs_acks_sent_total"), 0U);
  EXPECT_EQ(acks.pending(), 0U) << "dropped, not retried: the agent sends its message again";
}

TEST_F(Acks, ManyThreadsAddingWhileTheThreadSendsLoseNoId) {
  AckQueue acks(io_, workers_, metrics_, recorder(), AckOptions{});
  acks.start();
  std::vector<std::thread> adders;
  std::vector<std::vector<std::string>> added(4);
  for (int t = 0; t < 4; ++t) {
    adders.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        auto one = ids(1);
        added[t].push_back(one[0]);
        acks.add(i % 2 == 0 ? kA : kB, std::move(one));
      }
    });
  }
  for (auto& t : adders) {
    t.join();
  }
  ASSERT_TRUE(test::wait_until([&] { return acks.pending() == 0; }, 10s)) << acks.pending();
  acks.stop();
  std::vector<std::string> want, got;
  for (const auto& a : added) {
    want.insert(want.end(), a.begin(), a.end());
  }
  for (const auto& s : sent()) {
    got.insert(got.end(), s.ids.begin(), s.ids.end());
  }
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace hecs::control::devices
