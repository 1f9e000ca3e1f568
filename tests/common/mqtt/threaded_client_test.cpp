// The threaded MQTT client's URL and TLS options, and the TLS path of the project's client
// against the real Mosquitto in the production configuration (tests/support/mosquitto, TLS mode).
#include "common/mqtt/threaded_client.h"

#include <algorithm>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>

#include "common/clock.h"
#include "common/crypto/crypto.h"
#include "common/log.h"
#include "support/mosquitto.h"
#include "support/process.h"

namespace hecs::mqtt {
namespace {
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace): test durations

using net::MqttTls;
using net::parse_mqtt_url;

TEST(ParseMqttUrl, TellsPlainFromTlsWithTheirDefaultPorts) {
  auto plain = parse_mqtt_url("mqtt://broker.example");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->port, 1883);
  auto tls = parse_mqtt_url("mqtts://broker.example");
  ASSERT_TRUE(tls);
  EXPECT_TRUE(tls->tls);
  EXPECT_EQ(tls->port, 8883);
  auto tls_port = parse_mqtt_url("mqtts://10.0.0.1:18883/");
  ASSERT_TRUE(tls_port);
  EXPECT_TRUE(tls_port->tls);
  EXPECT_EQ(tls_port->host, "10.0.0.1");
  EXPECT_EQ(tls_port->port, 18883);
  auto bare = parse_mqtt_url("broker:1884");
  ASSERT_TRUE(bare);
  EXPECT_FALSE(bare->tls);
  EXPECT_FALSE(parse_mqtt_url("ws://broker:80"));
  EXPECT_FALSE(parse_mqtt_url("mqtts://"));
}

Errc create_error(ThreadedOptions options) {
  boost::asio::io_context io;
  options.client_id = "c";
  auto client = ThreadedClient::create(io, std::move(options));
  return client ? Errc::internal : client.error().code;
}

TEST(MqttClientOptions, RefuseTlsThatIsAskedForButNotConfiguredOrTheOtherWayRound) {
  test::TempDir dir("mqtt-options");
  auto ca = (dir.path() / "ca.pem").string();
  auto authority = crypto::CertificateAuthority::create("test CA", 0, 4102444800);
  ASSERT_TRUE(authority);
  std::ofstream(ca) << authority->cert_pem();
  auto junk = (dir.path() / "junk.pem").string();
  std::ofstream(junk) << "not a certificate\n";
  ThreadedOptions no_ca;
  no_ca.url = "mqtts://127.0.0.1";
  EXPECT_EQ(create_error(no_ca), Errc::invalid_input);
  ThreadedOptions empty_ca = no_ca;
  empty_ca.tls = MqttTls{};
  EXPECT_EQ(create_error(empty_ca), Errc::invalid_input);
  ThreadedOptions plain_with_tls;
  plain_with_tls.url = "mqtt://127.0.0.1";
  plain_with_tls.tls = MqttTls{ca, "", ""};
  EXPECT_EQ(create_error(plain_with_tls), Errc::invalid_input);
  ThreadedOptions missing = no_ca;
  missing.tls = MqttTls{(dir.path() / "absent.pem").string(), "", ""};
  EXPECT_EQ(create_error(missing), Errc::invalid_input);
  ThreadedOptions cert_without_key = no_ca;
  cert_without_key.tls = MqttTls{ca, ca, ""};
  EXPECT_EQ(create_error(cert_without_key), Errc::invalid_input);
  ThreadedOptions junk_ca = no_ca;  // the files are read at create, not at the first connection
  junk_ca.tls = MqttTls{junk, "", ""};
  EXPECT_EQ(create_error(junk_ca), Errc::invalid_input);
  ThreadedOptions fine = no_ca;
  fine.tls = MqttTls{ca, "", ""};
  EXPECT_EQ(create_error(fine), Errc::internal);  // created
}

class MqttClientTls : public ::testing::Test {
 protected:
  void SetUp() override {
    sink_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256);
    log::get("mqtt")->sinks().push_back(sink_);
    broker_ = test::Mosquitto::start_tls();
    control_cert_ = broker_->issue_client("hecs-control");
    device_ = broker_->issue_client(random_uuid());
  }
  void TearDown() override {
    auto& sinks = log::get("mqtt")->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  int logged_count(const std::string& what) const {
    int n = 0;
    for (const auto& line : sink_->last_formatted()) {
      n += line.find(what) != std::string::npos ? 1 : 0;
    }
    return n;
  }
  bool logged(const std::string& what) const { return logged_count(what) > 0; }
  std::string down(const std::string& leaf) const {
    return "hecs/v1/dev/" + device_.common_name + "/down/" + leaf;
  }
  std::string up(const std::string& leaf) const {
    return "hecs/v1/dev/" + device_.common_name + "/up/" + leaf;
  }

  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::unique_ptr<test::Mosquitto> broker_;
  test::ClientCert control_cert_, device_;
};

