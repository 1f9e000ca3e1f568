#include "control/store/store.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store_fixture.h"

namespace hecs::control::store {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST_P(Store, AppliesItsMigrationsOnStartAndNothingMoreOnReopen) {
  const int latest = migrations(GetParam()).back().version;
  auto version = db_->schema_version();
  ASSERT_TRUE(version);
  EXPECT_EQ(*version, latest);
  ASSERT_TRUE(identity_->create_tenant(
      {.id = kTenantA, .name = "default", .created_at = 1, .disabled_at = {}}));

  auto again = open_and_migrate(options(url_));
  ASSERT_TRUE(again) << again.error().message;
  auto reopened_version = (*again)->schema_version();
  ASSERT_TRUE(reopened_version);
  EXPECT_EQ(*reopened_version, latest);
  auto tenant = IdentityStore(**again).find_tenant_by_name("default");
  ASSERT_TRUE(tenant);
  EXPECT_TRUE(tenant->has_value());
}

TEST_P(Store, CreatesATenantAndFindsItByName) {
  ASSERT_TRUE(identity_->create_tenant(
      {.id = kTenantA, .name = "default", .created_at = 1000, .disabled_at = {}}));
  auto found = identity_->find_tenant_by_name("default");
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, kTenantA);
  EXPECT_EQ((*found)->created_at, 1000);

  auto missing = identity_->find_tenant_by_name("other");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
}

TEST_P(Store, RejectsASecondTenantWithTheSameNameAsConflict) {
  ASSERT_TRUE(identity_->create_tenant(
      {.id = kTenantA, .name = "default", .created_at = 1, .disabled_at = {}}));
  auto again = identity_->create_tenant(
      {.id = kTenantB, .name = "default", .created_at = 2, .disabled_at = {}});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::conflict);
}

TEST_P(Store, CreatesAnApiKeyAndFindsItByHash) {
  ASSERT_TRUE(identity_->create_tenant(
      {.id = kTenantA, .name = "default", .created_at = 1, .disabled_at = {}}));
  ApiKey key;
  key.id = "33333333-3333-4333-8333-333333333333";
  key.tenant_id = kTenantA;
  key.prefix = "hecs_ab12";
  key.hash = std::string(64, 'e');
  key.role = "admin";
  key.created_at = 5;
  ASSERT_TRUE(identity_->create_api_key(key));
  ASSERT_TRUE(identity_->touch_api_key(key.id, 9));

  auto found = identity_->find_api_key_by_hash(key.hash);
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->id, key.id);
  EXPECT_EQ(found->tenant_id, kTenantA);
  EXPECT_EQ(found->prefix, "hecs_ab12");
  EXPECT_EQ(found->role, "admin");
  EXPECT_EQ(found->created_at, 5);
  EXPECT_FALSE(found->revoked_at);
}

TEST_P(Store, ReportsAnUnknownApiKeyHashAsNotFound) {
  auto found = identity_->find_api_key_by_hash(std::string(64, '0'));
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, Errc::not_found);
}

TEST_P(Store, RejectsAnApiKeyOfAnUnknownTenant) {
  ApiKey key;
  key.id = "k1";
  key.tenant_id = kTenantB;  // never created
  key.prefix = "p";
  key.hash = "h";
  key.role = "admin";
  auto created = identity_->create_api_key(key);
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, Errc::conflict);
}

TEST_P(Store, StoresHelloStatusAndTelemetryOfANewDevice) {
  auto stats = ingest({hello("dev-1", 4, 1000, "pi-kitchen"), telemetry("dev-1", "m1", 1100, 1200),
                       status("dev-1", 4, false, 1300)});
  EXPECT_EQ(stats.applied, 3U);

  const Device stored = device("dev-1");
  EXPECT_EQ(stored.tenant_id, kTenantA);
  EXPECT_EQ(stored.hostname, "pi-kitchen");
  EXPECT_EQ(stored.inventory, R"({"hostname":"pi-kitchen"})");
  EXPECT_FALSE(stored.online);
  EXPECT_EQ(stored.session, 4U);
  EXPECT_EQ(stored.first_seen, 1000);
  EXPECT_EQ(stored.last_seen, 1300);
  EXPECT_EQ(stored.telemetry, R"({"ts":1100})");
  EXPECT_EQ(stored.telemetry_ts, 1100);
}

