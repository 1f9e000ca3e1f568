// The ingest writer against a real SQLite store: batching and how a backlog drains.
#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <soci/soci.h>

#include "control/devices/devices.h"
#include "proto/proto.h"
#include "support/io_loop.h"
#include "support/process.h"
#include "support/tempdir.h"

namespace hecs::control::devices {
namespace {
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace): test durations

constexpr const char* kTenant = "11111111-1111-4111-8111-111111111111";
constexpr const char* kDevice = "22222222-2222-4222-8222-222222222222";
constexpr const char* kTenantB = "33333333-3333-4333-8333-333333333333";
constexpr const char* kDeviceB = "44444444-4444-4444-8444-444444444444";

class IngestWriter : public ::testing::Test {
 protected:
  void SetUp() override {
    db::Options options;
    options.url = (dir_.path() / "control.db").string();
    auto opened = store::open_and_migrate(options);
    ASSERT_TRUE(opened) << opened.error().message;
    db_ = std::move(*opened);
    devices_.emplace(*db_);
    telemetry_.emplace(*db_);
  }

  std::uint64_t stored() {
    auto n = telemetry_->count(kTenant, kDevice);
    EXPECT_TRUE(n) << n.error().message;
    return n ? *n : 0;
  }

  static std::string telemetry_payload(std::int64_t ts) {
    proto::Telemetry t;
    t.cpu_percent = 1;
    t.memory_total_bytes = 1 << 20;
    return proto::serialize(proto::make_envelope("telemetry", ts, proto::to_json(t)));
  }

  static std::string hello_payload(std::int64_t ts, std::uint64_t session) {
    proto::Hello h;
    h.session = session;
    h.hostname = "gateway-b";
    h.agent_version = "0.3.1";
    return proto::serialize(proto::make_envelope("hello", ts, proto::to_json(h)));
  }

  test::TempDir dir_{"ingest"};
  std::unique_ptr<db::Database> db_;
  std::optional<store::DeviceStore> devices_;
  std::optional<store::TelemetryStore> telemetry_;
  metrics::Registry metrics_;
  SystemClock clock_;
  test::IoLoop loop_;  // after what its work uses
  boost::asio::io_context& io_ = loop_.io();
  boost::asio::thread_pool& workers_ = loop_.workers();
};

TEST_F(IngestWriter, ABacklogOfSeveralBatchesIsWrittenBackToBackNotOneBatchPerTick) {
  IngestOptions options;
  options.tenant_id = kTenant;
  options.max_batch = 10;
  options.flush_interval = 2s;  // one tick in the whole test, besides the first
  std::atomic<int> committed{0};
  options.on_committed = [&](const std::string&, std::vector<std::string> ids) {
    committed += static_cast<int>(ids.size());
  };
  Ingest ingest(io_, workers_, *devices_, metrics_, clock_, options);
  const auto topic = proto::up_topic(kDevice, proto::UpKind::telemetry);
  const auto now = clock_.now_ms();
  for (int i = 0; i < 50; ++i) {
    ingest.on_message(topic, telemetry_payload(now + i));
  }
  ingest.start();
  // The first tick writes a batch of 10, and the four batches behind it follow at once.
  EXPECT_TRUE(test::wait_until([&] { return stored() == 50; }, 3500ms)) << stored();
  EXPECT_EQ(committed.load(), 50);
  EXPECT_EQ(ingest.backlog(), 0U);
  ingest.stop();
}

TEST_F(IngestWriter, ALessThanFullBatchWaitsForItsTick) {
  IngestOptions options;
  options.tenant_id = kTenant;
  options.max_batch = 10;
  options.flush_interval = 300ms;
  Ingest ingest(io_, workers_, *devices_, metrics_, clock_, options);
  const auto topic = proto::up_topic(kDevice, proto::UpKind::telemetry);
  const auto now = clock_.now_ms();
  for (int i = 0; i < 15; ++i) {
    ingest.on_message(topic, telemetry_payload(now + i));
  }
  ingest.start();
  EXPECT_TRUE(test::wait_until([&] { return stored() == 15; }, 3s)) << stored();
  ingest.stop();
}

// A device enrolled into another tenant than the default one: its hello and telemetry land in
// its own tenant (they were once written to the default tenant and so ignored).
TEST_F(IngestWriter, MessagesOfADeviceEnrolledIntoAnotherTenantLandInThatTenant) {
  const auto now = clock_.now_ms();
  ASSERT_TRUE(db_->transact([&](soci::session& sql) -> Result<void> {
    const long long at = now;
    const std::string id = kDeviceB, tenant = kTenantB;  // soci binds references: no temporaries
    sql << "INSERT INTO devices (id, tenant_id, first_seen, last_seen) VALUES (:id, :t, :f, :l)",
        soci::use(id), soci::use(tenant), soci::use(at), soci::use(at);
    return {};
  }));
  IngestOptions options;
  options.tenant_id = kTenant;
  options.flush_interval = 50ms;
  Ingest ingest(io_, workers_, *devices_, metrics_, clock_, options);
  ingest.start();
  ingest.on_message(proto::up_topic(kDeviceB, proto::UpKind::hello), hello_payload(now, 7));
  ingest.on_message(proto::up_topic(kDeviceB, proto::UpKind::telemetry), telemetry_payload(now));
  // A device without a row joins the default tenant.
  ingest.on_message(proto::up_topic(kDevice, proto::UpKind::telemetry), telemetry_payload(now));
  auto stored_b = [&] {
    auto n = telemetry_->count(kTenantB, kDeviceB);
    return n && *n == 1;
  };
  EXPECT_TRUE(test::wait_until([&] { return stored_b() && stored() == 1; }, 3s));
  auto device = devices_->get(kTenantB, kDeviceB);
  ASSERT_TRUE(device) << device.error().message;
  EXPECT_EQ(device->hostname, "gateway-b");
  EXPECT_EQ(device->agent_version, "0.3.1");  // in its own column, for the device list
  EXPECT_FALSE(devices_->get(kTenant, kDeviceB));
  auto leaked = telemetry_->count(kTenant, kDeviceB);
  EXPECT_TRUE(leaked && *leaked == 0);
  ingest.stop();
}

}  // namespace
}  // namespace hecs::control::devices
