// AuditStore on both backends: per-tenant hash chains, filters, concurrent writers (issue 5).
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/audit/audit.h"
#include "control/store/store.h"
#include "store_fixture.h"

namespace hecs::control::store {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr std::int64_t kNow = 1'700'000'000'000;

audit::Record record(const std::string& action, std::int64_t ts = kNow,
                     const std::string& tenant = kTenantA, const std::string& actor = "user:u-ann",
                     const std::string& outcome = "success") {
  audit::Record out;
  out.tenant_id = tenant;
  out.ts = ts;
  out.actor = actor;
  out.action = action;
  out.target = "t-1";
  out.source = "203.0.113.7:51234";
  out.outcome = outcome;
  out.request_id = "req-" + action;
  out.detail = R"({"why":"test"})";
  return out;
}

AuditFilter filter(std::size_t limit = 100) {
  AuditFilter out;
  out.limit = limit;
  return out;
}

std::vector<std::uint64_t> seqs(const AuditPage& page) {
  std::vector<std::uint64_t> out;
  out.reserve(page.items.size());
  for (const audit::Record& r : page.items) {
    out.push_back(r.seq);
  }
  return out;
}

class Audit : public Store {
 protected:
  void SetUp() override {
    Store::SetUp();
    audit_.emplace(*db_);
  }

  audit::Record append(const audit::Record& r) {
    auto stored = audit_->append(r);
    EXPECT_TRUE(stored) << stored.error().message;
    return stored ? *stored : audit::Record{};
  }

  AuditPage list(const AuditFilter& f, const std::string& tenant = kTenantA) {
    auto page = audit_->list(tenant, f);
    EXPECT_TRUE(page) << page.error().message;
    return page ? *page : AuditPage{};
  }

  audit::Verification verify(const std::string& tenant) {
    auto records = audit_->range(tenant, 1, 0);
    EXPECT_TRUE(records) << records.error().message;
    return audit::verify(tenant, records ? *records : std::vector<audit::Record>{}, {}, {});
  }

  // Seven records of tenant A, seq 1..7, ts kNow + 10 * seq.
  void seven() {
    append(record("keys.create", kNow + 10));
    append(record("keys.revoke", kNow + 20, kTenantA, "key:k-1"));
    append(record("auth.login_failed", kNow + 30, kTenantA, "anonymous", "failure"));
    append(record("keys.rotate", kNow + 40));
    append(record("users.create", kNow + 50, kTenantA, "key:k-1"));
    append(record("keysmith", kNow + 60));  // starts with "keys" but not "keys."
    append(record("keys.create", kNow + 70, kTenantA, "user:u-ann", "denied"));
  }

  std::optional<AuditStore> audit_;
};

TEST_P(Audit, NumbersEachTenantsRecordsFromOneAndChainsThem) {
  const audit::Record a1 = append(record("keys.create"));
  const audit::Record b1 = append(record("keys.create", kNow, kTenantB));
  const audit::Record a2 = append(record("keys.revoke"));
  const audit::Record a3 = append(record("users.create"));
  const audit::Record b2 = append(record("users.create", kNow, kTenantB));

  EXPECT_EQ(a1.seq, 1U);
  EXPECT_EQ(a2.seq, 2U);
  EXPECT_EQ(a3.seq, 3U);
  EXPECT_EQ(b1.seq, 1U);
  EXPECT_EQ(b2.seq, 2U);
  EXPECT_EQ(a1.prev_hash, audit::genesis_hash());
  EXPECT_EQ(b1.prev_hash, audit::genesis_hash());
  EXPECT_EQ(a2.prev_hash, a1.hash);
  EXPECT_EQ(a3.prev_hash, a2.hash);
  EXPECT_EQ(b2.prev_hash, b1.hash);
  EXPECT_EQ(a1.hash, audit::record_hash(a1));
  EXPECT_NE(a1.hash, b1.hash) << "the tenant is hashed";

  auto stored = audit_->range(kTenantA, 1, 0);
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_THAT(*stored, ElementsAre(a1, a2, a3)) << "every field read back as appended";
  EXPECT_TRUE(verify(kTenantA).ok) << verify(kTenantA).reason;
  EXPECT_TRUE(verify(kTenantB).ok) << verify(kTenantB).reason;

  auto head = audit_->head(kTenantA);
  ASSERT_TRUE(head) << head.error().message;
  EXPECT_EQ(head->first, 3U);
  EXPECT_EQ(head->second, a3.hash);
  auto tenants = audit_->tenants();
  ASSERT_TRUE(tenants);
  EXPECT_THAT(*tenants, ElementsAre(kTenantA, kTenantB));
}

TEST_P(Audit, FillsSeqAndHashesItselfWhateverTheCallerSet) {
  append(record("keys.create"));
  audit::Record forged = record("keys.revoke");
  forged.seq = 99;
  forged.prev_hash = std::string(64, 'f');
  forged.hash = std::string(64, 'a');
  const audit::Record stored = append(forged);
  EXPECT_EQ(stored.seq, 2U);
  EXPECT_EQ(stored.hash, audit::record_hash(stored));
  EXPECT_TRUE(verify(kTenantA).ok) << verify(kTenantA).reason;
}

TEST_P(Audit, ReportsAnEmptyLogsHeadAsGenesis) {
  auto head = audit_->head(kTenantA);
  ASSERT_TRUE(head) << head.error().message;
  EXPECT_EQ(head->first, 0U);
  EXPECT_EQ(head->second, audit::genesis_hash());
  EXPECT_THAT(*audit_->tenants(), IsEmpty());
  EXPECT_THAT(*audit_->range(kTenantA, 1, 0), IsEmpty());
}

TEST_P(Audit, RefusesARecordWithoutATenant) {
  auto stored = audit_->append(record("keys.create", kNow, ""));
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error().code, Errc::invalid_input);
}

