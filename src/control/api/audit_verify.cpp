// POST /api/v1/audit/verify: the server checks the caller's tenant's chain against its signed
// checkpoints with the same audit::verify that hecsctl runs client-side. It is the server
// checking itself: whoever rewrote the database and holds the checkpoint keys could make it
// answer OK, so an independent check stays `hecsctl audit verify` on saved checkpoints or an
// export (docs/security.md).
//
// POST, not GET: it is an action that reads the whole chain, so it is audited like the other
// mutating calls, a session must send its CSRF token (no page of another site can make an
// admin's browser start it), and a viewer's attempt is recorded as denied.
#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "control/api/routes.h"

namespace hecs::control::api {
namespace json = boost::json;

namespace {

constexpr std::size_t kPage = 1000;

net::Response unavailable(std::string_view detail) {
  auto r = net::problem(503, "unavailable", "service unavailable", detail);
  r.headers.emplace_back("Retry-After", "5");
  return r;
}

// Clears the flag when the check ends, however it ends.
class Running {
 public:
  explicit Running(std::atomic<bool>& flag) : flag_(flag) {}
  ~Running() { flag_.store(false); }
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;
  Running(Running&&) = delete;
  Running& operator=(Running&&) = delete;

 private:
  std::atomic<bool>& flag_;
};

// The tenant's whole log in seq order, read a page at a time (the cursor is the last seq
// read, so a gap in seq ends no page early); more than audit::kMaxBundleRecords is refused
// as an export bundle of that size would be: nullopt.
Result<std::optional<std::vector<audit::Record>>> read_chain(store::AuditStore& store,
                                                             const std::string& tenant) {
  std::vector<audit::Record> records;
  store::AuditFilter filter;
  filter.limit = kPage;
  for (;;) {
    auto page = store.list(tenant, filter);
    if (!page) {
      return tl::unexpected(std::move(page.error()));
    }
    if (records.size() + page->items.size() > audit::kMaxBundleRecords) {
      return std::nullopt;
    }
    for (auto& r : page->items) {
      records.push_back(std::move(r));
    }
    if (!page->more || records.empty()) {
      return std::optional<std::vector<audit::Record>>(std::move(records));
    }
    filter.after_seq = records.back().seq;
  }
}

}  // namespace

void add_audit_verify_route(Router& router, State& state) {
  // One check at a time for the whole server: each holds a tenant's log in memory.
  auto busy = std::make_shared<std::atomic<bool>>(false);
  router.add({"POST",
              "/api/v1/audit/verify",
              needs(auth::Role::admin),
              "audit.verify",
              [&state, busy](Call& call) {
                if (busy->exchange(true)) {
                  return unavailable("another audit verification is running; try again shortly");
                }
                Running running(*busy);
                const std::string& tenant = call.who->tenant_id;
                auto records = read_chain(state.deps.audit, tenant);
                if (!records) {
                  return problem_from(records.error());
                }
                if (!*records) {
                  return unavailable(fmt::format(
                      "the log has more than {} records: verify an export with hecsctl audit "
                      "verify instead",
                      audit::kMaxBundleRecords));
                }
                std::vector<audit::Checkpoint> checkpoints;
                audit::KeyRing keys;
                if (state.deps.checkpoints != nullptr) {
                  auto listed = state.deps.checkpoints->list(tenant);
                  if (!listed) {
                    return problem_from(listed.error());
                  }
                  checkpoints = std::move(*listed);
                  keys = state.deps.checkpoints->keys();
                }
                audit::Verification v = audit::verify(tenant, **records, checkpoints, keys);
                json::object body{{"tenant_id", tenant},
                                  {"ok", v.ok},
                                  {"records", v.records},
                                  {"checkpoints", v.checkpoints},
                                  {"first_bad_seq", v.first_bad_seq ? json::value(*v.first_bad_seq)
                                                                    : json::value(nullptr)},
                                  {"reason", v.reason}};
                call.audit_detail = body;
                return json_response(body);
              },
              {"Check the tenant's chain and checkpoints on the server", "", "AuditVerification"}});
}

}  // namespace hecs::control::api
