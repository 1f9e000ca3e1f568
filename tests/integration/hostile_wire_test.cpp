// S23: hostile input on the wire keeps memory bounded and every process running.
//
// HostileBroker: a scripted broker (support/fake_broker.h) attacks a real hecs-agent with an
// announced 200 MB packet, a QoS 2 flood, malformed SUBACK and PUBLISH packets and a stream of
// large junk commands. The agent's peak RSS (VmHWM) must stay small, it must keep running, and
// it must come back for a new connection after each attack. HostileBrokerToControl does the same
// to hecs-control's own link.
//
// HostileClient: a device with a valid certificate attacks the real Mosquitto, configured as
// control/broker generates it, with raw packets over mTLS: an oversized packet (also before
// CONNECT), a QoS 2 flood that never sends PUBREL (distinct and repeated packet ids), and MQTT 5
// publishes with thousands of user properties. The broker's memory must stay bounded and an
// honest device's messages must still reach the control plane's identity.
//
// HostileDevice: the same attacks, plus junk on every up/ kind, from a stolen enrolled device's
// credentials against the system as it runs in production (hecs-control, the broker from its
// generated config, a real enrolled agent): all keep running, and the honest agent's telemetry
// is still stored.
#include <csignal>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/files.h"
#include "common/mqtt/codec.h"
#include "common/mqtt/tls.h"
#include "control/broker/broker.h"
#include "support/fake_broker.h"
#include "support/hecs.h"
#include "support/mosquitto.h"

namespace hecs::test {
namespace {
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace): test durations

constexpr std::size_t kMiB = std::size_t{1} << 20;

// A field of /proc/<pid>/status in bytes ("VmRSS", "VmHWM"); 0 when unreadable.
std::size_t proc_status_bytes(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::stoull(line.substr(field.size() + 1)) * 1024;  // "  1234 kB"
    }
  }
  return 0;
}

std::string encoded_length(std::size_t n) {
  std::string out;
  EXPECT_TRUE(mqtt::append_remaining_length(out, n));
  return out;
}

std::string mqtt_string(std::string_view s) {
  std::string out = bytes({static_cast<int>(s.size() >> 8), static_cast<int>(s.size() & 0xff)});
  out.append(s);
  return out;
}

std::string oversized_publish() { return bytes({0x30}) + encoded_length(200'000'000); }

// QoS 2 publishes with packet ids first..first+count-1 (distinct: a repeated id ends the link).
std::string qos2_flood(const std::string& topic, int first, int count) {
  const std::string payload(1024, 'q');
  std::string packets;
  for (int id = first; id < first + count; ++id) {
    packets += bytes({0x34}) + encoded_length(2 + topic.size() + 2 + payload.size()) +
               mqtt_string(topic) + bytes({(id >> 8) & 0xff, id & 0xff}) + payload;
  }
  return packets;
}

// ---- the agent against a hostile broker ------------------------------------------------------

class HostileBroker : public ::testing::Test {
 protected:
  void SetUp() override {
    agent_ = Agent::start(broker_.url(), /*interval_s=*/1, /*keepalive_s=*/30);
    down_topic_ = session();
    ASSERT_EQ(down_topic_, "hecs/v1/dev/" + agent_->device_id() + "/down/cmd");
  }

  // Takes the agent's next connection up to its SUBSCRIBE, answered; returns its topic filter.
  std::string session() {
    EXPECT_TRUE(broker_.accept(10s)) << "the agent did not come back:\n" << log();
    auto connect = broker_.read_packet();
    EXPECT_FALSE(connect.empty());
    broker_.write(bytes({0x20, 2, 0, 0}));
    auto subscribe = broker_.read_packet();
    EXPECT_FALSE(subscribe.empty());
    if (subscribe.size() < 7) {
      return {};
    }
    broker_.write(bytes({0x90, 3, subscribe[2], subscribe[3], 1}));
    return subscribe.substr(6, subscribe.size() - 7);
  }
  // After an attack: the agent closed this link, still runs, and connects again.
  void expect_survived(const std::string& attack) {
    EXPECT_TRUE(broker_.closed_by_peer(10s)) << attack << ": link not closed";
    EXPECT_TRUE(agent_->process().running()) << attack << ":\n" << log();
    EXPECT_FALSE(session().empty()) << attack;
    EXPECT_LT(peak(), kPeakBound) << attack;
  }
  std::size_t peak() { return proc_status_bytes(agent_->process().pid(), "VmHWM"); }
  std::string log() { return agent_->process().log_text(); }