TEST_P(Audit, ReadsARangeOfSeqInclusive) {
  seven();
  auto middle = audit_->range(kTenantA, 3, 5);
  ASSERT_TRUE(middle) << middle.error().message;
  ASSERT_EQ(middle->size(), 3U);
  EXPECT_EQ(middle->front().seq, 3U);
  EXPECT_EQ(middle->back().seq, 5U);
  EXPECT_EQ(audit_->range(kTenantA, 6, 0)->size(), 2U);
  EXPECT_THAT(*audit_->range(kTenantB, 1, 0), IsEmpty());
}

TEST_P(Audit, ListsByExactActionOrByPrefix) {
  seven();
  AuditFilter exact = filter();
  exact.action = "keys.create";
  EXPECT_THAT(seqs(list(exact)), ElementsAre(1U, 7U));
  AuditFilter prefix = filter();
  prefix.action = "keys.";
  EXPECT_THAT(seqs(list(prefix)), ElementsAre(1U, 2U, 4U, 7U)) << "not keysmith";
  AuditFilter no_dot = filter();
  no_dot.action = "keys";
  EXPECT_THAT(seqs(list(no_dot)), IsEmpty()) << "without the dot it is an exact action";
  EXPECT_THAT(seqs(list(filter())), ElementsAre(1U, 2U, 3U, 4U, 5U, 6U, 7U));
}

TEST_P(Audit, ListsByAPrefixOutsideAscii) {
  append(record("clés.créer"));
  append(record("clés.révoquer"));
  append(record("clef.créer"));
  AuditFilter prefix = filter();
  prefix.action = "clés.";
  EXPECT_THAT(seqs(list(prefix)), ElementsAre(1U, 2U));
}

TEST_P(Audit, ListsByActorOutcomeAndTime) {
  seven();
  AuditFilter by_actor = filter();
  by_actor.actor = "key:k-1";
  EXPECT_THAT(seqs(list(by_actor)), ElementsAre(2U, 5U));
  AuditFilter by_outcome = filter();
  by_outcome.outcome = "failure";
  EXPECT_THAT(seqs(list(by_outcome)), ElementsAre(3U));
  AuditFilter window = filter();
  window.since = kNow + 20;  // inclusive
  window.until = kNow + 50;  // exclusive
  EXPECT_THAT(seqs(list(window)), ElementsAre(2U, 3U, 4U));
  AuditFilter combined = filter();
  combined.action = "keys.";
  combined.actor = "user:u-ann";
  combined.outcome = "success";
  EXPECT_THAT(seqs(list(combined)), ElementsAre(1U, 4U));
  EXPECT_THAT(seqs(list(filter(), kTenantB)), IsEmpty()) << "another tenant's log";
}

