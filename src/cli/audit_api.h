// The audit log over the hecs-control REST API (docs/api.md): records with filters and a
// cursor, signed checkpoints of the chain's head, and the keys that sign them, as JSON and as
// the audit::Record, Checkpoint and PublicKey that audit::verify checks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "cli/http_client.h"
#include "common/audit/audit.h"
#include "common/result.h"

namespace hecs::cli {

struct AuditQuery {
  std::string action{};   // action=, "" for any
  std::string actor{};    // actor=
  std::string outcome{};  // outcome=
  std::optional<std::int64_t> since_ms{};
  std::optional<std::int64_t> until_ms{};
  int limit = 0;         // limit=, 0 for the server's default (100); at most 1000
  std::string cursor{};  // cursor=, a previous page's next_cursor
};

// "/api/v1/audit?action=keys.create&limit=10" with each value percent-encoded.
std::string audit_target(const AuditQuery& query);

// Borrows the client, which must outlive it. Errors: those of call_api() (api.h); a 2xx answer
// without the documented members, or a record, checkpoint or key that audit:: cannot read, is
// Errc::corrupt.
class AuditApi {
 public:
  explicit AuditApi(HttpClient& http) : http_(http) {}

  // One page: {"items":[record],"next_cursor":"<seq>"|null}.
  Result<boost::json::value> list_page(const AuditQuery& query);
  // Every page from query.cursor on: {"items":[record]}.
  Result<boost::json::value> list_all(AuditQuery query);
  // {"items":[checkpoint]}.
  Result<boost::json::value> checkpoints();
  // POST: a checkpoint of the tenant's current head, as the server signed it.
  Result<audit::Checkpoint> create_checkpoint();

  // What verify and export need, all of the caller's tenant: every record (in pages of
  // 1000), every checkpoint and the signing keys.
  Result<audit::Bundle> fetch_bundle(std::string tenant_id);

 private:
  HttpClient& http_;
};

}  // namespace hecs::cli
