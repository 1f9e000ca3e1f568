// The project's MQTT client against a scripted peer. The happy paths run against real Mosquitto in
// tests/integration/sim_test.cpp; what a real broker never does (malformed packets, a refused
// CONNECT, a PINGRESP that never comes, PUBACKs withheld) needs FakeBroker.
#include "common/mqtt/client.h"

#include <atomic>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/fake_broker.h"

namespace hecs::mqtt {
namespace {
namespace asio = boost::asio;
using std::chrono::milliseconds;
using std::chrono::seconds;

using test::bytes;
using test::FakeBroker;

const std::string kConnackAccepted = bytes({0x20, 2, 0, 0});

struct Recorder : ClientEvents {
  int wills = 0, connects = 0, disconnects = 0;
  std::vector<std::string> messages;
  std::optional<mqtt::Will> will() override {
    return Will{"w/t", fmt::format("will {}", ++wills), 1, true};
  }
  void on_connected() override { ++connects; }
  void on_disconnected() override { ++disconnects; }
  void on_message(const Publish& m) override {
    messages.push_back(fmt::format("{} {}", m.topic, m.payload));
  }
};

class MqttClientTest : public ::testing::Test {
 protected:
  // Runs the client's loop while `script` drives the broker side; fails after 15 s.
  void run(const std::function<void()>& script) {
    std::atomic<bool> done{false};
    std::thread t([&] {
      script();
      done = true;
    });
    auto work = asio::make_work_guard(io_);  // keeps the loop running once the client is idle
    auto deadline = std::chrono::steady_clock::now() + seconds(15);
    while (!done && std::chrono::steady_clock::now() < deadline) {
      io_.run_for(milliseconds(10));
    }
    EXPECT_TRUE(done) << "script did not finish";
    broker_.close();  // unblocks a script still waiting
    t.join();
  }
  // From the script: runs `f` on the client's thread and waits for it (5 s at most, since the
  // loop stops running when run() gives up).
  void on_loop(const std::function<void()>& f) {
    auto ran = std::make_shared<std::atomic<bool>>(false);
    asio::post(io_, [f, ran] {
      f();
      *ran = true;
    });
    auto deadline = std::chrono::steady_clock::now() + seconds(5);
    while (!*ran && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(1));
    }
    EXPECT_TRUE(*ran) << "the client's loop is not running";
  }
  // From the script: true once `check`, evaluated on the client's thread, holds (5 s at most).
  bool eventually(const std::function<bool()>& check) {
    auto deadline = std::chrono::steady_clock::now() + seconds(5);
    for (;;) {
      bool ok = false;
      on_loop([&] { ok = check(); });
      if (ok || std::chrono::steady_clock::now() > deadline) {
        return ok;
      }
      std::this_thread::sleep_for(milliseconds(2));
    }
  }
  std::string connect_and_accept() {
    EXPECT_TRUE(broker_.accept());
    auto connect = broker_.read_packet();
    broker_.write(kConnackAccepted);
    return connect;
  }

  FakeBroker broker_;
  asio::io_context io_{1};
  ClientCounters counters_;
  ClientShared shared_{{broker_.endpoint()}, counters_};
  Recorder events_;
  Client client_{io_.get_executor(), shared_, events_, "dev-1", 1, "down/dev-1", 7};
};

TEST_F(MqttClientTest, ConnectsWithItsWillAndSubscribesToItsTopicAtQos1) {
  client_.start();
  run([&] {
    auto connect = connect_and_accept();
    mqtt::Will will{"w/t", "will 1", 1, true};
    std::string expected;
    ASSERT_TRUE(mqtt::append_connect(expected, {"dev-1", true, 1, &will}));
    EXPECT_EQ(connect, expected);
    auto subscribe = broker_.read_packet();
    std::string expected_subscribe;
    ASSERT_TRUE(mqtt::append_subscribe(expected_subscribe, 1, "down/dev-1", 1));
    EXPECT_EQ(subscribe, expected_subscribe);
    broker_.write(bytes({0x90, 3, 0, 1, 0x80}));  // refused
    EXPECT_TRUE(eventually([&] { return counters_.subscribe_failed == 1; }));
    on_loop([&] {
      EXPECT_EQ(events_.connects, 1);
      EXPECT_EQ(counters_.connected, 1u);
      EXPECT_EQ(counters_.connections, 1u);
    });
  });
}

TEST_F(MqttClientTest, CountsARefusedConnectAndTriesAgainWithANewWill) {
  client_.start();
  run([&] {
    ASSERT_TRUE(broker_.accept());
    EXPECT_NE(broker_.read_packet().find("will 1"), std::string::npos);
    broker_.write(bytes({0x20, 2, 0, 5}));  // not authorized
    EXPECT_TRUE(broker_.closed_by_peer());
    ASSERT_TRUE(broker_.accept());  // after the backoff: 0.5 to 1 s
    EXPECT_NE(broker_.read_packet().find("will 2"), std::string::npos);
  });
  EXPECT_EQ(counters_.connect_refused, 1u);
  EXPECT_EQ(events_.connects, 0);
  EXPECT_EQ(events_.wills, 2);
}

TEST_F(MqttClientTest, ClosesTheConnectionOnAMalformedPacketAndReconnects) {
  client_.start();
  run([&] {
    connect_and_accept();
    broker_.read_packet();                     // SUBSCRIBE
    broker_.write(bytes({0x40, 3, 0, 1, 0}));  // PUBACK one byte too long
    EXPECT_TRUE(broker_.closed_by_peer());
    EXPECT_TRUE(eventually([&] { return events_.disconnects == 1; }));
    EXPECT_TRUE(broker_.accept());
  });
  EXPECT_EQ(counters_.protocol_errors, 1u);
  EXPECT_EQ(events_.connects, 1);
  EXPECT_EQ(events_.disconnects, 1);
  EXPECT_EQ(counters_.connected, 0u);
}

TEST_F(MqttClientTest, SendsPingreqWhenIdleAndDropsTheLinkWhenNoPingrespComes) {
  client_.start();
  run([&] {
    connect_and_accept();
    broker_.read_packet();                                         // SUBSCRIBE, unanswered
    EXPECT_EQ(broker_.read_packet(seconds(3)), bytes({0xc0, 0}));  // after 1 s of keepalive
    EXPECT_TRUE(broker_.closed_by_peer(seconds(3)));               // one keepalive later
    EXPECT_TRUE(eventually([&] { return events_.disconnects == 1; }));
  });
  EXPECT_EQ(counters_.ping_timeouts, 1u);
  EXPECT_EQ(events_.disconnects, 1);
}

TEST_F(MqttClientTest, KeepsALinkWhosePingsAreAnswered) {
  client_.start();
  run([&] {
    connect_and_accept();
    broker_.read_packet();  // SUBSCRIBE
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(broker_.read_packet(seconds(3)), bytes({0xc0, 0}));
      broker_.write(bytes({0xd0, 0}));
    }
    on_loop([&] { EXPECT_TRUE(client_.connected()); });
  });
  EXPECT_EQ(counters_.ping_timeouts, 0u);
  EXPECT_EQ(events_.disconnects, 0);
}

