// A device's history in process (docs/api.md): GET /api/v1/devices/{id}/presence, the online
// changes ingest records, and GET /api/v1/devices/{id}/telemetry/series, raw samples summed
// into chart buckets. Data goes in through DeviceStore::ingest, as from the broker.
#include <cstdint>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/crypto/crypto.h"
#include "control/api/api_fixture.h"

namespace hecs::control::api::test {
namespace {

namespace json = boost::json;

constexpr const char* kDevice = "2b7c1a52-2f47-4a8e-9b7e-0123456789ab";
constexpr const char* kOther = "3c7c1a52-2f47-4a8e-9b7e-0123456789ab";
constexpr std::int64_t kMinute = 60'000;

class DeviceHistory : public ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    a_ = make_tenant("acme");
    b_ = make_tenant("globex");
  }

  store::IngestItem status_item(bool online, std::uint64_t session) {
    store::IngestItem item;
    item.kind = store::IngestItem::Kind::status;
    item.tenant_id = a_.id;
    item.device_id = kDevice;
    item.message_id = random_uuid();
    item.ts = item.received_at = clock_.now;
    item.online = online;
    item.session = session;
    return item;
  }
  void ingest(std::vector<store::IngestItem> items) {
    auto stats = devices_->ingest(items);
    ASSERT_TRUE(stats) << stats.error().message;
  }
  void status(bool online, std::uint64_t session = 1) { ingest({status_item(online, session)}); }
  void hello(std::uint64_t session = 1) {
    store::IngestItem item = status_item(false, session);
    item.kind = store::IngestItem::Kind::hello;
    item.hostname = "pi-7";
    item.body = R"({"hostname":"pi-7"})";
    ingest({item});
  }
  void sample(std::int64_t ts, const json::object& body) {
    store::IngestItem item;
    item.kind = store::IngestItem::Kind::telemetry;
    item.tenant_id = a_.id;
    item.device_id = kDevice;
    item.message_id = random_uuid();
    item.ts = ts;
    item.received_at = clock_.now;
    item.body = json::serialize(body);
    ingest({item});
  }

  static std::string path(const std::string& device, const std::string& rest) {
    return "/api/v1/devices/" + device + rest;
  }
  static std::string time(std::int64_t ms) { return format_rfc3339_ms(ms); }

  TenantCreds a_, b_;
};

// A telemetry body with eth0 and wlan0 counters; wlan0 stays at 0.
json::object body(double cpu, std::int64_t available, json::array disks, json::value temperature,
                  std::uint64_t rx, std::uint64_t tx) {
  json::object b{{"cpu_percent", cpu},
                 {"memory_total_bytes", 1000},
                 {"memory_available_bytes", available},
                 {"disks", std::move(disks)},
                 {"interfaces",
                  json::array{json::object{{"name", "eth0"}, {"rx_bytes", rx}, {"tx_bytes", tx}},
                              json::object{{"name", "wlan0"}, {"rx_bytes", 0}, {"tx_bytes", 0}}}}};
  if (!temperature.is_null()) {
    b["temperature_c"] = temperature;
  }
  return b;
}

json::object disk(const char* mount, std::int64_t total, std::int64_t used) {
  return {{"mount", mount}, {"total_bytes", total}, {"used_bytes", used}};
}

std::string text(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : json::serialize(v);
}

double number(const json::value& item, const char* key) { return item.at(key).to_number<double>(); }

TEST_F(DeviceHistory, PresenceRecordsOnlyChangesOfTheOnlineStateInOrder) {
  const std::int64_t t0 = clock_.now;
  hello();  // a new device starts offline: no change
  status(true);
  clock_.now += kMinute;
  status(true);  // the same state again: no change
  clock_.now += kMinute;
  hello();  // hello never decides online
  status(false);
  clock_.now += kMinute;
  status(false);
  clock_.now += kMinute;
  status(true, 2);
  clock_.now += kMinute;
  status(false, 1);  // an older session's will: ignored (S28), so no change either

  auto r = get(path(kDevice, "/presence"), a_.viewer);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(r.body.at("items"),
            (json::array{json::object{{"ts", time(t0)}, {"online", true}},
                         json::object{{"ts", time(t0 + 2 * kMinute)}, {"online", false}},
                         json::object{{"ts", time(t0 + 4 * kMinute)}, {"online", true}}}));
  EXPECT_TRUE(r.body.at("online_at_since").is_null());  // nothing recorded before the day
  EXPECT_EQ(r.body.at("more"), false);
}

