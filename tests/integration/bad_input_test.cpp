// Bad input never crashes a process or harms another device's data (issue 2, point 8; S28).
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/crypto/crypto.h"
#include "proto/proto.h"
#include "support/hecs.h"
#include "support/mosquitto.h"

namespace hecs::test {
namespace {
namespace json = boost::json;
using std::chrono::seconds;

// Publishes `payload` to `topic` with mosquitto_pub (a real, independent client).
void publish(const Mosquitto& broker, const std::string& topic, const std::string& payload,
             const TempDir& dir, bool retain = false) {
  auto file = dir.path() / "payload";
  std::ofstream(file, std::ios::binary) << payload;
  std::string cmd = "mosquitto_pub -h 127.0.0.1 -p " + std::to_string(broker.port()) +
                    " -q 1 -t '" + topic + "' -f " + file.string() + (retain ? " -r" : "");
  ASSERT_EQ(run_command(cmd), 0) << cmd;
}

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = Mosquitto::start();
    control_ = Control::start(broker_->url());
    agent_ = Agent::start(*control_, 1, 5);
    ASSERT_TRUE(wait_until(
        [&] {
          auto d = control_->device(agent_->device_id());
          return d.is_object() && d.at("online").as_bool();
        },
        seconds(20)));
  }
  std::string telemetry_topic(const std::string& id) {
    return proto::up_topic(id, proto::UpKind::telemetry);
  }

  TempDir dir_{"badinput"};
  std::unique_ptr<Mosquitto> broker_;
  std::unique_ptr<Control> control_;
  std::unique_ptr<Agent> agent_;
};

TEST_F(BadInput, GarbageOnDeviceTopicsIsRejectedCountedAndHarmsNobody) {
  const std::string stranger = random_uuid();
  auto valid = proto::make_envelope("telemetry", 1, proto::to_json(proto::Telemetry{}));
  struct Case {
    std::string reason, topic, payload;
  } cases[] = {
      {"envelope", telemetry_topic(stranger), "{not json"},
      {"envelope", telemetry_topic(stranger), "[1,2,3]"},
      {"too_large", telemetry_topic(stranger), std::string(70 * 1024, 'x')},
      {"envelope", telemetry_topic(stranger),
       R"({"v":2,"id":")" + random_uuid() + R"(","type":"telemetry","ts":1,"body":{}})"},
      {"body", telemetry_topic(stranger),
       R"({"v":1,"id":")" + random_uuid() +
           R"(","type":"telemetry","ts":1,"body":{"cpu_percent":"high"}})"},
      {"type_mismatch", telemetry_topic(stranger),
       R"({"v":1,"id":")" + random_uuid() +
           R"(","type":"status","ts":1,"body":{"state":"online","session":1}})"},
      {"topic", "hecs/v1/dev/not-a-uuid/up/telemetry", proto::serialize(valid)},
      {"topic", "hecs/v1/dev/" + stranger + "/up/nonsense", proto::serialize(valid)},
  };
  std::map<std::string, std::uint64_t> expected;
  for (const auto& c : cases) {
    publish(*broker_, c.topic, c.payload, dir_);
    ++expected[c.reason];
  }
  for (const auto& [reason, count] : expected) {
    auto series = "hecs_mqtt_messages_rejected_total{reason=\"" + reason + "\"}";
    EXPECT_TRUE(wait_until([&] { return control_->metric(series) >= count; }, seconds(10)))
        << series << " = " << control_->metric(series);
  }
  // Nobody crashed, nothing of the garbage was stored, the real device is intact.
  EXPECT_TRUE(control_->process().running());
  EXPECT_TRUE(agent_->process().running());
  EXPECT_EQ(control_->get("/api/v1/devices/" + stranger).status, 404);
  auto d = control_->device(agent_->device_id());
  ASSERT_TRUE(d.is_object());
  EXPECT_TRUE(d.at("online").as_bool());
  EXPECT_TRUE(d.at("inventory").is_object());
  EXPECT_EQ(control_->devices().size(), 1u);
}