TEST_F(MqttClientTls, ReceivesABurstAndALargeMessageWithoutStalling) {
  test::TestMqttClient control(*broker_, control_cert_);
  test::TestMqttClient device(*broker_, device_, true, {down("#")});
  ASSERT_TRUE(control.wait_connected());
  ASSERT_TRUE(test::wait_until(
      [&] { return control.publish(down("probe"), "p") && device.received(down("probe"), "p"); },
      4s));
  // Many small packets and one spanning many TLS records: bytes OpenSSL already decrypted must
  // be read without waiting for the socket, or the tail would stall until a keepalive.
  constexpr int kBurst = 500;
  for (int i = 0; i < kBurst; ++i) {
    ASSERT_TRUE(control.client().publish(down("burst"), std::to_string(i), 1, false));
  }
  std::string large(std::size_t{512} * 1024, 'x');
  ASSERT_TRUE(control.publish(down("large"), large));
  EXPECT_TRUE(test::wait_until([&] { return device.count_on(down("burst")) == kBurst; }, 4s))
      << device.count_on(down("burst"));
  EXPECT_TRUE(device.wait_received(down("large"), large));
}

TEST_F(MqttClientTls, VerifiesTheBrokerByNameAgainstItsCa) {
  boost::asio::io_context io;
  ThreadedOptions options;
  options.url = "mqtts://localhost:" + std::to_string(broker_->port());
  options.client_id = device_.common_name;
  options.tls =
      MqttTls{broker_->ca_file().string(), device_.cert_file.string(), device_.key_file.string()};
  auto by_name = ThreadedClient::create(io, options);
  ASSERT_TRUE(by_name);
  bool connected = false;
  (*by_name)->on_connect = [&] {
    connected = true;
    io.stop();
  };
  (*by_name)->start();
  io.run_for(4s);
  EXPECT_TRUE(connected);

  // A broker certificate from another CA is refused, with the reason in our log.
  auto other = crypto::CertificateAuthority::create("other CA", 0, 4102444800);
  ASSERT_TRUE(other);
  test::TempDir dir("mqtt-other-ca");
  auto other_ca = dir.path() / "other-ca.pem";
  std::ofstream(other_ca) << other->cert_pem();
  options.tls->ca_file = other_ca.string();
  boost::asio::io_context io2;
  auto refused = ThreadedClient::create(io2, options);
  ASSERT_TRUE(refused);
  bool refused_connected = false;
  (*refused)->on_connect = [&] { refused_connected = true; };
  (*refused)->start();
  io2.run_for(1500ms);
  EXPECT_FALSE(refused_connected);
  EXPECT_TRUE(logged("mqtt.tls_refused")) << "no tls_refused line";
  EXPECT_TRUE(logged("peer certificate refused"));
}

TEST_F(MqttClientTls, KeepsRetryingWithBackoffWhileTheBrokerRefusesItsCertificate) {
  auto expired =
      broker_->issue_client(device_.common_name, {.valid_from_s = -7200, .valid_until_s = -3600});
  test::TestMqttClient device(*broker_, expired);
  auto attempts = [&] {
    auto log = broker_->log_text();
    int n = 0;
    for (auto at = log.find("New connection from"); at != std::string::npos;
         at = log.find("New connection from", at + 1)) {
      ++n;
    }
    return n;
  };
  auto before = attempts();
  EXPECT_TRUE(test::wait_until([&] { return attempts() >= before + 3; }, 4s));
  EXPECT_FALSE(device.client().connected());
  // Each refusal is logged at warn. Its reason is the broker's alert ("certificate expired")
  // when we read it in time; when our CONNECT meets the closed socket first, the reset
  // discards the alert and the line says "closed during tls setup".
  EXPECT_TRUE(test::wait_until([&] { return logged_count("mqtt.tls_refused") >= 2; }, 4s));
}