// Device events (docs/api.md): changed_at moves when online, hostname or state change, not
// for a repeated status, a same-name hello or telemetry; read per tenant in (changed_at, id).
TEST_P(Store, MarksWhenADeviceChangedAndListsChangesAndCountsPerTenant) {
  ingest({hello("dev-1", 1, 1000, "a"), status("dev-1", 1, true, 1000),
          status("dev-2", 1, false, 1000), status("dev-b", 1, true, 1000, kTenantB)});
  ingest({status("dev-1", 1, true, 2000), hello("dev-1", 1, 2000, "a"),
          telemetry("dev-1", "m1", 2000, 2000)});
  auto changes = devices_->changed_since(kTenantA, 1500, "", 100);
  ASSERT_TRUE(changes) << changes.error().message;
  EXPECT_TRUE(changes->empty());
  ingest({status("dev-2", 1, true, 3000), hello("dev-1", 1, 3001, "renamed")});
  changes = devices_->changed_since(kTenantA, 1500, "", 100);
  ASSERT_TRUE(changes);
  ASSERT_EQ(changes->size(), 2U);
  EXPECT_EQ((*changes)[0].id, "dev-2");
  EXPECT_TRUE((*changes)[0].online);
  EXPECT_EQ((*changes)[0].changed_at, 3000);
  EXPECT_EQ((*changes)[1].id, "dev-1");
  EXPECT_EQ((*changes)[1].hostname, "renamed");
  // Paged after (changed_at, id).
  changes = devices_->changed_since(kTenantA, 3000, "dev-2", 100);
  ASSERT_TRUE(changes);
  ASSERT_EQ(changes->size(), 1U);
  EXPECT_EQ((*changes)[0].id, "dev-1");
  // Never another tenant's.
  changes = devices_->changed_since(kTenantA, 0, "", 100);
  ASSERT_TRUE(changes);
  for (const auto& c : *changes) {
    EXPECT_NE(c.id, "dev-b");
  }
  auto counts = devices_->counts(kTenantA);
  ASSERT_TRUE(counts) << counts.error().message;
  EXPECT_EQ(counts->online, 2U);
  EXPECT_EQ(counts->offline, 0U);
  EXPECT_EQ(counts->pending, 0U);
  EXPECT_EQ(counts->total, 2U);
}

TEST_P(Store, KeepsLastSeenMovingForwardOnly) {
  ingest({hello("dev-1", 1, 5000)});
  ingest({telemetry("dev-1", "m1", 100, 4000)});  // a late batch of another consumer
  EXPECT_EQ(device("dev-1").last_seen, 5000);
  EXPECT_EQ(device("dev-1").first_seen, 5000);
}

TEST_P(Store, IgnoresAStatusOfAnOlderSession) {  // S28
  ingest({hello("dev-1", 4, 1000), status("dev-1", 4, true, 1000)});
  // The broker delivers the last will of session 3 after the hello of session 4.
  auto stats = ingest({status("dev-1", 3, false, 1100)});
  EXPECT_EQ(stats.applied, 0U);
  EXPECT_EQ(stats.stale, 1U);
  const Device stored = device("dev-1");
  EXPECT_TRUE(stored.online);
  EXPECT_EQ(stored.session, 4U);
  EXPECT_EQ(stored.last_seen, 1100);
}

TEST_P(Store, IgnoresAHelloOfAnOlderSessionWithinOneBatch) {  // S28
  auto stats = ingest({hello("dev-1", 4, 1000, "new-name"), hello("dev-1", 3, 1001, "old-name"),
                       status("dev-1", 4, false, 1002)});
  EXPECT_EQ(stats.applied, 2U);
  EXPECT_EQ(stats.stale, 1U);
  EXPECT_EQ(device("dev-1").hostname, "new-name");
  EXPECT_FALSE(device("dev-1").online);
}

TEST_P(Store, KeepsTelemetryOnceWhenItsMessageIdArrivesTwice) {
  ingest({telemetry("dev-1", "m1", 100, 1000)});
  auto stats = ingest({telemetry("dev-1", "m1", 100, 2000), telemetry("dev-1", "m2", 200, 2000)});
  EXPECT_EQ(stats.applied, 1U);
  EXPECT_EQ(stats.duplicates, 1U);
  auto rows = telemetry_->count(kTenantA, "dev-1");
  ASSERT_TRUE(rows);
  EXPECT_EQ(*rows, 2U);
}

