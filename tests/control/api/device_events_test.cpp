// GET /api/v1/devices/events in process (docs/api.md, "Device events"): the first counts, a
// status change arriving as an event, another tenant's devices never, coalescing, the bound on
// open streams. The tests notify devices::Events as ingest does after its commit.
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/crypto/crypto.h"
#include "control/api/api_fixture.h"

namespace hecs::control::api::test {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kDeviceA = "6f1c1a52-2f47-4a8e-9b7e-0123456789ab";
constexpr const char* kDeviceA2 = "7f1c1a52-2f47-4a8e-9b7e-0123456789ab";
constexpr const char* kDeviceB = "8f1c1a52-2f47-4a8e-9b7e-0123456789ab";

struct Event {
  std::string name;
  json::value data;
};

// "event: x\ndata: {...}\n\n" pieces; comments and blank pieces are skipped.
std::vector<Event> parse_events(const std::string& text) {
  std::vector<Event> out;
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find("\n\n", at);
    if (end == std::string::npos) {
      end = text.size();
    }
    std::string block = text.substr(at, end - at);
    at = end + 2;
    Event e;
    std::size_t line_at = 0;
    while (line_at < block.size()) {
      auto nl = block.find('\n', line_at);
      if (nl == std::string::npos) {
        nl = block.size();
      }
      std::string line = block.substr(line_at, nl - line_at);
      line_at = nl + 1;
      if (line.starts_with("event: ")) {
        e.name = line.substr(7);
      } else if (line.starts_with("data: ")) {
        e.data = json::parse(line.substr(6));
      }
    }
    if (!e.name.empty()) {
      out.push_back(std::move(e));
    }
  }
  return out;
}

class DeviceEvents : public ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    a_ = make_tenant("acme");
    b_ = make_tenant("globex");
    status(a_.id, kDeviceA, true, 1);
    hello(a_.id, kDeviceA2, "acme-2", 1);
    status(b_.id, kDeviceB, true, 1);
  }

  void put(store::IngestItem item) {
    item.message_id = random_uuid();
    item.ts = item.received_at = clock_.now;
    ASSERT_TRUE(devices_->ingest(std::span(&item, 1)));
  }
  void status(const std::string& tenant, const std::string& device, bool online,
              std::uint64_t session) {
    store::IngestItem item;
    item.kind = store::IngestItem::Kind::status;
    item.tenant_id = tenant;
    item.device_id = device;
    item.online = online;
    item.session = session;
    put(std::move(item));
  }
  void hello(const std::string& tenant, const std::string& device, const std::string& hostname,
             std::uint64_t session) {
    store::IngestItem item;
    item.kind = store::IngestItem::Kind::hello;
    item.tenant_id = tenant;
    item.device_id = device;
    item.hostname = hostname;
    item.session = session;
    item.body = json::serialize(json::object{{"hostname", hostname}});
    put(std::move(item));
  }

  std::shared_ptr<net::BodyStream> open(const Cred& cred) {
    auto r = get("/api/v1/devices/events", cred);
    EXPECT_EQ(r.status, 200) << r.raw.body;
    EXPECT_EQ(r.raw.content_type, "text/event-stream");
    EXPECT_TRUE(r.raw.stream);
    return r.raw.stream;
  }

  // Asks for the next piece; nullopt when none came within `wait` (the request stays pending:
  // the caller closes the stream).
  static std::optional<std::string> pull(net::BodyStream& stream,
                                         std::chrono::milliseconds wait = std::chrono::seconds(2)) {
    auto promise = std::make_shared<std::promise<std::optional<std::string>>>();
    auto future = promise->get_future();
    stream.pull([promise](std::optional<std::string> piece) { promise->set_value(piece); });
    if (future.wait_for(wait) != std::future_status::ready) {
      return std::nullopt;
    }
    auto piece = future.get();
    EXPECT_TRUE(piece) << "the stream ended";
    return piece ? piece : std::optional<std::string>(std::string());
  }

  TenantCreds a_, b_;
};