TEST_F(DeviceHistory, PresenceGivesTheStateInEffectAtSince) {
  const std::int64_t t0 = clock_.now;
  status(true);
  clock_.now += kMinute;
  status(false);

  auto r = get(path(kDevice, "/presence?since=" + std::to_string(t0 + 1)), a_.viewer);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(r.body.at("online_at_since"), true);
  EXPECT_EQ(text(r.body.at("since")), time(t0 + 1));
  EXPECT_EQ(r.body.at("items"),
            (json::array{json::object{{"ts", time(t0 + kMinute)}, {"online", false}}}));
}

TEST_F(DeviceHistory, ChangesOfOneBatchInOneMillisecondKeepTheirOrder) {
  ingest({status_item(true, 1), status_item(false, 1), status_item(true, 2)});
  auto r = get(path(kDevice, "/presence"), a_.viewer);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  const auto& items = r.body.at("items").as_array();
  ASSERT_EQ(items.size(), 3u) << r.raw.body;
  EXPECT_EQ(items[0].at("online"), true);
  EXPECT_EQ(items[1].at("online"), false);
  EXPECT_EQ(items[2].at("online"), true);
}

TEST_F(DeviceHistory, PrunedChangesAreGone) {
  const std::int64_t t0 = clock_.now;
  status(true);
  clock_.now += kMinute;
  status(false);
  auto pruned = telemetry_->prune_presence(t0 + 1);
  ASSERT_TRUE(pruned);
  EXPECT_EQ(*pruned, 1u);
  auto r = get(path(kDevice, "/presence?since=0"), a_.viewer);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(r.body.at("items").as_array().size(), 1u) << r.raw.body;
}

TEST_F(DeviceHistory, SeriesAveragesEachBucketAndSkipsResetCounters) {
  const std::int64_t since = clock_.now - 10 * kMinute;  // a whole minute: buckets start there
  status(true);
  json::array root_and_boot{disk("/boot", 100, 90), disk("/", 1000, 400)};
  sample(since, body(10, 750, root_and_boot, 40, 1000, 500));
  root_and_boot[1].as_object()["used_bytes"] = 600;
  // 30 s later: eth0 received 30 000 B (1000 B/s) and sent 3000 B (100 B/s).
  sample(since + 30'000, body(30, 250, root_and_boot, 50, 31'000, 3500));
  // The minute after is empty. Then eth0's rx counter went down (a reset), tx went on at
  // 100 B/s; no "/" filesystem (the largest counts) and no temperature sensor.
  json::array no_root{disk("/boot", 100, 100), disk("/data", 200, 50)};
  sample(since + 120'000, body(50, 500, no_root, nullptr, 10, 12'500));
  sample(since + 150'000, body(70, 500, no_root, nullptr, 3010, 15'500));

  auto r = get(path(kDevice, "/telemetry/series?since=" + std::to_string(since) + "&step=60000"),
               a_.viewer);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(r.body.at("step"), 60000);
  EXPECT_EQ(text(r.body.at("since")), time(since));
  const auto& items = r.body.at("items").as_array();
  ASSERT_EQ(items.size(), 2u) << r.raw.body;  // the empty minute is left out

  const auto& first = items[0];
  EXPECT_EQ(text(first.at("ts")), time(since));
  EXPECT_EQ(first.at("samples"), 2);
  EXPECT_DOUBLE_EQ(number(first, "cpu_percent"), 20);
  EXPECT_DOUBLE_EQ(number(first, "memory_percent"), 50);  // (25 % + 75 %) / 2
  EXPECT_DOUBLE_EQ(number(first, "disk_percent"), 50);    // "/": (40 % + 60 %) / 2
  EXPECT_DOUBLE_EQ(number(first, "temperature_c"), 45);
  EXPECT_DOUBLE_EQ(number(first, "rx_bytes_per_s"), 1000);
  EXPECT_DOUBLE_EQ(number(first, "tx_bytes_per_s"), 100);

  const auto& third = items[1];
  EXPECT_EQ(text(third.at("ts")), time(since + 2 * kMinute));
  EXPECT_EQ(third.at("samples"), 2);
  EXPECT_DOUBLE_EQ(number(third, "cpu_percent"), 60);
  EXPECT_DOUBLE_EQ(number(third, "memory_percent"), 50);
  EXPECT_DOUBLE_EQ(number(third, "disk_percent"), 25);  // /data, the largest
  EXPECT_TRUE(third.at("temperature_c").is_null());
  // rx: only the 30 s after the reset count (3000 B); tx: 12 000 B over 120 s.
  EXPECT_DOUBLE_EQ(number(third, "rx_bytes_per_s"), 100);
  EXPECT_DOUBLE_EQ(number(third, "tx_bytes_per_s"), 100);
}