TEST_F(MqttClientTest, RefusesQos1PublishesBeyondTheInFlightWindow) {
  client_.start();
  run([&] {
    connect_and_accept();
    broker_.read_packet();  // SUBSCRIBE
    on_loop([&] {
      ASSERT_TRUE(client_.connected());
      for (std::size_t i = 0; i < shared_.max_in_flight; ++i) {
        EXPECT_TRUE(client_.publish("up", "m", 1, false)) << i;
      }
      auto refused = client_.publish("up", "m", 1, false);
      ASSERT_FALSE(refused);
      EXPECT_EQ(refused.error().code, Errc::unavailable);
      EXPECT_TRUE(client_.publish("up", "qos0 needs no window", 0, false));
    });
    // Packet ids 2.. (1 went to SUBSCRIBE); acknowledge the first publish.
    auto first = broker_.read_packet();
    ASSERT_EQ(first.substr(0, 6), bytes({0x32, 7, 0, 2, 'u', 'p'}));
    broker_.write(bytes({0x40, 2, first[6], first[7]}));
    broker_.write(bytes({0x40, 2, 0x7f, 0x7f}));  // an id never sent: ignored
    ASSERT_TRUE(eventually([&] { return counters_.puback_received == 1; }));
    on_loop([&] {
      EXPECT_TRUE(client_.publish("up", "room for one", 1, false));
      EXPECT_FALSE(client_.publish("up", "and no more", 1, false));
      EXPECT_EQ(counters_.puback_received, 1u);
    });
  });
}

TEST_F(MqttClientTest, AcknowledgesAQos1PublishAndHandsItOver) {
  client_.start();
  run([&] {
    connect_and_accept();
    broker_.read_packet();  // SUBSCRIBE
    std::string publish;
    ASSERT_TRUE(mqtt::append_publish(publish, "down/dev-1", "{\"type\":\"ack\"}", 1, false, 9));
    broker_.write(publish);
    EXPECT_EQ(broker_.read_packet(), bytes({0x40, 2, 0, 9}));
    EXPECT_TRUE(eventually([&] { return events_.messages.size() == 1; }));
  });
  ASSERT_EQ(events_.messages.size(), 1u);
  EXPECT_EQ(events_.messages[0], "down/dev-1 {\"type\":\"ack\"}");
}

TEST_F(MqttClientTest, ReassemblesAPacketThatArrivesInPieces) {
  client_.start();
  run([&] {
    connect_and_accept();
    broker_.read_packet();  // SUBSCRIBE
    std::string publish;
    ASSERT_TRUE(mqtt::append_publish(publish, "down/dev-1", std::string(200, 'p'), 0, false, 0));
    for (std::size_t i = 0; i < publish.size(); ++i) {
      broker_.write(publish.substr(i, 1));
      // Each piece read on its own, the packet has to be put together.
      ASSERT_TRUE(eventually([&] { return true; }));
    }
    EXPECT_TRUE(eventually([&] { return events_.messages.size() == 1; }));
  });
  ASSERT_EQ(events_.messages.size(), 1u);
  EXPECT_EQ(events_.messages[0], "down/dev-1 " + std::string(200, 'p'));
  EXPECT_EQ(counters_.protocol_errors, 0u);
}