TEST_P(Store, KeepsTheNewestTelemetryWhenAnOlderOneArrivesLater) {
  ingest({telemetry("dev-1", "m2", 200, 1000)});
  ingest({telemetry("dev-1", "m1", 100, 2000)});  // buffered offline, sent after
  const Device stored = device("dev-1");
  EXPECT_EQ(stored.telemetry, R"({"ts":200})");
  EXPECT_EQ(stored.telemetry_ts, 200);
  EXPECT_EQ(stored.last_seen, 2000);
}

TEST_P(Store, PagesThroughDevicesInIdOrder) {
  ingest({hello("dev-3", 1, 1), hello("dev-1", 1, 1), hello("dev-5", 1, 1), hello("dev-2", 1, 1),
          hello("dev-4", 1, 1)});
  auto first = list(page(2));
  EXPECT_THAT(ids(first), ElementsAre("dev-1", "dev-2"));
  EXPECT_TRUE(first.more);
  EXPECT_EQ(first.total, 5U);

  auto second = list(page(2, "dev-2"));
  EXPECT_THAT(ids(second), ElementsAre("dev-3", "dev-4"));
  EXPECT_TRUE(second.more);
  EXPECT_EQ(second.total, 5U);

  auto last = list(page(2, "dev-4"));
  EXPECT_THAT(ids(last), ElementsAre("dev-5"));
  EXPECT_FALSE(last.more);

  auto exact = list(page(5));
  EXPECT_EQ(exact.items.size(), 5U);
  EXPECT_FALSE(exact.more);
}

TEST_P(Store, AHelloAloneDoesNotMakeADeviceOnline) {
  ingest({hello("dev-1", 1, 1000)});
  EXPECT_FALSE(device("dev-1").online);
}

TEST_P(Store, AHelloReplayedAfterTheWillOfItsOwnSessionDoesNotReviveTheDevice) {  // S28
  // After a reconnect the broker replays retained hello and status in no set order.
  ingest({hello("dev-1", 4, 1000), status("dev-1", 4, true, 1000)});
  ingest({status("dev-1", 4, false, 2000), hello("dev-1", 4, 2001)});
  EXPECT_FALSE(device("dev-1").online);
}

TEST_P(Store, FiltersDevicesByOnlineState) {
  ingest({hello("dev-1", 1, 1), hello("dev-2", 1, 1), hello("dev-3", 1, 1),
          status("dev-1", 1, true, 2), status("dev-3", 1, true, 2), status("dev-2", 1, false, 2)});
  auto online = list(by_state(true));
  EXPECT_THAT(ids(online), ElementsAre("dev-1", "dev-3"));
  EXPECT_EQ(online.total, 2U);
  auto offline = list(by_state(false));
  EXPECT_THAT(ids(offline), ElementsAre("dev-2"));
  EXPECT_EQ(offline.total, 1U);

  auto counted = devices_->count(true);
  ASSERT_TRUE(counted);
  EXPECT_EQ(*counted, 2U);
}

TEST_P(Store, FiltersDevicesByACaseInsensitiveSubstringOfIdOrHostname) {
  ingest({hello("Edge-Gw-01", 1, 1, "router"), hello("node-2", 1, 1, "Kitchen-PI"),
          hello("node-3", 1, 1, "garage")});
  EXPECT_THAT(ids(list(matching("gw-0"))), ElementsAre("Edge-Gw-01"));
  EXPECT_THAT(ids(list(matching("KITCHEN"))), ElementsAre("node-2"));
  auto nodes = list(matching("node", 1));
  EXPECT_THAT(ids(nodes), ElementsAre("node-2"));
  EXPECT_TRUE(nodes.more);
  EXPECT_EQ(nodes.total, 2U);
  ingest({status("node-3", 1, true, 2)});
  EXPECT_THAT(ids(list(by_state(true, "garage"))), ElementsAre("node-3"));
}