TEST_F(BadInput, TelemetryRefusedForGoodIsAcknowledgedSoTheAgentStopsResending) {
  const std::string device = random_uuid();
  auto acks = dir_.path() / "acks.txt";
  auto sub = Process::spawn(
      {"/usr/bin/mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(broker_->port()), "-q",
       "1", "-C", "2", "-W", "20", "-t", proto::down_cmd_topic(device)},
      acks);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let it subscribe
  const std::string bad_body = random_uuid(), wrong_type = random_uuid();
  publish(
      *broker_, telemetry_topic(device),
      R"({"v":1,"id":")" + bad_body + R"(","type":"telemetry","ts":1,"body":{"cpu_percent":"x"}})",
      dir_);
  publish(*broker_, telemetry_topic(device),
          R"({"v":1,"id":")" + wrong_type + R"(","type":"status","ts":1,"body":{}})", dir_);
  EXPECT_EQ(sub->wait(seconds(20)), 0) << sub->log_text();
  // The acks are signed commands: their payloads (the middle of each JWS) name the ids.
  std::string text;
  std::istringstream lines(sub->log_text());
  for (std::string line; std::getline(lines, line);) {
    auto first = line.find('.'), last = line.rfind('.');
    if (first != std::string::npos && last > first) {
      auto payload = crypto::base64url_decode(line.substr(first + 1, last - first - 1));
      text += payload ? *payload + "\n" : "";
    }
  }
  EXPECT_NE(text.find(bad_body), std::string::npos) << text;
  EXPECT_NE(text.find(wrong_type), std::string::npos) << text;
  EXPECT_NE(text.find(R"("type":"ack")"), std::string::npos) << text;
}