  // The agent peaks at about 7.6 MiB through all of these; libmosquitto's client would have
  // taken 32 MiB and more in the first.
  static constexpr std::size_t kPeakBound = 16 * kMiB;
  FakeBroker broker_;
  std::unique_ptr<Agent> agent_;
  std::string down_topic_;
};

TEST_F(HostileBroker, AnAnnouncedPacketOf200MbIsRefusedFromItsHeader) {
  broker_.write(oversized_publish());
  const std::string chunk(kMiB, '\0');
  std::size_t taken = 0;
  while (taken < 64 * kMiB && broker_.try_write(chunk, 1s)) {
    taken += chunk.size();
  }
  // The kernel's socket buffers take a few MiB before the agent's close shows here.
  EXPECT_LT(taken, 32 * kMiB);
  expect_survived("200 MB packet");
  EXPECT_NE(log().find("bytes over the limit"), std::string::npos) << log();
}

TEST_F(HostileBroker, AQos2FloodEndsTheLinkAtItsFirstPacket) {
  broker_.try_write(qos2_flood(down_topic_, 1, 20000), 1s);
  expect_survived("qos 2 flood");
  EXPECT_NE(log().find("qos 2, never subscribed to"), std::string::npos) << log();
}

TEST_F(HostileBroker, MalformedSubackPublishAndConnackEachEndOnlyTheirLink) {
  broker_.write(bytes({0x90, 2, 0, 1}));  // SUBACK without a return code (CVE-2024-10525)
  expect_survived("empty suback");
  broker_.write(bytes({0x30, 4, 0, 200, 'a', 'b'}));  // topic longer than the packet
  expect_survived("short publish");
  broker_.write(bytes({0x20, 2, 0, 0}));  // a second CONNACK
  expect_survived("second connack");
  broker_.write(bytes({0x30, 0xff, 0xff, 0xff, 0xff, 0x7f}));  // a fifth length byte
  expect_survived("bad remaining length");
}

// What a broker relays from an attacker who holds a control-plane-looking topic: large PUBLISHes
// on the agent's own down/cmd that are not signed commands (here MQTT 5 user properties as
// bytes, which a 3.1.1 client reads as payload). Each is acknowledged and refused; nothing grows.
TEST_F(HostileBroker, ThousandsOfLargeJunkCommandsAreRefusedWithoutGrowing) {
  const std::string topic = down_topic_;
  std::string properties;
  while (properties.size() < 200 * 1024) {
    properties += bytes({0x26}) + mqtt_string("k") + mqtt_string("v");
  }
  int sent = 0;
  for (int id = 1; id <= 400; ++id) {
    auto packet = bytes({0x32}) + encoded_length(2 + topic.size() + 2 + properties.size()) +
                  mqtt_string(topic) + bytes({id >> 8, id & 0xff}) + properties;
    if (!broker_.try_write(packet, 5s)) {
      break;
    }
    ++sent;
  }
  EXPECT_EQ(sent, 400);
  // Every one was read and acknowledged: the PUBACK of the last comes back.
  bool last_acked = false;
  for (auto p = broker_.read_packet(); !p.empty(); p = broker_.read_packet(2s)) {
    if (p == bytes({0x40, 2, 400 >> 8, 400 & 0xff})) {
      last_acked = true;
      break;
    }
  }
  EXPECT_TRUE(last_acked);
  EXPECT_TRUE(agent_->process().running()) << log();
  EXPECT_LT(peak(), kPeakBound);
  EXPECT_NE(log().find("command.refused reason=malformed"), std::string::npos) << log();
}