TEST_F(DeviceHistory, SeriesBucketsStartAtWholeStepsAndEndNow) {
  const std::int64_t minute_start = clock_.now - 5 * kMinute;
  status(true);
  sample(minute_start + 1000, body(10, 500, {}, nullptr, 0, 0));
  sample(clock_.now + 1000, body(90, 500, {}, nullptr, 0, 0));  // the device's clock is ahead
  // since inside the minute: that minute's bucket is still whole.
  auto r = get(
      path(kDevice, "/telemetry/series?step=60000&since=" + std::to_string(minute_start + 30'000)),
      a_.viewer);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  const auto& items = r.body.at("items").as_array();
  ASSERT_EQ(items.size(), 1u) << r.raw.body;
  EXPECT_EQ(text(items[0].at("ts")), time(minute_start));
  EXPECT_DOUBLE_EQ(number(items[0], "cpu_percent"), 10);
  EXPECT_TRUE(items[0].at("rx_bytes_per_s").is_null());  // a single sample has no rate
}

// The panel reads again only its newest bucket; the sample before that bucket is the base of
// the bucket's rates, so a bucket with a single sample keeps its rate on a refresh.
TEST_F(DeviceHistory, ARefreshOfTheNewestBucketAloneHasItsNetworkRates) {
  const std::int64_t start = clock_.now - 2 * kMinute;  // a whole step of 30 s
  status(true);
  sample(start - 30'000, body(10, 500, {}, nullptr, 1000, 100));
  sample(start, body(20, 500, {}, nullptr, 31'000, 3100));  // 1000 B/s in, 100 B/s out
  sample(start + 30'000, body(30, 500, {}, nullptr, 61'000, 6100));
  auto r =
      get(path(kDevice, "/telemetry/series?step=30000&since=" + std::to_string(start)), a_.viewer);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  const auto& items = r.body.at("items").as_array();
  ASSERT_EQ(items.size(), 2u) << r.raw.body;  // the sample before `since` makes no bucket
  EXPECT_EQ(text(items[0].at("ts")), time(start));
  EXPECT_EQ(items[0].at("samples"), 1);
  EXPECT_DOUBLE_EQ(number(items[0], "cpu_percent"), 20);
  EXPECT_DOUBLE_EQ(number(items[0], "rx_bytes_per_s"), 1000);
  EXPECT_DOUBLE_EQ(number(items[0], "tx_bytes_per_s"), 100);
  EXPECT_DOUBLE_EQ(number(items[1], "rx_bytes_per_s"), 1000);
}

TEST_F(DeviceHistory, SeriesReadsMoreSamplesThanOneChunk) {
  status(true);
  const std::int64_t since = clock_.now - 20 * kMinute;
  std::vector<store::IngestItem> batch;
  for (int i = 0; i < 1200; ++i) {  // 1 s apart: more rows than one read of the store
    store::IngestItem item;
    item.kind = store::IngestItem::Kind::telemetry;
    item.tenant_id = a_.id;
    item.device_id = kDevice;
    item.message_id = random_uuid();
    item.ts = since + i * 1000;
    item.received_at = clock_.now;
    item.body = json::serialize(body(i % 2 == 0 ? 0 : 100, 500, {}, nullptr, 1000ULL * i, 0));
    batch.push_back(std::move(item));
  }
  ingest(std::move(batch));
  auto r =
      get(path(kDevice, "/telemetry/series?step=600000&since=" + std::to_string(since)), a_.viewer);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  const auto& items = r.body.at("items").as_array();
  ASSERT_EQ(items.size(), 2u) << r.raw.body;
  EXPECT_EQ(items[0].at("samples").to_number<int>() + items[1].at("samples").to_number<int>(),
            1200);
  EXPECT_DOUBLE_EQ(number(items[0], "cpu_percent"), 50);
  EXPECT_DOUBLE_EQ(number(items[1], "rx_bytes_per_s"), 1000);
}

TEST_F(DeviceHistory, BadParametersAre400WithTheReason) {
  status(true);
  const std::string now = std::to_string(clock_.now);
  const std::string hour_ago = std::to_string(clock_.now - 60 * kMinute);
  struct Case {
    std::string query;
    std::string detail;
  };
  const std::vector<Case> series = {
      {"step=5000", "step must be 10000..86400000 ms"},
      {"step=ten", "step must be a non-negative integer of milliseconds"},
      {"since=-5", "since must be a non-negative integer of milliseconds"},
      {"since=" + std::to_string(clock_.now - 49 * 60 * kMinute),
       "since must be within the raw telemetry window (48 h)"},
      {"since=" + std::to_string(clock_.now + 1), "since is in the future"},
      {"since=" + std::to_string(clock_.now - 47 * 60 * kMinute) + "&step=10000",
       "16921 buckets asked, at most 1500: raise step"},
      {"since=" + hour_ago + "&limit=5", "unknown query parameter 'limit'"},
  };
  for (const auto& c : series) {
    auto r = get(path(kDevice, "/telemetry/series?" + c.query), a_.viewer);
    EXPECT_EQ(r.status, 400) << c.query;
    EXPECT_EQ(text(r.body.at("detail")), c.detail) << c.query;
  }
  const std::vector<std::string> bad_presence = {"since=yesterday", "since=-1", "step=60000",
                                                 "since=" + std::to_string(clock_.now + 1),
                                                 "since=9223372036854775807"};
  for (const auto& query : bad_presence) {
    auto r = get(path(kDevice, "/presence?" + query), a_.viewer);
    EXPECT_EQ(r.status, 400) << query;
  }
}

TEST_F(DeviceHistory, AnotherTenantsDeviceIs404LikeAMissingOne) {
  status(true);
  sample(clock_.now - kMinute, body(10, 500, {}, nullptr, 0, 0));
  for (const std::string rest : {"/presence", "/telemetry/series"}) {
    auto theirs = get(path(kDevice, rest), b_.owner);
    auto missing = get(path(kOther, rest), b_.owner);
    auto malformed = get(path("not-a-uuid", rest), a_.viewer);
    EXPECT_EQ(theirs.status, 404) << rest;
    EXPECT_EQ(missing.status, 404) << rest;
    EXPECT_EQ(malformed.status, 404) << rest;
    EXPECT_EQ(text(theirs.body.at("detail")), text(missing.body.at("detail"))) << rest;
    EXPECT_EQ(theirs.raw.body.find("cpu"), std::string::npos);
  }
}

TEST_F(DeviceHistory, ADeviceWithoutHistoryHasEmptyLists) {
  hello();
  auto presence = get(path(kDevice, "/presence"), a_.viewer);
  ASSERT_EQ(presence.status, 200) << presence.raw.body;
  EXPECT_TRUE(presence.body.at("items").as_array().empty());
  EXPECT_TRUE(presence.body.at("online_at_since").is_null());
  auto series = get(path(kDevice, "/telemetry/series"), a_.viewer);
  ASSERT_EQ(series.status, 200) << series.raw.body;
  EXPECT_TRUE(series.body.at("items").as_array().empty());
  EXPECT_EQ(series.body.at("step"), 60000);  // the default
}

}  // namespace
}  // namespace hecs::control::api::test
