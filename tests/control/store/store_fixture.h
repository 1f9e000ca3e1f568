// The store suite's fixture: one TEST_P suite per file over both backends (DESIGN §5), with a
// PostgreSQL server shared by the whole test binary.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/store/store.h"
#include "support/postgres.h"
#include "support/tempdir.h"

namespace hecs::db {
// Names the parameter in test output ("GetParam() = sqlite").
inline void PrintTo(Backend backend, std::ostream* out) {
  *out << (backend == Backend::sqlite ? "sqlite" : "postgresql");
}
}  // namespace hecs::db

namespace hecs::control::store {

inline constexpr const char* kTenantA = "11111111-1111-4111-8111-111111111111";
inline constexpr const char* kTenantB = "22222222-2222-4222-8222-222222222222";

// One server for the whole test binary, started on first use by a PostgreSQL test and stopped
// at exit; each test gets its own database in it.
inline test::Postgres& postgres() {
  static const std::unique_ptr<test::Postgres> server = test::Postgres::start();
  return *server;
}

// Items as the ingest consumer makes them (fields assigned: g++ 12 warns about designated
// initialisers that leave members to their defaults).
inline IngestItem item(IngestItem::Kind kind, const std::string& tenant, const std::string& device,
                       std::int64_t at) {
  IngestItem out;
  out.kind = kind;
  out.tenant_id = tenant;
  out.device_id = device;
  out.ts = at;
  out.received_at = at;
  return out;
}

inline IngestItem hello(const std::string& device, std::uint64_t session, std::int64_t at,
                        const std::string& hostname = "host",
                        const std::string& tenant = kTenantA) {
  IngestItem out = item(IngestItem::Kind::hello, tenant, device, at);
  out.message_id = device + "-hello-" + std::to_string(at);
  out.session = session;
  out.hostname = hostname;
  out.body = R"({"hostname":")" + hostname + "\"}";
  return out;
}

inline IngestItem status(const std::string& device, std::uint64_t session, bool online,
                         std::int64_t at, const std::string& tenant = kTenantA) {
  IngestItem out = item(IngestItem::Kind::status, tenant, device, at);
  out.message_id = device + "-status-" + std::to_string(at);
  out.session = session;
  out.online = online;
  return out;
}

inline IngestItem telemetry(const std::string& device, const std::string& message_id,
                            std::int64_t ts, std::int64_t received_at,
                            const std::string& tenant = kTenantA) {
  IngestItem out = item(IngestItem::Kind::telemetry, tenant, device, ts);
  out.message_id = message_id;
  out.received_at = received_at;
  out.body = R"({"ts":)" + std::to_string(ts) + "}";
  return out;
}

inline db::Options options(const std::string& url) {
  db::Options out;
  out.url = url;
  return out;
}

inline DeviceFilter page(std::size_t limit, const std::string& after_id = "") {
  DeviceFilter filter;
  filter.limit = limit;
  filter.after_id = after_id;
  return filter;
}

inline DeviceFilter matching(const std::string& q, std::size_t limit = 50) {
  DeviceFilter filter;
  filter.q = q;
  filter.limit = limit;
  return filter;
}

inline DeviceFilter by_state(bool online, const std::string& q = "") {
  DeviceFilter filter;
  filter.online = online;
  filter.q = q;
  return filter;
}

inline std::vector<std::string> ids(const DevicePage& page) {
  std::vector<std::string> out;
  for (const Device& device : page.items) {
    out.push_back(device.id);
  }
  return out;
}

class Store : public ::testing::TestWithParam<db::Backend> {
 protected:
  void SetUp() override {
    url_ = GetParam() == db::Backend::sqlite ? (dir_.path() / "control.db").string()
                                             : postgres().create_database(next_database_name());
    auto opened = open_and_migrate(options(url_));
    ASSERT_TRUE(opened) << opened.error().message;
    db_ = std::move(*opened);
    ASSERT_EQ(db_->backend(), GetParam());
    identity_.emplace(*db_);
    devices_.emplace(*db_);
    telemetry_.emplace(*db_);
    enrolment_.emplace(*db_);
  }

  static std::string next_database_name() {
    static std::atomic<int> counter{0};
    return "store_test_" + std::to_string(++counter);
  }

  IngestStats ingest(const std::vector<IngestItem>& batch) {
    auto stats = devices_->ingest(batch);
    EXPECT_TRUE(stats) << stats.error().message;
    return stats ? *stats : IngestStats{};
  }

  Device device(const std::string& id, const std::string& tenant = kTenantA) {
    auto found = devices_->get(tenant, id);
    EXPECT_TRUE(found) << found.error().message;
    return found ? *found : Device{};
  }

  DevicePage list(const DeviceFilter& filter, const std::string& tenant = kTenantA) {
    auto page = devices_->list(tenant, filter);
    EXPECT_TRUE(page) << page.error().message;
    return page ? *page : DevicePage{};
  }

  test::TempDir dir_{"store"};
  std::string url_;
  std::unique_ptr<db::Database> db_;
  std::optional<IdentityStore> identity_;  // made in SetUp, once db_ is open
  std::optional<DeviceStore> devices_;
  std::optional<TelemetryStore> telemetry_;
  std::optional<EnrollmentStore> enrolment_;
};

}  // namespace hecs::control::store

// Instantiates `suite` (a TEST_P fixture over db::Backend) on SQLite and on PostgreSQL, the
// tests named .../sqlite and .../postgresql.
#define HECS_STORE_ON_BOTH_BACKENDS(suite)                                             \
  INSTANTIATE_TEST_SUITE_P(                                                            \
      Backends, suite,                                                                 \
      ::testing::Values(::hecs::db::Backend::sqlite, ::hecs::db::Backend::postgresql), \
      [](const ::testing::TestParamInfo<::hecs::db::Backend>& backend) {               \
        return backend.param == ::hecs::db::Backend::sqlite ? "sqlite" : "postgresql"; \
      })