// hecs-control against a hostile broker: the same attacks on its own link (it subscribes to
// every device's up/ topics). It keeps running, keeps its memory, and connects again.
TEST(HostileBrokerToControl, KeepsTheControlPlaneRunningAndBounded) {
  FakeBroker broker;
  auto session = [&broker] {
    if (!broker.accept(10s) || broker.read_packet().empty()) {
      return false;
    }
    broker.write(bytes({0x20, 2, 0, 0}));
    auto subscribe = broker.read_packet();
    if (subscribe.size() < 7) {
      return false;
    }
    broker.write(bytes({0x90, 3, subscribe[2], subscribe[3], 1}));
    return true;
  };
  std::thread first([&] { EXPECT_TRUE(session()); });
  auto control = Control::start(broker.url());  // returns once /readyz says connected
  first.join();
  const auto pid = control->process().pid();
  // The peak so far, not the resident size: the first start's Argon2id hash of the admin
  // password (19 MiB, freed at once) already set a peak well above today's RSS.
  const auto before = proc_status_bytes(pid, "VmHWM");
  auto survived = [&](const std::string& attack) {
    EXPECT_TRUE(broker.closed_by_peer(10s)) << attack << ": link not closed";
    EXPECT_TRUE(control->process().running()) << attack;
    EXPECT_TRUE(session()) << attack << ": no new connection\n" << control->process().log_text();
    // libmosquitto's client took every byte of the first attack: 64 MiB more.
    EXPECT_LT(proc_status_bytes(pid, "VmHWM"), before + 16 * kMiB) << attack;
  };

  broker.write(oversized_publish());
  const std::string chunk(kMiB, '\0');
  for (std::size_t taken = 0; taken < 64 * kMiB && broker.try_write(chunk, 1s);) {
    taken += chunk.size();
  }
  survived("200 MB packet");
  broker.try_write(qos2_flood("hecs/v1/dev/x/up/telemetry", 1, 20000), 1s);
  survived("qos 2 flood");
  broker.write(bytes({0x90, 2, 0, 1}));  // SUBACK without a return code
  survived("empty suback");
  broker.write(bytes({0x30, 4, 0, 200, 'a', 'b'}));  // topic longer than the packet
  survived("short publish");
  EXPECT_EQ(http_get(control->url() + "/healthz").status, 200);
}

// ---- a hostile device against Mosquitto -----------------------------------------------------

