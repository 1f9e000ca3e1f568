// DeviceStore::list at fleet scale on both backends: states, version, a C++ filter, every sort
// both ways paged to the end, and migration 0010's backfill of agent_version.
#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <soci/soci.h>

#include "control/store/store.h"
#include "store_fixture.h"

namespace hecs::control::store {
namespace {

using ::testing::ElementsAre;

struct Seed {
  std::string id;
  std::string hostname;
  std::string version;
  std::string state;
  std::string tags;
  std::int64_t at = 0;
};

// Ties on every key: the id decides between them.
const std::vector<Seed> kSeeds = {
    {"dev-1", "hb", "1.2.0", "accepted", R"(["x"])", 50},
    {"dev-2", "ha", "1.1.0", "pending", "[]", 10},
    {"dev-3", "hc", "1.2.0", "accepted", R"(["x"])", 30},
    {"dev-4", "ha", "", "rejected", R"(["x"])", 30},
    {"dev-5", "hd", "1.1.0", "revoked", "[]", 40},
    {"dev-6", "hb", "1.2.0", "accepted", R"(["x"])", 10},
    {"dev-7", "he", "1.0.0", "pending", "[]", 60},
};

class DeviceLists : public Store {
 protected:
  void SetUp() override {
    Store::SetUp();
    for (const auto& s : kSeeds) {
      IngestItem h = hello(s.id, 1, s.at, s.hostname);
      h.agent_version = s.version;
      ingest({h});
      ASSERT_TRUE(devices_->set_tags(kTenantA, s.id, s.tags));
      ASSERT_TRUE(db_->transact([&](soci::session& sql) -> Result<void> {
        sql << "UPDATE devices SET state = :s WHERE id = :i", soci::use(s.state), soci::use(s.id);
        return {};
      }));
    }
    IngestItem other = hello("dev-b", 1, 20, "ha", kTenantB);
    other.agent_version = "1.2.0";
    ingest({other});
  }

