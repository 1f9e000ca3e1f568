// GET /api/v1/devices at fleet scale (docs/api.md, "GET /api/v1/devices"): each filter, each
// sort paged to the end, cursors bound to their sort, bad values refused, tenants kept apart,
// and GET /api/v1/devices/facets. The fixture passes query values as given (no percent-decoding).
#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <soci/soci.h>

#include "common/crypto/crypto.h"
#include "control/api/api_fixture.h"

namespace hecs::control::api::test {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;

struct Seed {
  std::string hostname;
  std::string version;
  std::string state;
  std::vector<std::string> tags;
  std::int64_t last_seen_s = 0;
};

// Ties on every sort key on purpose: the order must fall back to the id.
const std::vector<Seed> kSeedsA = {
    {"gw-a", "1.2.0", "accepted", {"site=paris", "role=gateway"}, 50},
    {"gw-b", "1.1.0", "accepted", {"site=lyon", "role=gateway"}, 10},
    {"node-c", "1.2.0", "pending", {"site=paris"}, 30},
    {"node-c", "1.2.0", "accepted", {"site=lyon"}, 30},
    {"node-d", "", "rejected", {}, 20},
    {"node-e", "1.1.0", "revoked", {"site=paris", "gpu"}, 40},
    {"node-f", "1.2.0", "accepted", {"site=nantes"}, 10},
    {"node-g", "1.0.0", "pending", {"role=gateway"}, 60},
    {"node-h", "1.2.0", "accepted", {"site=paris"}, 50},
};

std::string id_of(char tenant, std::size_t i) {
  return fmt::format("{}0000000-0000-4000-8000-{:012}", tenant, i);
}

std::vector<std::string> ids_of(const Reply& r) {
  std::vector<std::string> out;
  for (const auto& item : r.body.at("items").as_array()) {
    out.emplace_back(item.at("id").as_string());
  }
  return out;
}

class DeviceList : public ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    a_ = make_tenant("acme");
    b_ = make_tenant("globex");
    for (std::size_t i = 0; i < kSeedsA.size(); ++i) {
      seed(a_.id, id_of('a', i), kSeedsA[i]);
    }
    // B's devices match A's filters: they must still never show in A's lists.
    seed(b_.id, id_of('b', 0), {"gw-a", "1.2.0", "pending", {"site=paris", "role=gateway"}, 50});
    seed(b_.id, id_of('b', 1), {"node-z", "1.0.0", "accepted", {"site=lyon"}, 5});
  }

  void seed(const std::string& tenant, const std::string& id, const Seed& s) {
    store::IngestItem item;
    item.kind = store::IngestItem::Kind::hello;
    item.tenant_id = tenant;
    item.device_id = id;
    item.message_id = random_uuid();
    item.ts = item.received_at = std::int64_t{1'700'000'000'000} + s.last_seen_s * 1000;
    item.session = 1;
    item.hostname = s.hostname;
    item.agent_version = s.version;
    item.body = json::serialize(json::object{{"hostname", s.hostname}});
    ASSERT_TRUE(devices_->ingest(std::span(&item, 1)));
    json::array tags;
    for (const auto& t : s.tags) {
      tags.emplace_back(t);
    }
    ASSERT_TRUE(devices_->set_tags(tenant, id, json::serialize(tags)));
    ASSERT_TRUE(db_->transact([&](soci::session& sql) -> Result<void> {
      sql << "UPDATE devices SET state = :s WHERE id = :i", soci::use(s.state), soci::use(id);
      return {};
    }));
  }

  Reply list(const std::string& query, const Cred& cred) {
    return get("/api/v1/devices" + (query.empty() ? "" : "?" + query), cred);
  }

  // Every page of `query` with `limit`, checked as it goes; the ids in order.
  std::vector<std::string> walk(const std::string& query, int limit, std::uint64_t* total) {
    std::vector<std::string> out;
    std::string cursor;
    for (int pages = 0; pages < 100; ++pages) {
      auto page = list(fmt::format("{}{}limit={}{}", query, query.empty() ? "" : "&", limit,
                                   cursor.empty() ? "" : "&cursor=" + cursor),
                       a_.viewer);
      EXPECT_EQ(page.status, 200) << page.raw.body;
      if (page.status != 200) {
        break;
      }
      auto ids = ids_of(page);
      EXPECT_LE(ids.size(), static_cast<std::size_t>(limit));
      out.insert(out.end(), ids.begin(), ids.end());
      *total = page.body.at("total").to_number<std::uint64_t>();
      if (page.body.at("next_cursor").is_null()) {
        return out;
      }
      cursor = std::string(page.body.at("next_cursor").as_string());
    }
    ADD_FAILURE() << "no last page";
    return out;
  }

  // A's seeds for which `keep` holds, in the order of `key` then id, reversed when descending.
  template <class Key, class Keep>
  static std::vector<std::string> expected(Key key, bool descending, Keep keep) {
    std::vector<std::size_t> rows;
    for (std::size_t i = 0; i < kSeedsA.size(); ++i) {
      if (keep(kSeedsA[i])) {
        rows.push_back(i);
      }
    }
    std::sort(rows.begin(), rows.end(), [&](std::size_t x, std::size_t y) {
      auto kx = key(kSeedsA[x]);
      auto ky = key(kSeedsA[y]);
      return kx != ky ? kx < ky : id_of('a', x) < id_of('a', y);
    });
    if (descending) {
      std::reverse(rows.begin(), rows.end());
    }
    std::vector<std::string> out;
    out.reserve(rows.size());
    for (auto i : rows) {
      out.push_back(id_of('a', i));
    }
    return out;
  }

  std::string detail(const Reply& r) const {
    return r.body.is_object() && r.body.as_object().contains("detail")
               ? std::string(r.body.at("detail").as_string())
               : r.raw.body;
  }

  TenantCreds a_, b_;
};