// A device's raw MQTT over mTLS, with blocking calls: what the attacker writes goes out as given.
class RawDevice {
 public:
  RawDevice(const Mosquitto& broker, const ClientCert& cert)
      : RawDevice(broker.ca_file(), broker.port(), cert) {}
  RawDevice(const std::filesystem::path& ca_file, std::uint16_t port, const ClientCert& cert) {
    auto context = mqtt::tls::Context::create(ca_file.string());
    auto loader = mqtt::tls::IdentityLoader::create();
    auto key = files::read_small(cert.key_file, 64 * 1024);
    auto pem = files::read_small(cert.cert_file, 64 * 1024);
    if (!context || !loader || !key || !pem) {
      throw std::runtime_error("raw device: tls set-up failed");
    }
    auto identity = loader->load(*key, *pem, cert.common_name, std::nullopt);
    if (!identity) {
      throw std::runtime_error("raw device: " + identity.error().message);
    }
    context_ = std::make_unique<mqtt::tls::Context>(std::move(*context));
    identity_ = std::move(*identity);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    // Writes give up after 5 s, so a broker that stops reading cannot hang the test.
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("raw device: connect failed");
    }
    auto session = mqtt::tls::Session::create(*context_, &identity_, fd_, "localhost");
    if (!session || session->handshake().io != mqtt::tls::Io::done) {
      throw std::runtime_error("raw device: tls handshake failed");
    }
    session_ = std::move(*session);
  }
  ~RawDevice() {
    session_.reset();
    ::close(fd_);
  }
  RawDevice(const RawDevice&) = delete;
  RawDevice& operator=(const RawDevice&) = delete;

  // MQTT 3.1.1 (level 4) or 5 CONNECT with a clean session, then its CONNACK; true if accepted.
  bool connect(int level = 4) {
    std::string body = mqtt_string("MQTT") + bytes({level, 0x02, 0, 60});
    if (level == 5) {
      body += bytes({0});  // no properties
    }
    body += mqtt_string("raw");
    if (!send(bytes({0x10}) + encoded_length(body.size()) + body)) {
      return false;
    }
    auto connack = read(2s);
    return connack.size() >= 4 && connack[0] == 0x20 && connack[3] == 0;
  }
  // False once the broker closed the link or stopped taking bytes.
  bool send(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
      auto step = session_.write(data.data() + done, data.size() - done);
      if (step.io != mqtt::tls::Io::done) {
        return false;
      }
      done += step.bytes;
    }
    return true;
  }
  // What arrived within `timeout` (at most one read); "" on timeout or a closed link.
  std::string read(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
      return {};
    }
    char buffer[16384];
    auto step = session_.read(buffer, sizeof buffer);
    if (step.io != mqtt::tls::Io::done) {
      closed_ = true;
      return {};
    }
    return std::string(buffer, step.bytes);
  }
  // Reads whatever is waiting (PUBRECs the attacker ignores), without waiting.
  void drain() {
    while (!closed_ && !read(0ms).empty()) {
    }
  }
  // True when the broker closes the link within `timeout`.
  bool closed_within(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed_ && std::chrono::steady_clock::now() < deadline) {
      read(100ms);
    }
    return closed_;
  }

 private:
  std::unique_ptr<mqtt::tls::Context> context_;
  mqtt::tls::Identity identity_;
  int fd_ = -1;
  mqtt::tls::Session session_;
  bool closed_ = false;
};

class HostileClient : public ::testing::Test {
 protected:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);  // writes into a link the broker closed
    broker_ = Mosquitto::start_tls();
    auto pid = control::broker::read_pid_file(broker_->broker_config().pid_file);
    ASSERT_TRUE(pid);
    broker_pid_ = *pid;
    control_ =
        std::make_unique<TestMqttClient>(*broker_, broker_->issue_client("hecs-control"), true,
                                         std::vector<std::string>{"hecs/v1/dev/+/up/#"});
    ASSERT_TRUE(control_->wait_connected());
    attacker_cert_ = broker_->issue_client(random_uuid());
    auto honest = broker_->issue_client(random_uuid());
    honest_cn_ = honest.common_name;
    honest_ = std::make_unique<TestMqttClient>(*broker_, honest);
    ASSERT_TRUE(honest_->wait_connected());
    expect_honest_traffic_flows("before");
    baseline_ = rss();
  }
  std::size_t rss() { return proc_status_bytes(broker_pid_, "VmRSS"); }
  std::string up(const std::string& id, const std::string& leaf) {
    return "hecs/v1/dev/" + id + "/up/" + leaf;
  }
  // An honest device's telemetry still reaches the control plane's identity, promptly.
  void expect_honest_traffic_flows(const std::string& when) {
    auto topic = "hecs/v1/dev/" + honest_id() + "/up/telemetry";
    auto payload = when + std::to_string(++probes_);
    EXPECT_TRUE(honest_->publish(topic, payload)) << when;
    EXPECT_TRUE(control_->wait_received(topic, payload, 4s)) << when;
  }
  std::string honest_id() { return honest_cn_; }

  std::unique_ptr<Mosquitto> broker_;
  pid_t broker_pid_ = 0;
  std::unique_ptr<TestMqttClient> control_;
  std::unique_ptr<TestMqttClient> honest_;
  std::string honest_cn_;
  ClientCert attacker_cert_;
  std::size_t baseline_ = 0;
  int probes_ = 0;
};