  // Every page of `filter` with `limit`, each next one after the last row's key and id.
  std::vector<std::string> walk(DeviceFilter filter, std::size_t limit,
                                const std::function<std::string(const Device&)>& key) {
    filter.limit = limit;
    std::vector<std::string> out;
    for (int pages = 0; pages < 50; ++pages) {
      auto got = list(filter);
      for (const auto& d : got.items) {
        out.push_back(d.id);
      }
      if (!got.more) {
        return out;
      }
      filter.after_key = key(got.items.back());
      filter.after_id = got.items.back().id;
    }
    ADD_FAILURE() << "no last page";
    return out;
  }
};

TEST_P(DeviceLists, StoresTheAgentVersionOfTheHello) {
  EXPECT_EQ(device("dev-2").agent_version, "1.1.0");
  EXPECT_EQ(device("dev-4").agent_version, "");
}

TEST_P(DeviceLists, FiltersByAnyOfSeveralStatesAndByVersion) {
  DeviceFilter f;
  f.states = {"pending", "revoked"};
  auto got = list(f);
  EXPECT_THAT(ids(got), ElementsAre("dev-2", "dev-5", "dev-7"));
  EXPECT_EQ(got.total, 3U);
  f.version = "1.1.0";
  EXPECT_THAT(ids(list(f)), ElementsAre("dev-2", "dev-5"));
  DeviceFilter none;
  none.version = "";
  EXPECT_THAT(ids(list(none)), ElementsAre("dev-4"));
}

struct SortCase {
  DeviceSort sort;
  std::function<std::string(const Seed&)> seed_key;
  std::function<std::string(const Device&)> key;
};

// The ids of kSeeds (those with tags when `filtered`) in the order of `c`.
std::vector<std::string> expected(const SortCase& c, bool descending, bool filtered) {
  std::vector<Seed> want;
  std::copy_if(kSeeds.begin(), kSeeds.end(), std::back_inserter(want),
               [&](const Seed& s) { return !filtered || s.tags != "[]"; });
  std::sort(want.begin(), want.end(), [&](const Seed& a, const Seed& b) {
    auto ka = c.seed_key(a);
    auto kb = c.seed_key(b);
    if (ka != kb) {
      return descending ? ka > kb : ka < kb;
    }
    return descending ? a.id > b.id : a.id < b.id;
  });
  std::vector<std::string> out;
  out.reserve(want.size());
  for (const auto& s : want) {
    out.push_back(s.id);
  }
  return out;
}

TEST_P(DeviceLists, PagesEverySortBothWaysWithAndWithoutACppFilter) {
  const std::vector<SortCase> cases = {
      {DeviceSort::id, [](const Seed& s) { return s.id; }, [](const Device& d) { return d.id; }},
      {DeviceSort::hostname, [](const Seed& s) { return s.hostname; },
       [](const Device& d) { return d.hostname; }},
      {DeviceSort::last_seen, [](const Seed& s) { return std::to_string(100 + s.at); },
       [](const Device& d) { return std::to_string(d.last_seen); }},
      {DeviceSort::version, [](const Seed& s) { return s.version; },
       [](const Device& d) { return d.agent_version; }},
      {DeviceSort::state, [](const Seed& s) { return s.state; },
       [](const Device& d) { return d.state; }},
  };
  for (const auto& c : cases) {
    for (int variant = 0; variant < 4; ++variant) {
      const bool descending = (variant & 1) != 0;
      const bool filtered = (variant & 2) != 0;
      const auto want = expected(c, descending, filtered);
      DeviceFilter f;
      f.sort = c.sort;
      f.descending = descending;
      if (filtered) {
        f.keep = [](const std::string&, const std::string& tags) { return tags != "[]"; };
      }
      for (std::size_t limit : {1U, 2U, 3U, 10U}) {
        EXPECT_EQ(walk(f, limit, c.key), want)
            << static_cast<int>(c.sort) << " variant " << variant << " limit " << limit;
      }
      f.limit = 2;
      EXPECT_EQ(list(f).total, want.size());
    }
  }
}

TEST_P(DeviceLists, RefusesALastSeenCursorThatIsNotANumber) {
  DeviceFilter f;
  f.sort = DeviceSort::last_seen;
  f.after_key = "soon";
  f.after_id = "dev-1";
  auto got = devices_->list(kTenantA, f);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, Errc::invalid_input);
}

TEST_P(DeviceLists, ListsTheTenantsDistinctVersionsSorted) {
  auto mine = devices_->versions(kTenantA, 10);
  ASSERT_TRUE(mine);
  EXPECT_THAT(*mine, ElementsAre("1.0.0", "1.1.0", "1.2.0"));
  auto two = devices_->versions(kTenantA, 2);
  ASSERT_TRUE(two);
  EXPECT_THAT(*two, ElementsAre("1.0.0", "1.1.0"));
  auto theirs = devices_->versions(kTenantB, 10);
  ASSERT_TRUE(theirs);
  EXPECT_THAT(*theirs, ElementsAre("1.2.0"));
}

// Migration 0010 fills agent_version from the inventories stored before it.
TEST(DeviceVersionMigration, BackfillsTheVersionFromStoredInventories) {
  for (auto backend : {db::Backend::sqlite, db::Backend::postgresql}) {
    test::TempDir dir{"store"};
    const std::string url = backend == db::Backend::sqlite
                                ? (dir.path() / "control.db").string()
                                : postgres().create_database("store_test_backfill");
    auto opened = db::Database::open(options(url));
    ASSERT_TRUE(opened) << opened.error().message;
    auto& db = **opened;
    auto all = migrations(backend);
    const auto before = std::find_if(all.begin(), all.end(),
                                     [](const db::Migration& m) { return m.version == 10; });
    ASSERT_NE(before, all.end());
    ASSERT_TRUE(db.migrate(all.subspan(0, before - all.begin())));
    ASSERT_TRUE(db.transact([](soci::session& sql) -> Result<void> {
      sql << "INSERT INTO devices (id, tenant_id, first_seen, last_seen, inventory) VALUES "
             "('dev-1', 't', 1, 1, '{\"agent_version\":\"0.9.1\",\"hostname\":\"h\"}'), "
             "('dev-2', 't', 1, 1, ''), ('dev-3', 't', 1, 1, '{\"hostname\":\"h\"}')";
      return {};
    }));
    ASSERT_TRUE(db.migrate(all));
    DeviceStore devices(db);
    EXPECT_EQ(devices.get("t", "dev-1")->agent_version, "0.9.1");
    EXPECT_EQ(devices.get("t", "dev-2")->agent_version, "");
    EXPECT_EQ(devices.get("t", "dev-3")->agent_version, "");
  }
}

HECS_STORE_ON_BOTH_BACKENDS(DeviceLists);

}  // namespace
}  // namespace hecs::control::store