TEST_F(DeviceList, FiltersByAnyOfTheGivenStates) {
  auto r = list("state=pending,rejected", a_.viewer);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_THAT(ids_of(r), ElementsAre(id_of('a', 2), id_of('a', 4), id_of('a', 7)));
  EXPECT_EQ(r.body.at("total"), 3);
}

TEST_F(DeviceList, RefusesAnUnknownOrEmptyState) {
  for (const auto* bad : {"state=gone", "state=pending,", "state="}) {
    auto r = list(bad, a_.viewer);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_THAT(detail(r), HasSubstr("state must be")) << bad;
  }
}

TEST_F(DeviceList, FiltersByTheExactAgentVersionOfTheHello) {
  auto r = list("version=1.1.0", a_.viewer);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_THAT(ids_of(r), ElementsAre(id_of('a', 1), id_of('a', 5)));
  EXPECT_EQ(r.body.at("items").at(0).at("agent_version"), "1.1.0");
  EXPECT_THAT(ids_of(list("version=1.1", a_.viewer)), ElementsAre());
  EXPECT_EQ(list("version=" + std::string(129, 'x'), a_.viewer).status, 400);
}

TEST_F(DeviceList, FiltersByATagSelector) {
  auto r = list("selector=site=paris,role!=gateway", a_.viewer);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_THAT(ids_of(r), ElementsAre(id_of('a', 2), id_of('a', 5), id_of('a', 8)));
  EXPECT_EQ(r.body.at("total"), 3);
}

TEST_F(DeviceList, RefusesAMalformedSelector) {
  auto r = list("selector=site in (", a_.viewer);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(detail(r), HasSubstr("selector:"));
}