// CVE-2017-7651, CVE-2023-0809: a length announced beyond max_packet_size ends the link from
// the fixed header, before CONNECT as after it; nothing of the body is kept.
TEST_F(HostileClient, APacketAnnouncedBeyondTheLimitIsRefusedFromItsHeader) {
  for (bool connected : {false, true}) {
    RawDevice device(*broker_, attacker_cert_);
    if (connected) {
      ASSERT_TRUE(device.connect());
    }
    std::size_t taken = 0;
    if (device.send(oversized_publish())) {
      const std::string chunk(kMiB, '\0');
      while (taken < 64 * kMiB && device.send(chunk)) {
        taken += chunk.size();
      }
    }
    EXPECT_LT(taken, 32 * kMiB) << "connected=" << connected;
    EXPECT_TRUE(device.closed_within(5s)) << "connected=" << connected;
  }
  EXPECT_LT(rss(), baseline_ + 8 * kMiB);
  expect_honest_traffic_flows("after");
}

// CVE-2023-28366: QoS 2 publishes whose PUBREL never comes, with distinct packet ids and with
// one id over and over. The broker keeps max_inflight_messages (20) of them per client and
// answers the rest with a PUBREC it then forgets; a packet id repeated while in flight ends the
// link (Debian's fix of the CVE).
TEST_F(HostileClient, AQos2FloodWithoutPubrelKeepsTheBrokerBounded) {
  const std::string topic = up(attacker_cert_.common_name, "telemetry");
  const std::string payload(1024, 'q');
  for (bool repeated_id : {false, true}) {
    RawDevice device(*broker_, attacker_cert_);
    ASSERT_TRUE(device.connect());
    int sent = 0;
    for (int batch = 0; batch < 100; ++batch) {
      std::string packets;
      for (int i = 1; i <= 200; ++i) {
        int id = repeated_id ? 1 : batch * 200 + i;
        packets += bytes({0x34}) + encoded_length(2 + topic.size() + 2 + payload.size()) +
                   mqtt_string(topic) + bytes({(id >> 8) & 0xff, id & 0xff}) + payload;
      }
      if (!device.send(packets)) {
        break;
      }
      sent += 200;
      device.drain();
    }
    if (repeated_id) {
      EXPECT_LT(sent, 20000);
      EXPECT_TRUE(device.closed_within(5s)) << "a repeated packet id did not end the link";
    } else {
      EXPECT_EQ(sent, 20000);
    }
  }
  EXPECT_LT(rss(), baseline_ + 8 * kMiB);  // 20,000 kept would be 20 MiB and more
  expect_honest_traffic_flows("after");
  // Nothing of it was released to the control plane: no PUBREL, no delivery.
  EXPECT_EQ(control_->count_on(topic), 0u);
}

// CVE-2021-41039: MQTT 5 publishes carrying 20,000 user properties each.
TEST_F(HostileClient, ThousandsOfUserPropertiesLeaveTheBrokerResponsiveAndBounded) {
  const std::string topic = up(attacker_cert_.common_name, "telemetry");
  std::string properties;
  for (int i = 0; i < 20000; ++i) {
    properties += bytes({0x26}) + mqtt_string("k") + mqtt_string(std::to_string(i));
  }
  RawDevice device(*broker_, attacker_cert_);
  ASSERT_TRUE(device.connect(5));
  auto packet = bytes({0x30}) +
                encoded_length(2 + topic.size() + encoded_length(properties.size()).size() +
                               properties.size() + 1) +
                mqtt_string(topic) + encoded_length(properties.size()) + properties + "x";
  int sent = 0;
  for (; sent < 50 && device.send(packet); ++sent) {
    device.drain();
  }
  EXPECT_EQ(sent, 50);  // 10 MB of properties, each packet under max_packet_size
  expect_honest_traffic_flows("after");
  EXPECT_LT(rss(), baseline_ + 16 * kMiB);
}

// ---- the whole system under attack ------------------------------------------------------------