TEST_F(BadInput, HeadGetsTheHeadersWithoutABody) {
  auto r = http_request("HEAD", control_->url() + "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  // The connection stays usable: the next request on a fresh handle works as well.
  EXPECT_EQ(http_get(control_->url() + "/healthz").status, 200);
}

TEST_F(BadInput, AStaleLastWillFromAnEarlierSessionNeverTurnsALiveDeviceOffline) {  // S28
  auto device = control_->device(agent_->device_id());
  auto session = device.at("session").to_number<std::uint64_t>();
  ASSERT_GE(session, 1u);
  auto stale_before = control_->metric("hecs_ingest_stale_total");
  auto will = proto::make_envelope(
      "status", 1, proto::to_json(proto::Status{proto::State::offline, session - 1}));
  publish(*broker_, proto::up_topic(agent_->device_id(), proto::UpKind::status),
          proto::serialize(will), dir_);
  ASSERT_TRUE(wait_until([&] { return control_->metric("hecs_ingest_stale_total") > stale_before; },
                         seconds(10)));
  auto after = control_->device(agent_->device_id());
  EXPECT_TRUE(after.at("online").as_bool());
  EXPECT_EQ(after.at("session").to_number<std::uint64_t>(), session);
}

TEST_F(BadInput, HostileHttpGetsA4xxProblem) {
  const std::string base = control_->url();
  const std::string auth = "Authorization: Bearer " + control_->api_key();
  struct Case {
    std::string name, method, path;
    std::vector<std::string> headers;
    std::string body;
    long status;
  } cases[] = {
      {"no key", "GET", "/api/v1/devices", {}, "", 401},
      {"malformed key", "GET", "/api/v1/devices", {"Authorization: Bearer nope"}, "", 401},
      {"unknown key",
       "GET",
       "/api/v1/devices",
       {"Authorization: Bearer hecs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000"},
       "",
       401},
      {"basic auth", "GET", "/api/v1/devices", {"Authorization: Basic YTpi"}, "", 401},
      {"huge header",
       "GET",
       "/api/v1/devices",
       {auth, "X-Junk: " + std::string(20000, 'a')},
       "",
       431},
      {"bad cursor", "GET", "/api/v1/devices?cursor=%%%", {auth}, "", 400},
      {"forged cursor", "GET", "/api/v1/devices?cursor=Zm9vYmFy", {auth}, "", 400},
      {"limit zero", "GET", "/api/v1/devices?limit=0", {auth}, "", 400},
      {"limit huge", "GET", "/api/v1/devices?limit=100000", {auth}, "", 400},
      {"limit text", "GET", "/api/v1/devices?limit=ten", {auth}, "", 400},
      {"online maybe", "GET", "/api/v1/devices?online=maybe", {auth}, "", 400},
      {"unknown param", "GET", "/api/v1/devices?tenant_id=x", {auth}, "", 400},
      {"NUL in path", "GET", "/api/v1/devices/%00", {auth}, "", 400},
      {"unknown route", "GET", "/api/v1/nothing", {auth}, "", 404},
      {"dot-dot", "GET", "/api/v1/../../etc/passwd", {auth}, "", 404},
      {"non-uuid id", "GET", "/api/v1/devices/abc", {auth}, "", 404},
      {"unknown id", "GET", "/api/v1/devices/" + random_uuid(), {auth}, "", 404},
      {"wrong method", "POST", "/api/v1/devices", {auth}, "{}", 405},
      {"DELETE health", "DELETE", "/healthz", {}, "", 405},
      {"body too large", "POST", "/api/v1/devices", {auth}, std::string(2 << 20, 'x'), 413},
  };
  for (const auto& c : cases) {
    auto r = http_request(c.method, base + c.path, c.headers, c.body);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/problem+json") << c.name;
    auto problem = r.json();
    ASSERT_TRUE(problem.is_object()) << c.name << ": " << r.body;
    EXPECT_EQ(problem.at("status").to_number<long>(), c.status) << c.name;
    EXPECT_TRUE(problem.at("code").is_string()) << c.name;
    EXPECT_TRUE(problem.at("title").is_string()) << c.name;
  }
  EXPECT_TRUE(control_->process().running());
  EXPECT_EQ(control_->get("/api/v1/devices").status, 200);
}

TEST_F(BadInput, MetricsPassPromtoolCheck) {
  auto r = http_get(control_->url() + "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("hecs_devices_online 1"), std::string::npos) << r.body;
  auto file = dir_.path() / "metrics.txt";
  std::ofstream(file) << r.body;
  std::string out;
  EXPECT_EQ(run_command("promtool check metrics < " + file.string() + " 2>&1", &out), 0) << out;
}

TEST_F(BadInput, DevicePagesWalkEveryDeviceOnceAndFiltersApply) {
  // Nine more devices, announced by hello messages through the real broker.
  std::set<std::string> all = {agent_->device_id()};
  for (int i = 0; i < 9; ++i) {
    proto::Hello hello;
    hello.session = 1;
    hello.hostname = i % 3 == 0 ? "gateway-" + std::to_string(i) : "sensor-" + std::to_string(i);
    std::string id = random_uuid();
    all.insert(id);
    publish(*broker_, proto::up_topic(id, proto::UpKind::hello),
            proto::serialize(proto::make_envelope("hello", 1, proto::to_json(hello))), dir_);
  }
  ASSERT_TRUE(wait_until([&] { return control_->devices().size() == all.size(); }, seconds(10)));

  std::vector<std::string> walked;
  std::string cursor;
  for (int page = 0; page < 20; ++page) {
    auto r = control_->get("/api/v1/devices?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(r.status, 200);
    auto body = r.json();
    EXPECT_EQ(body.at("total").to_number<std::size_t>(), all.size());
    for (const auto& item : body.at("items").as_array()) {
      walked.emplace_back(item.at("id").as_string());
    }
    if (!body.at("next_cursor").is_string()) {
      break;
    }
    cursor = std::string(body.at("next_cursor").as_string());
  }
  EXPECT_EQ(walked.size(), all.size());
  EXPECT_TRUE(std::is_sorted(walked.begin(), walked.end()));
  EXPECT_EQ(std::set<std::string>(walked.begin(), walked.end()), all);

  auto gateways = control_->get("/api/v1/devices?q=GATEWAY").json();
  EXPECT_EQ(gateways.at("total").to_number<int>(), 3);
  // Only status says online (a hello alone does not), so only the real agent is online.
  auto online = control_->get("/api/v1/devices?online=true").json();
  EXPECT_EQ(online.at("total").to_number<int>(), 1);
  auto offline = control_->get("/api/v1/devices?online=false").json();
  EXPECT_EQ(offline.at("total").to_number<int>(), 9);
  auto none = control_->get("/api/v1/devices?q=%25").json();  // a literal %, not a wildcard
  EXPECT_EQ(none.at("total").to_number<int>(), 0);
}

TEST(SlowClient, IsCutOffAfterTheReadTimeoutWithoutBeingServed) {
  auto broker = Mosquitto::start();
  auto control = Control::start(broker->url(), {}, {"--http-read-timeout-seconds", "2"});
  const std::string url = control->url();
  const int port = std::stoi(url.substr(url.rfind(':') + 1));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{0, 100 * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  // Slowloris: a valid request, one header byte every 200 ms, never finished.
  const std::string start = "GET /api/v1/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                            control->api_key() + "\r\nX-Slow: ";
  ASSERT_EQ(::send(fd, start.data(), start.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(start.size()));
  const auto t0 = std::chrono::steady_clock::now();
  bool closed = false;
  std::string answer;
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10)) {
    if (::send(fd, "a", 1, MSG_NOSIGNAL) != 1) {
      closed = true;
      break;
    }
    char buf[512];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) {
      closed = true;
      break;
    }
    if (n > 0) {
      answer.append(buf, static_cast<std::size_t>(n));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::close(fd);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(closed);
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_GE(took, std::chrono::milliseconds(1500));
  EXPECT_EQ(answer.find("200 OK"), std::string::npos) << answer;
  // And the server still serves everyone else.
  EXPECT_EQ(http_get(url + "/healthz").status, 200);
}

TEST_F(BadInput, BodiesWithBadJsonUnknownFieldsOrSqlInNamesChangeNothing) {
  const std::string base = control_->url();
  const std::string auth = "Authorization: Bearer " + control_->api_key();
  const std::vector<std::string> json_header = {auth, "Content-Type: application/json"};
  struct Case {
    std::string name, method, path, body;
    long status;
  } cases[] = {
      {"invalid json", "POST", "/api/v1/keys", "{\"name\":", 400},
      {"not an object", "POST", "/api/v1/keys", "[1,2]", 400},
      {"too deep", "POST", "/api/v1/keys", std::string(100, '[') + std::string(100, ']'), 400},
      {"unknown field", "POST", "/api/v1/keys", R"({"name":"x","role":"viewer","admin":true})",
       400},
      {"wrong type", "POST", "/api/v1/keys", R"({"name":7,"role":"viewer"})", 400},
      {"control char", "POST", "/api/v1/users",
       "{\"username\":\"a\\u0000b\",\"password\":\"long enough password\",\"role\":\"viewer\"}",
       400},
      {"huge name", "POST", "/api/v1/keys",
       R"({"name":")" + std::string(5000, 'n') + R"(","role":"viewer"})", 400},
      {"sql in filter", "GET", "/api/v1/audit?actor=%27%20OR%201%3D1%20--", "", 200},
      {"sql in query", "GET", "/api/v1/devices?q=%27%3B%20DROP%20TABLE%20devices%3B%20--", "", 200},
  };
  const auto keys_before = control_->call("GET", "/api/v1/keys").body;
  for (const auto& c : cases) {
    auto r = http_request(c.method, base + c.path, json_header, c.body);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    if (c.status == 200) {
      EXPECT_EQ(r.json().at("items").as_array().size(), 0u) << c.name;
    } else {
      EXPECT_EQ(r.content_type, "application/problem+json") << c.name;
    }
  }
  EXPECT_EQ(control_->call("GET", "/api/v1/keys").body, keys_before);
  // A name full of SQL is a name like any other: stored as given, harming nothing.
  const std::string sql_name = "x'); DROP TABLE api_keys; --";
  boost::json::object body{{"name", sql_name}, {"role", "viewer"}};
  auto made =
      http_request("POST", base + "/api/v1/keys", json_header, boost::json::serialize(body));
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(made.json().at("name"), boost::json::value(sql_name));
  EXPECT_EQ(control_->call("GET", "/api/v1/devices").status, 200);
}

}  // namespace
}  // namespace hecs::test