TEST_F(DeviceList, FiltersByAStaticOrADynamicGroupOfTheTenant) {
  auto fixed =
      post("/api/v1/groups", a_.operator_,
           json::object{{"name", "pair"}, {"devices", json::array{id_of('a', 3), id_of('a', 6)}}});
  ASSERT_EQ(fixed.status, 201) << fixed.raw.body;
  auto dynamic = post("/api/v1/groups", a_.operator_,
                      json::object{{"name", "gateways"}, {"selector", "role=gateway"}});
  ASSERT_EQ(dynamic.status, 201) << dynamic.raw.body;

  auto members = list("group=" + std::string(fixed.body.at("id").as_string()), a_.viewer);
  ASSERT_EQ(members.status, 200) << members.raw.body;
  EXPECT_THAT(ids_of(members), ElementsAre(id_of('a', 3), id_of('a', 6)));
  auto selected = list(
      "group=" + std::string(dynamic.body.at("id").as_string()) + "&state=accepted", a_.viewer);
  ASSERT_EQ(selected.status, 200) << selected.raw.body;
  EXPECT_THAT(ids_of(selected), ElementsAre(id_of('a', 0), id_of('a', 1)));
  EXPECT_EQ(selected.body.at("total"), 2);
}

TEST_F(DeviceList, RefusesAGroupOfAnotherTenantAsUnknown) {
  auto theirs = post("/api/v1/groups", b_.operator_,
                     json::object{{"name", "gateways"}, {"selector", "role=gateway"}});
  ASSERT_EQ(theirs.status, 201) << theirs.raw.body;
  for (const std::string& group :
       {std::string(theirs.body.at("id").as_string()), random_uuid(), std::string("x")}) {
    auto r = list("group=" + group, a_.viewer);
    EXPECT_EQ(r.status, 400) << group;
    EXPECT_THAT(detail(r), HasSubstr("group: no group with this id")) << group;
  }
}

TEST_F(DeviceList, PagesThroughEverySortBothWaysWithoutGapsOrDuplicates) {
  struct Case {
    std::string name;
    std::function<std::string(const Seed&)> key;
  };
  const std::vector<Case> cases = {
      {"id", [](const Seed&) { return std::string(); }},  // ties everywhere: the id decides
      {"hostname", [](const Seed& s) { return s.hostname; }},
      {"last_seen", [](const Seed& s) { return fmt::format("{:06}", s.last_seen_s); }},
      {"version", [](const Seed& s) { return s.version; }},
      {"state", [](const Seed& s) { return s.state; }},
  };
  for (const auto& c : cases) {
    for (bool descending : {false, true}) {
      const std::string sort = (descending ? "-" : "") + c.name;
      for (int limit : {1, 2, 4}) {
        std::uint64_t total = 0;
        EXPECT_EQ(walk("sort=" + sort, limit, &total),
                  expected(c.key, descending, [](const Seed&) { return true; }))
            << sort << " limit " << limit;
        EXPECT_EQ(total, kSeedsA.size());
        // The same through the C++ filter's path (a selector).
        auto in_paris = [](const Seed& s) {
          return std::find(s.tags.begin(), s.tags.end(), "site=paris") != s.tags.end();
        };
        EXPECT_EQ(walk("selector=site=paris&sort=" + sort, limit, &total),
                  expected(c.key, descending, in_paris))
            << sort << " limit " << limit << " with a selector";
        EXPECT_EQ(total, 4U);
      }
    }
  }
}

TEST_F(DeviceList, RefusesACursorOfAnotherSortAndABadSort) {
  auto first = list("sort=hostname&limit=2", a_.viewer);
  ASSERT_EQ(first.status, 200);
  const std::string cursor(first.body.at("next_cursor").as_string());
  EXPECT_EQ(list("sort=hostname&limit=2&cursor=" + cursor, a_.viewer).status, 200);
  for (const auto* sort : {"-hostname", "id", "last_seen"}) {
    auto r = list(fmt::format("sort={}&cursor={}", sort, cursor), a_.viewer);
    EXPECT_EQ(r.status, 400) << sort;
    EXPECT_THAT(detail(r), HasSubstr("cursor")) << sort;
  }
  EXPECT_EQ(list("cursor=" + cursor, a_.viewer).status, 400);  // the default sort is id
  EXPECT_EQ(list("cursor=" + encode_cursor(id_of('a', 1)), a_.viewer).status, 400);
  EXPECT_EQ(
      list("sort=last_seen&cursor=" + encode_cursor("last_seen\nsoon\n" + id_of('a', 1)), a_.viewer)
          .status,
      400);
  for (const auto* bad : {"sort=name", "sort=--id", "sort="}) {
    auto r = list(bad, a_.viewer);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_THAT(detail(r), HasSubstr("sort must be")) << bad;
  }
}