TEST_F(MqttClientTls, ReconnectsWithARenewedCertificate) {
  test::TestMqttClient control(*broker_, control_cert_, true, {"hecs/v1/dev/+/up/#"});
  test::TestMqttClient device(*broker_, device_);
  ASSERT_TRUE(device.wait_connected());
  ASSERT_TRUE(control.wait_connected());
  auto renewed = broker_->issue_client(device_.common_name);
  broker_->revoke(device_, /*deny_device=*/false);  // the old certificate only (CRL)
  ASSERT_TRUE(device.client().reconnect_with_tls(
      {broker_->ca_file().string(), renewed.cert_file.string(), renewed.key_file.string()}));
  // With the old certificate the new connection would be refused (CRL): connecting again
  // proves the new one was used.
  ASSERT_TRUE(test::wait_until([&] { return device.connects() >= 2; }, 4s));
  ASSERT_TRUE(test::wait_until(
      [&] {
        return device.publish(up("status"), "renewed") && control.received(up("status"), "renewed");
      },
      4s));
  EXPECT_EQ(device.client().reconnect_with_tls({"/nonexistent/ca.pem", "", ""}).error().code,
            Errc::invalid_input);
}

// A plain broker and a threaded client subscribed to "t/#", its callbacks counted.
class ThreadedClientPlain : public ::testing::Test {
 protected:
  void SetUp() override { broker_ = test::Mosquitto::start(); }
  std::unique_ptr<ThreadedClient> make(std::size_t max_in_flight = 1024) {
    ThreadedOptions o;
    o.url = broker_->url();
    o.client_id = "threaded-" + random_uuid();
    o.subscription = "t/#";
    o.max_in_flight = max_in_flight;
    auto c = ThreadedClient::create(io_, o);
    EXPECT_TRUE(c);
    return c ? std::move(*c) : nullptr;
  }
  void run() {
    for (int i = 0; i < 2; ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
  }
  void TearDown() override {
    work_.reset();
    io_.stop();
    for (auto& t : threads_) {
      t.join();
    }
  }
  std::unique_ptr<test::Mosquitto> broker_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::vector<std::thread> threads_;
};

// hecs-control's signed commands: a worker numbers a command under a lock and publishes it
// while the client's strand, in on_message, waits for that same lock. publish() must not wait
// for the strand (it did, and both stalled until a 5 s timeout failed the publish).
TEST_F(ThreadedClientPlain, PublishFromAnotherThreadNeverWaitsForTheStrand) {
  auto client = make();
  std::mutex lock;
  std::atomic<bool> in_callback{false};
  std::atomic<int> received{0};
  client->on_message = [&](const Message& m) {
    if (m.topic == "t/in") {
      in_callback = true;
      std::lock_guard held(lock);  // blocks the strand while the test holds `lock`
    }
    if (m.topic == "t/out") {
      ++received;
    }
  };
  client->start();
  run();
  ASSERT_TRUE(test::wait_until([&] { return client->connected(); }, 4s));
  {
    std::lock_guard held(lock);
    ASSERT_TRUE(client->publish("t/in", "block", 1, false));
    ASSERT_TRUE(test::wait_until([&] { return in_callback.load(); }, 4s));
    // The strand is blocked on `lock` now; this must queue and return at once.
    auto started = std::chrono::steady_clock::now();
    EXPECT_TRUE(client->publish("t/out", "x", 1, false));
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  }
  EXPECT_TRUE(test::wait_until([&] { return received == 1; }, 4s));
  EXPECT_EQ(client->failed_publishes(), 0u);
  std::atomic<bool> stopped{false};
  client->stop([&] { stopped = true; });
  EXPECT_TRUE(test::wait_until([&] { return stopped.load(); }, 4s));
}

// Beyond the in-flight window messages wait for PUBACKs instead of failing (acks to thousands of
// agents after a restart), and go out in the order they were published.
TEST_F(ThreadedClientPlain, QueuesBeyondTheInFlightWindowAndKeepsTheOrder) {
  auto client = make(/*max_in_flight=*/4);
  std::mutex mutex;
  std::vector<std::string> got;
  client->on_message = [&](const Message& m) {
    std::lock_guard held(mutex);
    got.push_back(m.payload);
  };
  client->start();
  run();
  ASSERT_TRUE(test::wait_until([&] { return client->connected(); }, 4s));
  constexpr int kCount = 2000;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(client->publish("t/seq", std::to_string(i), 1, false));
  }
  EXPECT_TRUE(test::wait_until(
      [&] {
        std::lock_guard held(mutex);
        return got.size() == kCount;
      },
      10s));
  std::lock_guard held(mutex);
  for (int i = 0; i < kCount && i < static_cast<int>(got.size()); ++i) {
    ASSERT_EQ(got[static_cast<std::size_t>(i)], std::to_string(i));
  }
  EXPECT_EQ(client->failed_publishes(), 0u);
}

}  // namespace
}  // namespace hecs::mqtt
