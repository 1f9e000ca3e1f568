// Zero-touch enrolment, mTLS, certificate renewal, revocation and signed commands against a real
// hecs-control and the real Mosquitto it configures (DESIGN §3, §4).
#include <csignal>
#include <cstdint>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/crypto/crypto.h"
#include "proto/proto.h"
#include "support/hecs.h"

namespace hecs::test {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using std::chrono::seconds;

struct Token {
  std::string token, ca_sha256;
};

Token make_token(const Control& control, bool auto_approve) {
  auto r = control.call("POST", "/api/v1/enrollment-tokens",
                        std::string(R"({"expires_in_s":3600,"max_uses":5,"tags":["lab"],)") +
                            R"("description":"test","auto_approve":)" +
                            (auto_approve ? "true}" : "false}"));
  EXPECT_EQ(r.status, 201) << r.body;
  auto v = r.json();
  return {std::string(v.at("token").as_string()), std::string(v.at("ca_sha256").as_string())};
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string field(const json::value& device, const char* name) {
  const auto* v = device.is_object() ? device.as_object().if_contains(name) : nullptr;
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool is_online(const Control& control, const std::string& id) {
  auto d = control.device(id);
  return d.is_object() && d.at("online").as_bool();
}

std::optional<crypto::CertInfo> device_cert(const Agent& agent) {
  auto info = crypto::parse_certificate(read(agent.state_dir() / "device.pem"));
  return info ? std::optional(*info) : std::nullopt;
}

std::string logs(Agent& agent, Control& control) {
  return "--- agent\n" + agent.process().log_text() + "--- control\n" +
         control.process().log_text();
}

// The agent's log from byte `from` on (its log file survives restarts).
std::string log_since(Agent& agent, std::size_t from) {
  auto text = agent.process().log_text();
  return from < text.size() ? text.substr(from) : std::string();
}

// mosquitto_pub/_sub/_rr arguments for an identity of the control's PKI.
std::string tls_args(const Control& control, const fs::path& cert, const fs::path& key) {
  return "-h localhost -p " + std::to_string(control.broker_port()) + " --cafile " +
         control.ca_file() + " --cert " + cert.string() + " --key " + key.string();
}

std::unique_ptr<Agent> enrolled_agent(Control& control, const Token& token,
                                      const std::vector<std::string>& extra = {}) {
  auto agent = Agent::enrol(control, token.token, token.ca_sha256, 1, extra);
  EXPECT_TRUE(wait_until([&] { return is_online(control, agent->device_id()); }, seconds(20)))
      << logs(*agent, control);
  return agent;
}

TEST(Enrolment, AnAutoApprovedAgentEnrolsConnectsOverMtlsAndItsOutboxDrains) {
  auto control = Control::start_secure();
  auto agent = enrolled_agent(*control, make_token(*control, /*auto_approve=*/true));
  auto d = control->device(agent->device_id());
  EXPECT_EQ(field(d, "state"), "accepted");
  EXPECT_FALSE(field(d, "hostname").empty()) << json::serialize(d);
  EXPECT_TRUE(d.at("inventory").is_object()) << json::serialize(d);
  auto log = agent->process().log_text();
  EXPECT_NE(log.find("enrol.accepted"), std::string::npos) << log;
  EXPECT_NE(log.find("mqtt.connected host=localhost"), std::string::npos) << log;
  EXPECT_NE(log.find("tls=true"), std::string::npos) << log;
  // Telemetry arrives and the signed acks empty the outbox.
  EXPECT_TRUE(
      wait_until([&] { return control->device(agent->device_id()).at("telemetry_at").is_string(); },
                 seconds(10)));
  EXPECT_TRUE(wait_until([&] { return agent->outbox_size() == 0; }, seconds(10)))
      << agent->outbox_size() << " left\n"
      << logs(*agent, *control);
  EXPECT_EQ(agent->process().log_text().find("command.refused"), std::string::npos);
}

TEST(Enrolment, APendingAgentKeepsItsTelemetryAndConnectsOnceAccepted) {
  auto control = Control::start_secure();
  auto token = make_token(*control, /*auto_approve=*/false);
  // The image builder's file this time, not flags.
  TempDir boot("boot");
  std::ofstream(boot.path() / "hecs-enroll.yaml")
      << "token: " << token.token << "\ncontrol_url: " << control->url()
      << "\nca_sha256: " << token.ca_sha256 << "\n";
  auto agent = Agent::start(
      std::string(), 1, 5,
      {"--enroll-file", (boot.path() / "hecs-enroll.yaml").string(), "--enroll-retry-max", "2"});
  ASSERT_TRUE(
      wait_until([&] { return field(control->device(agent->device_id()), "state") == "pending"; },
                 seconds(15)))
      << logs(*agent, *control);
  ASSERT_TRUE(wait_until([&] { return agent->outbox_size() >= 2; }, seconds(10)));
  EXPECT_FALSE(fs::exists(agent->state_dir() / "device.pem"));
  EXPECT_TRUE(fs::exists(agent->state_dir() / "device.key"));
  EXPECT_NE(agent->process().log_text().find("enrol.pending"), std::string::npos);

  auto r = control->call("POST", "/api/v1/devices/" + agent->device_id() + "/accept");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(wait_until([&] { return is_online(*control, agent->device_id()); }, seconds(10)))
      << logs(*agent, *control);
  EXPECT_TRUE(wait_until([&] { return agent->outbox_size() == 0; }, seconds(10)))
      << "what was kept while pending is delivered and acknowledged\n"
      << logs(*agent, *control);
}

TEST(Enrolment, ARejectedAgentNeverGetsACertificateAndKeepsRunning) {
  auto control = Control::start_secure();
  auto token = make_token(*control, /*auto_approve=*/false);
  auto agent = Agent::enrol(*control, token.token, token.ca_sha256, 1, {"--enroll-retry-max", "2"});
  ASSERT_TRUE(
      wait_until([&] { return field(control->device(agent->device_id()), "state") == "pending"; },
                 seconds(15)))
      << logs(*agent, *control);
  auto r = control->call("POST", "/api/v1/devices/" + agent->device_id() + "/reject");
  ASSERT_EQ(r.status, 200) << r.body;
  // Asked again (every 2 s here) and refused each time, without a certificate.
  EXPECT_TRUE(wait_until(
      [&] { return agent->process().log_text().find("enrol.refused") != std::string::npos; },
      seconds(10)))
      << logs(*agent, *control);
  EXPECT_FALSE(fs::exists(agent->state_dir() / "device.pem"));
  EXPECT_TRUE(agent->process().running());
  EXPECT_FALSE(is_online(*control, agent->device_id()));
  // Waiting for its next attempt, it still stops at once and cleanly.
  agent->process().signal(SIGTERM);
  EXPECT_EQ(agent->process().wait(seconds(5)), 0) << agent->process().log_text();
}

TEST(Enrolment, AWrongCaPinIsRefusedBeforeTheTokenIsSent) {
  auto control = Control::start_secure();
  auto token = make_token(*control, /*auto_approve=*/true);
  auto agent = Agent::enrol(*control, token.token, std::string(64, '0'));
  EXPECT_TRUE(wait_until(
      [&] {
        return agent->process().log_text().find("does not match control_ca_sha256") !=
               std::string::npos;
      },
      seconds(10)))
      << logs(*agent, *control);
  EXPECT_TRUE(control->device(agent->device_id()).is_null()) << "the token was used";
}

TEST(Enrolment, StateFilesArePrivateAndThePrivateKeyNeverLeavesTheNode) {
  auto control = Control::start_secure();
  auto token = make_token(*control, /*auto_approve=*/true);
  // The CA as a file this time, instead of the pin.
  auto agent =
      enrolled_agent(*control, Token{token.token, ""}, {"--control-ca-file", control->ca_file()});
  for (const char* name : {"device.key", "device.pem", "ca.pem", "mqtt-url", "command-keys.json",
                           "command-seq", "device-id", "session"}) {
    auto perms = fs::status(agent->state_dir() / name).permissions() & fs::perms::all;
    EXPECT_EQ(perms, fs::perms::owner_read | fs::perms::owner_write) << name;
  }
  auto key_pem = read(agent->state_dir() / "device.key");
  std::string body;
  std::vector<std::string> lines;
  std::istringstream in(key_pem);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("-----")) {
      lines.push_back(line);
      body += line;
    }
  }
  ASSERT_FALSE(lines.empty());
  auto der = crypto::base64_decode(body);
  ASSERT_TRUE(der);
  const auto dir = control->data_dir();
  std::string everything = read(dir / "hecs.db") + read(dir / "hecs.db-wal") +
                           control->process().log_text() + read(dir / "mosquitto.log") +
                           read(dir / "init.log") + agent->process().log_text();
  for (const auto& line : lines) {
    EXPECT_EQ(everything.find(line), std::string::npos) << "key material found: " << line;
  }
  EXPECT_EQ(everything.find(*der), std::string::npos) << "the key's DER was found";
  EXPECT_EQ(agent->process().log_text().find(token.token), std::string::npos)
      << "the agent logged its token";
}

TEST(Enrolment, TheCertificateIsRenewedAcrossAControlPlaneRestart) {
  auto control = Control::start_secure({"--device-cert-seconds", "30"});
  auto agent = enrolled_agent(*control, make_token(*control, /*auto_approve=*/true));
  auto first = device_cert(*agent);
  ASSERT_TRUE(first);
  const auto session = control->device(agent->device_id()).at("session").to_number<std::uint64_t>();
  control->kill(SIGTERM);
  control->restart();
  ASSERT_TRUE(wait_until(
      [&] {
        auto now = device_cert(*agent);
        return now && now->serial != first->serial;
      },
      seconds(25)))
      << logs(*agent, *control);
  auto pem = read(agent->state_dir() / "device.pem");
  EXPECT_TRUE(
      crypto::verify_certificate(pem, read(control->ca_file()), SystemClock{}.now_ms() / 1000));
  EXPECT_NE(device_cert(*agent)->public_key_sha256, first->public_key_sha256) << "a new key";
  // It reconnected with the new certificate: a new session, online.
  EXPECT_TRUE(wait_until(
      [&] {
        auto d = control->device(agent->device_id());
        return d.at("online").as_bool() && d.at("session").to_number<std::uint64_t>() > session;
      },
      seconds(10)))
      << logs(*agent, *control);
  auto log = agent->process().log_text();
  EXPECT_NE(log.find("cert.renewed"), std::string::npos) << log;
  EXPECT_NE(log.find("mqtt.tls_renewed"), std::string::npos) << log;
}

TEST(Enrolment, ARevokedDeviceGoesOfflineAndCannotReconnectWhileAnotherStaysOnline) {
  auto control = Control::start_secure();
  auto token = make_token(*control, /*auto_approve=*/true);
  auto revoked = enrolled_agent(*control, token);
  auto other = enrolled_agent(*control, token);
  auto r = control->call("POST", "/api/v1/devices/" + revoked->device_id() + "/revoke");
  ASSERT_EQ(r.status, 200) << r.body;
  // Its connection may stay up (Mosquitto does not re-check connected clients), but the control
  // plane ignores it from now on, so it must show it offline.
  EXPECT_TRUE(wait_until([&] { return !is_online(*control, revoked->device_id()); }, seconds(10)))
      << json::serialize(control->device(revoked->device_id()));
  EXPECT_EQ(field(control->device(revoked->device_id()), "state"), "revoked");

  const auto mark = revoked->process().log_text().size();
  revoked->kill(SIGTERM);
  revoked->restart();
  EXPECT_TRUE(wait_until(
      [&] { return log_since(*revoked, mark).find("mqtt.tls_refused") != std::string::npos; },
      seconds(10)))
      << log_since(*revoked, mark);
  EXPECT_EQ(log_since(*revoked, mark).find("uplink.online"), std::string::npos);
  EXPECT_TRUE(revoked->process().running());

  const auto before = field(control->device(other->device_id()), "telemetry_at");
  EXPECT_TRUE(wait_until(
      [&] {
        auto d = control->device(other->device_id());
        return d.at("online").as_bool() && field(d, "telemetry_at") > before;
      },
      seconds(10)));
}

// The control plane's active command-signing key, as a test playing a compromised broker with
// a stolen key would hold it: to make commands that pass the signature check and fail a later one.
std::pair<std::string, crypto::Ed25519Key> control_signing_key(const Control& control) {
  auto master = crypto::parse_master_key(read(control.data_dir() / "master.key"));
  EXPECT_TRUE(master);
  auto list = json::parse(read(control.data_dir() / "pki" / "signing-keys.json"));
  std::string kid;
  for (const auto& k : list.at("keys").as_array()) {
    if (k.at("state").as_string() == "active") {
      kid = std::string(k.at("kid").as_string());
    }
  }
  auto sealed = read(control.data_dir() / "pki" / ("signing-" + kid + ".sealed"));
  auto seed = crypto::unseal(*master, sealed, "hecs-signing-key:" + kid);
  EXPECT_TRUE(seed);
  return {kid, *crypto::Ed25519Key::from_seed(*seed)};
}

TEST(Enrolment, ForgedReplayedExpiredAndMisaddressedCommandsAreRefusedAndCounted) {
  auto control = Control::start_secure();
  auto agent = enrolled_agent(*control, make_token(*control, true), {"--ack-timeout", "3"});
  const auto id = agent->device_id();
  const auto state = agent->state_dir();

  // A real ack, captured: the device's identity sends one sample and reads the answer.
  agent->kill(SIGTERM);
  auto sample =
      proto::make_envelope("telemetry", SystemClock{}.now_ms(), proto::to_json(proto::Telemetry{}));
  std::string captured;
  ASSERT_EQ(run_command(
                "mosquitto_rr " + tls_args(*control, state / "device.pem", state / "device.key") +
                    " -q 1 -W 10 -t '" + proto::up_topic(id, proto::UpKind::telemetry) + "' -e '" +
                    proto::down_cmd_topic(id) + "' -m '" + proto::serialize(sample) + "'",
                &captured),
            0);
  while (!captured.empty() && captured.back() == '\n') {
    captured.pop_back();
  }
  ASSERT_EQ(std::count(captured.begin(), captured.end(), '.'), 2) << captured;
  // Back online, the agent accepts newer commands (keys on its hello), so the capture is old.
  auto mark = agent->process().log_text().size();
  agent->restart();
  ASSERT_TRUE(wait_until(
      [&] { return log_since(*agent, mark).find("command.keys_replaced") != std::string::npos; },
      seconds(10)))
      << log_since(*agent, mark);

  // The control plane stops, and its MQTT identity publishes what a compromised broker could.
  control->kill(SIGTERM);
  auto [kid, key] = control_signing_key(*control);
  const std::int64_t now = SystemClock{}.now_ms() / 1000;
  proto::Command base;
  base.type = "ack";
  base.sub = id;
  base.seq = static_cast<std::uint64_t>(SystemClock{}.now_ms()) * 1000 + 1'000'000'000;
  base.iat = now;
  base.exp = now + 600;
  base.body = proto::to_json(proto::Ack{{random_uuid()}});
  auto with = [&](auto change) {
    proto::Command c = base;
    c.id = random_uuid();
    change(c);
    return c;
  };
  struct Case {
    std::string reason, payload;
  } cases[] = {
      {"bad_signature",
       proto::sign_command(with([](auto&) {}), kid, crypto::Ed25519Key::generate())},
      {"unknown_key",
       proto::sign_command(with([](auto&) {}), "kForged", crypto::Ed25519Key::generate())},
      {"unsigned",
       proto::serialize(proto::make_envelope("ack", SystemClock{}.now_ms(),
                                             proto::to_json(proto::Ack{{random_uuid()}})))},
      {"replayed", captured},
      {"expired", proto::sign_command(with([&](auto& c) {
                                        c.iat = now - 700;
                                        c.exp = now - 60;
                                      }),
                                      kid, key)},
      {"misaddressed", proto::sign_command(with([](auto& c) { c.sub = random_uuid(); }), kid, key)},
  };
  const auto pki = control->data_dir() / "pki";
  TempDir dir("forged");
  mark = agent->process().log_text().size();
  for (const auto& c : cases) {
    std::ofstream(dir.path() / "payload", std::ios::binary) << c.payload;
    ASSERT_EQ(run_command("mosquitto_pub " +
                          tls_args(*control, pki / "mqtt-client.pem", pki / "mqtt-client.key") +
                          " -q 1 -t '" + proto::down_cmd_topic(id) + "' -f " +
                          (dir.path() / "payload").string()),
              0);
    EXPECT_TRUE(wait_until(
        [&] {
          return log_since(*agent, mark).find("command.refused reason=" + c.reason + " total=1") !=
                 std::string::npos;
        },
        seconds(5)))
        << c.reason << "\n"
        << log_since(*agent, mark);
  }

  // None of them moved the agent: with the control plane back, real acks still empty the outbox,
  // which filled meanwhile (the samples sent while it was down are resent after --ack-timeout).
  ASSERT_TRUE(wait_until([&] { return agent->outbox_size() >= 2; }, seconds(5)));
  control->restart();
  EXPECT_TRUE(wait_until([&] { return agent->outbox_size() == 0; }, seconds(15)))
      << agent->outbox_size() << " left\n"
      << log_since(*agent, mark);
  auto after = log_since(*agent, mark);
  std::size_t refusals = 0;
  for (auto at = after.find("command.refused"); at != std::string::npos;
       at = after.find("command.refused", at + 1)) {
    ++refusals;
  }
  EXPECT_EQ(refusals, std::size(cases)) << after;
}

}  // namespace
}  // namespace hecs::test