// hecs-control and its broker as they run in production (Control::start_secure: the generated
// config, ACL and CRL), a real enrolled agent, and an attacker holding another enrolled device's
// certificate and key. Everything keeps running and the honest agent's telemetry keeps landing.
TEST(HostileDevice, LeavesTheControlPlaneTheBrokerAndOtherAgentsRunning) {
  std::signal(SIGPIPE, SIG_IGN);
  auto control = Control::start_secure();
  auto made = control->call("POST", "/api/v1/enrollment-tokens",
                            R"({"expires_in_s":3600,"max_uses":2,"auto_approve":true})");
  ASSERT_EQ(made.status, 201) << made.body;
  auto token = made.json();
  auto enrol = [&] {
    return Agent::enrol(*control, std::string(token.at("token").as_string()),
                        std::string(token.at("ca_sha256").as_string()));
  };
  auto online = [&](const std::string& id) {
    auto d = control->device(id);
    return d.is_object() && d.at("online").as_bool();
  };
  auto honest = enrol();
  auto thief = enrol();  // its certificate and key become the attacker's
  ASSERT_TRUE(
      wait_until([&] { return online(honest->device_id()) && online(thief->device_id()); }, 20s))
      << control->process().log_text();
  thief->kill(SIGKILL);
  ClientCert stolen{thief->device_id(), "", thief->state_dir() / "device.pem",
                    thief->state_dir() / "device.key"};
  const auto broker_pid = control->broker()->pid();
  const auto broker_before = proc_status_bytes(broker_pid, "VmRSS");
  const auto control_before = proc_status_bytes(control->process().pid(), "VmRSS");
  const auto up = "hecs/v1/dev/" + stolen.common_name + "/up/";

  {
    RawDevice device(control->ca_file(), control->broker_port(), stolen);
    EXPECT_TRUE(device.send(oversized_publish()));  // before CONNECT
    EXPECT_TRUE(device.closed_within(5s));
  }
  {
    RawDevice device(control->ca_file(), control->broker_port(), stolen);
    ASSERT_TRUE(device.connect());
    for (int round = 0;
         round < 20 && device.send(qos2_flood(up + "telemetry", 1 + round * 500, 500)); ++round) {
      device.drain();
    }
    // Junk on every up/ kind the control plane reads, QoS 1, as fast as the broker takes it.
    std::string junk;
    for (const char* kind : {"hello", "status", "telemetry", "event", "result"}) {
      std::string topic = up + kind;
      std::string payload(8 * 1024, '{');
      junk += bytes({0x32}) + encoded_length(2 + topic.size() + 2 + payload.size()) +
              mqtt_string(topic) + bytes({0, 9}) + payload;
    }
    for (int i = 0; i < 100 && device.send(junk); ++i) {
      device.drain();
    }
    EXPECT_TRUE(device.send(oversized_publish()));  // after CONNECT
    EXPECT_TRUE(device.closed_within(5s));
  }

  EXPECT_TRUE(control->process().running()) << control->process().log_text();
  EXPECT_TRUE(control->broker()->running());
  EXPECT_TRUE(honest->process().running()) << honest->process().log_text();
  EXPECT_EQ(http_get(control->url() + "/healthz", {}, control->ca_file()).status, 200);
  // The honest agent is still online and its next telemetry is stored.
  auto before = control->device(honest->device_id()).at("telemetry_at");
  EXPECT_TRUE(wait_until(
      [&] { return control->device(honest->device_id()).at("telemetry_at") != before; }, 10s));
  EXPECT_TRUE(online(honest->device_id()));
  EXPECT_LT(proc_status_bytes(broker_pid, "VmRSS"), broker_before + 16 * kMiB);
  EXPECT_LT(proc_status_bytes(control->process().pid(), "VmRSS"), control_before + 32 * kMiB);
  // The junk was read and refused, not stored: counted by reason.
  EXPECT_GE(control->metric("hecs_mqtt_messages_rejected_total{reason=\"envelope\"}"), 100u)
      << control->get("/metrics").body;
}

}  // namespace
}  // namespace hecs::test