TEST_P(Store, TreatsPercentUnderscoreAndBackslashInTheQueryAsPlainCharacters) {
  ingest({hello("a_b", 1, 1, "x"), hello("axb", 1, 1, "100%"), hello("a\\b", 1, 1, "y"),
          hello("c", 1, 1, "1000")});
  EXPECT_THAT(ids(list(matching("a_b"))), ElementsAre("a_b"));
  EXPECT_THAT(ids(list(matching("_"))), ElementsAre("a_b"));
  EXPECT_THAT(ids(list(matching("0%"))), ElementsAre("axb"));
  EXPECT_THAT(ids(list(matching("%"))), ElementsAre("axb"));
  EXPECT_THAT(ids(list(matching("a\\b"))), ElementsAre("a\\b"));
}

TEST_P(Store, ReportsAnUnknownDeviceAsNotFound) {
  auto found = devices_->get(kTenantA, "nobody");
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, Errc::not_found);
}

TEST_P(Store, KeepsADeviceOfOneTenantOutOfAnotherTenantsView) {
  ingest({hello("dev-a", 2, 1000, "host-a", kTenantA), status("dev-a", 2, true, 1000, kTenantA),
          telemetry("dev-a", "m1", 10, 1000)});
  EXPECT_THAT(list(DeviceFilter{}, kTenantB).items, IsEmpty());
  EXPECT_EQ(list(DeviceFilter{}, kTenantB).total, 0U);
  auto got = devices_->get(kTenantB, "dev-a");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, Errc::not_found);
  auto rows = telemetry_->count(kTenantB, "dev-a");
  ASSERT_TRUE(rows);
  EXPECT_EQ(*rows, 0U);

  // The same device id sent under tenant B changes nothing of tenant A's device.
  auto stats = ingest({hello("dev-a", 9, 2000, "intruder", kTenantB),
                       status("dev-a", 9, false, 2000, kTenantB),
                       telemetry("dev-a", "m2", 20, 2000, kTenantB)});
  EXPECT_EQ(stats.rejected, 3U);
  const Device stored = device("dev-a", kTenantA);
  EXPECT_EQ(stored.hostname, "host-a");
  EXPECT_TRUE(stored.online);
  EXPECT_EQ(stored.session, 2U);
  EXPECT_EQ(stored.last_seen, 1000);
  EXPECT_EQ(stored.telemetry_ts, 10);
}

TEST_P(Store, ReturnsARawTelemetryWindowOldestFirst) {
  ingest({telemetry("dev-1", "m3", 300, 1), telemetry("dev-1", "m1", 100, 1),
          telemetry("dev-1", "m2", 200, 1), telemetry("dev-2", "x", 150, 1)});
  auto window = telemetry_->window(kTenantA, "dev-1", 100, 300, 10);
  ASSERT_TRUE(window) << window.error().message;
  ASSERT_EQ(window->size(), 2U);
  EXPECT_EQ((*window)[0].message_id, "m1");
  EXPECT_EQ((*window)[1].message_id, "m2");
  EXPECT_EQ((*window)[1].ts, 200);
  EXPECT_EQ((*window)[1].body, R"({"ts":200})");
}

TEST_P(Store, PrunesRawTelemetryOlderThanTheCutoff) {
  ingest({telemetry("dev-1", "m1", 100, 1), telemetry("dev-1", "m2", 200, 1),
          telemetry("dev-1", "m3", 300, 1)});
  auto pruned = telemetry_->prune(300);
  ASSERT_TRUE(pruned) << pruned.error().message;
  EXPECT_EQ(*pruned, 2U);
  auto rows = telemetry_->count(kTenantA, "dev-1");
  ASSERT_TRUE(rows);
  EXPECT_EQ(*rows, 1U);
  EXPECT_EQ(device("dev-1").telemetry_ts, 300);  // the latest snapshot stays
}

TEST_P(Store, StoresNothingOfABatchWithAnInvalidItem) {
  IngestItem broken = telemetry("dev-2", "", 1, 1);  // no message id
  auto stats = devices_->ingest(std::vector{hello("dev-1", 1, 1), broken});
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().code, Errc::invalid_input);
  EXPECT_EQ(list(DeviceFilter{}).total, 0U);
}

HECS_STORE_ON_BOTH_BACKENDS(Store);

}  // namespace
}  // namespace hecs::control::store