TEST_P(Audit, PagesWithACursorAndSaysWhenMoreFollow) {
  seven();
  AuditPage first = list(filter(3));
  EXPECT_THAT(seqs(first), ElementsAre(1U, 2U, 3U));
  EXPECT_TRUE(first.more);
  AuditFilter next = filter(3);
  next.after_seq = first.items.back().seq;
  AuditPage second = list(next);
  EXPECT_THAT(seqs(second), ElementsAre(4U, 5U, 6U));
  EXPECT_TRUE(second.more);
  next.after_seq = 6;
  AuditPage last = list(next);
  EXPECT_THAT(seqs(last), ElementsAre(7U));
  EXPECT_FALSE(last.more);
  AuditPage exact = list(filter(7));
  EXPECT_EQ(exact.items.size(), 7U);
  EXPECT_FALSE(exact.more) << "exactly the limit: nothing more";

  auto zero = audit_->list(kTenantA, filter(0));
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, Errc::invalid_input);
}

TEST_P(Audit, TreatsSqlMetacharactersInFiltersAsPlainText) {
  seven();
  for (const std::string& hostile :
       {std::string("' OR 1=1 --"), std::string("%"), std::string("_"), std::string("%."),
        std::string("_."), std::string("keys%"), std::string("k_ys."), std::string("keys.%"),
        std::string("'); DELETE FROM audit_log; --")}) {
    AuditFilter by_action = filter();
    by_action.action = hostile;
    EXPECT_THAT(seqs(list(by_action)), IsEmpty()) << hostile;
    AuditFilter by_actor = filter();
    by_actor.actor = hostile;
    EXPECT_THAT(seqs(list(by_actor)), IsEmpty()) << hostile;
    AuditFilter by_outcome = filter();
    by_outcome.outcome = hostile;
    EXPECT_THAT(seqs(list(by_outcome)), IsEmpty()) << hostile;
    EXPECT_THAT(seqs(list(filter(), hostile)), IsEmpty()) << hostile << " as the tenant";
  }
  EXPECT_EQ(list(filter()).items.size(), 7U) << "nothing was harmed";
  EXPECT_TRUE(verify(kTenantA).ok);
}

TEST_P(Audit, StoresMetacharactersInRecordsByteForByte) {
  audit::Record odd = record("keys.create");
  odd.actor = "user:' OR 1=1 --";
  odd.target = "%_\\";
  odd.detail = R"({"note":"it's 100% \"quoted\"","nl":"a\nb"})";
  const audit::Record stored = append(odd);
  auto read = audit_->range(kTenantA, 1, 1);
  ASSERT_TRUE(read) << read.error().message;
  ASSERT_EQ(read->size(), 1U);
  EXPECT_EQ(read->front(), stored);
  AuditFilter by_actor = filter();
  by_actor.actor = odd.actor;
  EXPECT_THAT(seqs(list(by_actor)), ElementsAre(1U));
  EXPECT_TRUE(verify(kTenantA).ok) << verify(kTenantA).reason;
}

TEST_P(Audit, TwoConcurrentWritersToOneTenantNeitherLoseNorForkTheChain) {
  constexpr int kPerThread = 200;
  std::atomic<int> ready{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  writers.reserve(2);
  for (int t = 0; t < 2; ++t) {
    writers.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < 2) {
      }
      for (int i = 0; i < kPerThread; ++i) {
        audit::Record r = record("writer" + std::to_string(t) + ".append", kNow + i);
        r.request_id = std::to_string(t) + "-" + std::to_string(i);
        if (auto stored = audit_->append(r); !stored) {
          if (failures.fetch_add(1) == 0) {
            ADD_FAILURE() << stored.error().message;
          }
        }
      }
    });
  }
  for (auto& writer : writers) {
    writer.join();
  }
  EXPECT_EQ(failures.load(), 0);

  auto all = audit_->range(kTenantA, 1, 0);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 2U * kPerThread);
  for (std::size_t i = 0; i < all->size(); ++i) {
    ASSERT_EQ((*all)[i].seq, i + 1) << "no gap, no repeat";
  }
  const audit::Verification verified = verify(kTenantA);
  EXPECT_TRUE(verified.ok) << verified.reason;
  EXPECT_EQ(verified.records, 2U * kPerThread);
}

HECS_STORE_ON_BOTH_BACKENDS(Audit);

}  // namespace
}  // namespace hecs::control::store