TEST_F(DeviceList, KeepsOnlineAndQueryFiltersWithTheNewOnes) {
  auto r = list("q=NODE-C&state=accepted&sort=-hostname", a_.viewer);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_THAT(ids_of(r), ElementsAre(id_of('a', 3)));
  EXPECT_THAT(ids_of(list("online=true", a_.viewer)), ElementsAre());
}

TEST_F(DeviceList, TheSummaryViewLeavesOutTheBodiesAndOtherViewsAreRefused) {
  auto full = list("version=1.1.0", a_.viewer);
  ASSERT_EQ(full.status, 200) << full.raw.body;
  const auto& first = full.body.at("items").at(0).as_object();
  ASSERT_TRUE(first.contains("inventory"));
  EXPECT_TRUE(first.at("inventory").is_object()) << "a device with a hello has its inventory";
  auto summary = list("version=1.1.0&view=summary", a_.viewer);
  ASSERT_EQ(summary.status, 200) << summary.raw.body;
  EXPECT_EQ(ids_of(summary), ids_of(full));
  for (const auto& item : summary.body.at("items").as_array()) {
    const auto& o = item.as_object();
    EXPECT_FALSE(o.contains("inventory") || o.contains("telemetry") || o.contains("telemetry_at"));
    EXPECT_EQ(o.at("agent_version"), "1.1.0");
    EXPECT_TRUE(o.contains("hostname") && o.contains("online") && o.contains("state"));
  }
  EXPECT_EQ(list("view=full", a_.viewer).status, 200);
  auto bad = list("view=everything", a_.viewer);
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(detail(bad), HasSubstr("view must be"));
}

TEST_F(DeviceList, NeverListsAnotherTenantsDevicesWhateverTheFilter) {
  std::uint64_t total = 0;
  for (const auto* query :
       {"", "selector=site=paris", "version=1.0.0", "state=pending", "q=gw-a", "sort=-last_seen"}) {
    std::set<std::string> ids;
    for (const auto& id : walk(query, 3, &total)) {
      ids.insert(id);
      EXPECT_EQ(id[0], 'a') << query;
    }
  }
  auto theirs = get("/api/v1/devices?selector=site=paris", b_.viewer);
  ASSERT_EQ(theirs.status, 200);
  EXPECT_THAT(ids_of(theirs), ElementsAre(id_of('b', 0)));
}

TEST_F(DeviceList, AnswersTheTenantsVersionsAndTagsAsFacets) {
  auto r = get("/api/v1/devices/facets", a_.viewer);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(r.body, json::parse(R"({"versions":["1.0.0","1.1.0","1.2.0"],
      "tags":{"gpu":[""],"role":["gateway"],"site":["lyon","nantes","paris"]},
      "truncated":false})"));
  auto theirs = get("/api/v1/devices/facets", b_.viewer);
  ASSERT_EQ(theirs.status, 200);
  EXPECT_EQ(theirs.body.at("versions"), json::parse(R"(["1.0.0","1.2.0"])"));
  EXPECT_EQ(get("/api/v1/devices/facets?x=1", a_.viewer).status, 400);
  EXPECT_EQ(get("/api/v1/devices/facets", Cred{}).status, 401);
}

}  // namespace
}  // namespace hecs::control::api::test