TEST_F(MqttClientTest, StopWritesWhatIsQueuedThenDisconnects) {
  client_.start();
  bool stopped = false;
  run([&] {
    connect_and_accept();
    broker_.read_packet();  // SUBSCRIBE
    on_loop([&] {
      EXPECT_TRUE(client_.publish("up/status", "offline", 1, true));
      client_.stop([&] { stopped = true; });
    });
    EXPECT_EQ(broker_.read_packet()[0], '\x33');  // PUBLISH, QoS 1, retained
    EXPECT_EQ(broker_.read_packet(), bytes({0xe0, 0}));
    EXPECT_TRUE(broker_.closed_by_peer());
    EXPECT_TRUE(eventually([&] { return stopped; }));
  });
  EXPECT_EQ(counters_.connected, 0u);
  EXPECT_EQ(events_.disconnects, 0);
}

// S23: a hostile broker announces a packet of 200 MB. The client refuses it from its fixed
// header, before buffering any of it (libmosquitto's client would allocate it all).
TEST_F(MqttClientTest, RefusesAPacketAnnouncedBeyondItsLimitBeforeReadingIt) {
  client_.start();
  run([&] {
    connect_and_accept();
    broker_.read_packet();  // SUBSCRIBE
    std::string header = bytes({0x30});
    ASSERT_TRUE(append_remaining_length(header, 200'000'000));
    broker_.write(header);
    EXPECT_TRUE(eventually([&] { return counters_.protocol_errors == 1; }));
    // Whatever follows is never read: the link is closed while the body would still be coming.
    broker_.try_write(std::string(std::size_t{1} << 20, '\0'), milliseconds(200));
    EXPECT_TRUE(broker_.closed_by_peer());
    EXPECT_TRUE(broker_.accept()) << "no reconnection";
  });
  EXPECT_EQ(events_.disconnects, 1);
  EXPECT_TRUE(events_.messages.empty());
}

// S23: a QoS 2 PUBLISH is never subscribed to here, so it ends the link at once: nothing waits
// for a PUBREL, however many a broker sends.
TEST_F(MqttClientTest, DropsALinkThatSendsAQos2Publish) {
  client_.start();
  run([&] {
    connect_and_accept();
    broker_.read_packet();  // SUBSCRIBE
    std::string flood;
    for (int id = 1; id <= 1000; ++id) {
      flood += bytes({0x34, 7, 0, 3, 'a', '/', 'b', id >> 8, id & 0xff});
    }
    broker_.try_write(flood, milliseconds(200));
    EXPECT_TRUE(broker_.closed_by_peer());
    EXPECT_TRUE(broker_.accept()) << "no reconnection";
  });
  EXPECT_EQ(counters_.protocol_errors, 1u);
  EXPECT_TRUE(events_.messages.empty());
}

// S23, CVE-2024-10525: a SUBACK without a return code is malformed, not an empty grant.
TEST_F(MqttClientTest, DropsALinkWhoseSubackHasNoReturnCode) {
  client_.start();
  run([&] {
    connect_and_accept();
    broker_.read_packet();                  // SUBSCRIBE, packet id 1
    broker_.write(bytes({0x90, 2, 0, 1}));  // SUBACK with no return code
    EXPECT_TRUE(broker_.closed_by_peer());
    EXPECT_TRUE(broker_.accept()) << "no reconnection";
  });
  EXPECT_EQ(counters_.protocol_errors, 1u);
  EXPECT_EQ(counters_.subscribe_failed, 0u);
}

TEST_F(MqttClientTest, DropsALinkWhosePublishTopicRunsPastThePacket) {
  client_.start();
  run([&] {
    connect_and_accept();
    broker_.read_packet();                              // SUBSCRIBE
    broker_.write(bytes({0x30, 4, 0, 200, 'a', 'b'}));  // topic of 200 bytes in 2
    EXPECT_TRUE(broker_.closed_by_peer());
  });
  EXPECT_EQ(counters_.protocol_errors, 1u);
  EXPECT_TRUE(events_.messages.empty());
}

// Certificate renewal: DISCONNECT (so the broker drops the will), then a new connection at once,
// without the backoff of a lost link.
TEST_F(MqttClientTest, ReconnectsAtOnceWithANewIdentityAfterACleanDisconnect) {
  client_.start();
  run([&] {
    connect_and_accept();
    broker_.read_packet();  // SUBSCRIBE
    on_loop([&] { client_.reconnect_with(nullptr); });
    EXPECT_EQ(broker_.read_packet(), bytes({0xe0, 0}));
    auto started = std::chrono::steady_clock::now();
    EXPECT_TRUE(broker_.accept());
    EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(400));
    EXPECT_EQ(broker_.read_packet()[0], '\x10');  // CONNECT
  });
  EXPECT_EQ(events_.disconnects, 1);
  EXPECT_EQ(events_.wills, 2);
  EXPECT_EQ(counters_.protocol_errors, 0u);
}

}  // namespace
}  // namespace hecs::mqtt