TEST_F(DeviceEvents, StartsWithTheCountsOfTheCallersTenant) {
  auto stream = open(a_.viewer);
  ASSERT_TRUE(stream);
  auto first = pull(*stream);
  ASSERT_TRUE(first);
  auto events = parse_events(*first);
  ASSERT_EQ(events.size(), 1u) << *first;
  EXPECT_EQ(events[0].name, "counts");
  // kDeviceA online; kDeviceA2 never sent status: offline. kDeviceB is tenant B's.
  EXPECT_EQ(events[0].data, json::parse(R"({"online":1,"offline":1,"pending":0,"total":2})"));
  stream->close();
}

TEST_F(DeviceEvents, NeedsAuthentication) {
  auto r = get("/api/v1/devices/events", Cred{});
  EXPECT_EQ(r.status, 401);
}

TEST_F(DeviceEvents, AStatusChangeArrivesAsAnEventThenFreshCounts) {
  auto stream = open(a_.viewer);
  ASSERT_TRUE(pull(*stream));
  clock_.now += 1000;
  status(a_.id, kDeviceA, false, 1);
  device_events_.notify({a_.id});
  auto piece = pull(*stream);
  ASSERT_TRUE(piece);
  auto events = parse_events(*piece);
  ASSERT_EQ(events.size(), 2u) << *piece;
  EXPECT_EQ(events[0].name, "device");
  EXPECT_EQ(events[0].data.at("id"), kDeviceA);
  EXPECT_EQ(events[0].data.at("online"), false);
  EXPECT_EQ(events[0].data.at("state"), "accepted");
  EXPECT_TRUE(events[0].data.at("last_seen").is_string());
  EXPECT_EQ(events[1].name, "counts");
  EXPECT_EQ(events[1].data, json::parse(R"({"online":0,"offline":2,"pending":0,"total":2})"));
  stream->close();
}

TEST_F(DeviceEvents, WaitsForAWakeUpAndSendsKeepalivesWhenIdle) {
  auto stream = open(a_.viewer);
  ASSERT_TRUE(pull(*stream));
  auto promise = std::make_shared<std::promise<std::optional<std::string>>>();
  auto future = promise->get_future();
  stream->pull([promise](std::optional<std::string> piece) { promise->set_value(piece); });
  EXPECT_EQ(future.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  device_events_.sweep(std::chrono::milliseconds(0));  // as the ingest timer does when idle
  ASSERT_EQ(future.wait_for(std::chrono::seconds(2)), std::future_status::ready);
  auto piece = future.get();
  ASSERT_TRUE(piece);
  EXPECT_EQ(*piece, "");  // the server writes ": keepalive" for it
  stream->close();
}

TEST_F(DeviceEvents, AnotherTenantsDeviceNeverArrives) {
  auto stream = open(a_.viewer);
  ASSERT_TRUE(pull(*stream));
  clock_.now += 1000;
  // One batch with devices of both tenants wakes both tenants' streams.
  status(b_.id, kDeviceB, false, 1);
  hello(b_.id, kDeviceB, "globex-secret", 1);
  device_events_.notify({a_.id, b_.id});
  auto piece = pull(*stream);
  ASSERT_TRUE(piece);
  EXPECT_THAT(*piece, Not(HasSubstr(kDeviceB)));
  EXPECT_THAT(*piece, Not(HasSubstr("globex")));
  EXPECT_TRUE(parse_events(*piece).empty()) << *piece;
  // A's own change still arrives afterwards, and only it.
  clock_.now += 1000;
  status(a_.id, kDeviceA, false, 1);
  status(b_.id, kDeviceB, true, 1);
  device_events_.notify({a_.id, b_.id});
  piece = pull(*stream);
  ASSERT_TRUE(piece);
  auto events = parse_events(*piece);
  ASSERT_EQ(events.size(), 2u) << *piece;
  EXPECT_EQ(events[0].data.at("id"), kDeviceA);
  EXPECT_THAT(*piece, Not(HasSubstr(kDeviceB)));
  // Tenant B's stream sees its own device, never A's.
  auto other = open(b_.viewer);
  ASSERT_TRUE(pull(*other));
  clock_.now += 1000;
  status(b_.id, kDeviceB, false, 1);
  status(a_.id, kDeviceA, true, 1);
  device_events_.notify({a_.id, b_.id});
  piece = pull(*other);
  ASSERT_TRUE(piece);
  EXPECT_THAT(*piece, HasSubstr(kDeviceB));
  EXPECT_THAT(*piece, Not(HasSubstr(kDeviceA)));
  stream->close();
  other->close();
}

TEST_F(DeviceEvents, ChangesBeforeTheClientReadsAreSentOnceWithTheLatestState) {
  auto stream = open(a_.viewer);
  ASSERT_TRUE(pull(*stream));
  // Several batches while the client does not read: nobody waits, ingest is not held.
  for (int i = 0; i < 5; ++i) {
    clock_.now += 10;
    status(a_.id, kDeviceA, i % 2 == 0 ? false : true, 1);
    hello(a_.id, kDeviceA, "renamed-" + std::to_string(i), 1);
    device_events_.notify({a_.id});
  }
  clock_.now += 10;
  status(a_.id, kDeviceA, false, 2);
  device_events_.notify({a_.id});
  auto piece = pull(*stream);
  ASSERT_TRUE(piece);
  auto events = parse_events(*piece);
  ASSERT_EQ(events.size(), 2u) << *piece;
  EXPECT_EQ(events[0].name, "device");
  EXPECT_EQ(events[0].data.at("id"), kDeviceA);
  EXPECT_EQ(events[0].data.at("hostname"), "renamed-4");
  EXPECT_EQ(events[0].data.at("online"), false);
  EXPECT_EQ(events[1].name, "counts");
  // Nothing more is pending: the next pull waits.
  EXPECT_FALSE(pull(*stream, std::chrono::milliseconds(50)));
  stream->close();
}

TEST_F(DeviceEvents, EnrolmentDecisionsArrive) {
  auto stream = open(a_.viewer);
  ASSERT_TRUE(pull(*stream));
  // A device of A that is pending, made as enrolment makes it; the decision notifies by itself.
  const std::string pending = "9f1c1a52-2f47-4a8e-9b7e-0123456789ab";
  auto token = post("/api/v1/enrollment-tokens", a_.admin,
                    json::object{{"max_uses", 1}, {"auto_approve", false}});
  ASSERT_EQ(token.status, 201) << token.raw.body;
  store::EnrolRequest request;
  request.token_hash = crypto::sha256_hex(std::string(token.body.at("token").as_string()));
  request.device_id = pending;
  request.public_key_sha256 = std::string(64, 'a');
  request.public_key_pem = "pem";
  request.now = clock_.now + 1000;
  clock_.now += 1000;
  ASSERT_TRUE(enrollments_->enrol(request));
  device_events_.notify({a_.id});
  auto piece = pull(*stream);
  ASSERT_TRUE(piece);
  auto events = parse_events(*piece);
  ASSERT_EQ(events.size(), 2u) << *piece;
  EXPECT_EQ(events[0].data.at("state"), "pending");
  EXPECT_EQ(events[1].data.at("pending"), 1);
  clock_.now += 1000;
  // Rejected (accepting would issue a certificate for a real key, which this one is not).
  auto rejected = post("/api/v1/devices/" + pending + "/reject", a_.admin, json::object{});
  ASSERT_EQ(rejected.status, 200) << rejected.raw.body;
  piece = pull(*stream);
  ASSERT_TRUE(piece);
  events = parse_events(*piece);
  ASSERT_EQ(events.size(), 2u) << *piece;
  EXPECT_EQ(events[0].data.at("id"), json::value(pending));
  EXPECT_EQ(events[0].data.at("state"), "rejected");
  EXPECT_EQ(events[1].data.at("pending"), 0);
  EXPECT_EQ(events[1].data.at("total"), 3);
  stream->close();
}

TEST_F(DeviceEvents, AtMostSoManyStreamsAreOpen) {
  std::vector<std::shared_ptr<net::BodyStream>> open_streams;
  for (int i = 0; i < 256; ++i) {
    auto r = get("/api/v1/devices/events", a_.viewer);
    ASSERT_EQ(r.status, 200) << i;
    open_streams.push_back(r.raw.stream);
  }
  auto refused = get("/api/v1/devices/events", a_.viewer);
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.header("Retry-After"), "5");
  open_streams.pop_back();  // a stream that ended gives its slot back
  auto again = get("/api/v1/devices/events", a_.viewer);
  EXPECT_EQ(again.status, 200);
}

}  // namespace
}  // namespace hecs::control::api::test
