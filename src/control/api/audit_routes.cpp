// The audit log over the API: records with filters and a cursor, signed checkpoints of the
// chain head (kept outside the database, control/checkpoints) and the keys that verify them.
#include <charconv>

#include <fmt/format.h>

#include "common/crypto/crypto.h"
#include "control/api/routes.h"

namespace hecs::control::api {
namespace json = boost::json;

namespace {

constexpr std::size_t kDefaultLimit = 100;
constexpr std::size_t kMaxLimit = 1000;

Result<std::int64_t> number(std::string_view key, const std::string& value, std::int64_t max) {
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || p != value.data() + value.size() || n < 0 || n > max) {
    return fail(Errc::invalid_input, fmt::format("{}: expected an integer from 0 to {}", key, max));
  }
  return n;
}

Result<store::AuditFilter> audit_filter(const net::Request& req) {
  store::AuditFilter f;
  f.limit = kDefaultLimit;
  for (const auto& [key, value] : req.query) {
    if (key == "action" || key == "actor" || key == "outcome") {
      if (value.size() > 128) {
        return fail(Errc::invalid_input, fmt::format("{}: at most 128 characters", key));
      }
      (key == "action" ? f.action : key == "actor" ? f.actor : f.outcome) = value;
    } else if (key == "since" || key == "until") {
      auto n = number(key, value, INT64_MAX / 2);
      if (!n) {
        return tl::unexpected(n.error());
      }
      (key == "since" ? f.since : f.until) = *n;
    } else if (key == "cursor") {
      auto n = number(key, value, INT64_MAX / 2);
      if (!n) {
        return fail(Errc::invalid_input, "invalid cursor");
      }
      f.after_seq = static_cast<std::uint64_t>(*n);
    } else if (key == "limit") {
      auto n = number(key, value, kMaxLimit);
      if (!n || *n < 1) {
        return fail(Errc::invalid_input, fmt::format("limit must be 1..{}", kMaxLimit));
      }
      f.limit = static_cast<std::size_t>(*n);
    } else {
      return fail(Errc::invalid_input,
                  fmt::format("unknown query parameter '{}'", key.substr(0, 64)));
    }
  }
  return f;
}

net::Response no_signer() {
  return net::problem(503, "unavailable", "service unavailable",
                      "audit checkpoints are not set up");
}

}  // namespace

void add_audit_routes(Router& router, State& state) {
  router.add({"GET",
              "/api/v1/audit",
              needs(auth::Role::admin),
              "audit.list",
              [&state](Call& call) {
                auto filter = audit_filter(call.req);
                if (!filter) {
                  return problem_from(filter.error());
                }
                auto page = state.deps.audit.list(call.who->tenant_id, *filter);
                if (!page) {
                  return problem_from(page.error());
                }
                json::array items;
                for (const auto& r : page->items) {
                  items.push_back(audit::to_json(r));
                }
                json::object body{{"items", std::move(items)}};
                body["next_cursor"] = page->more && !page->items.empty()
                                          ? json::value(std::to_string(page->items.back().seq))
                                          : json::value(nullptr);
                return json_response(body);
              },
              {"The tenant's audit records in order, filtered",
               "",
               "AuditPage",
               200,
               {"action", "actor", "outcome", "since", "until", "cursor", "limit"}}});
  router.add({"GET",
              "/api/v1/audit/checkpoints",
              needs(auth::Role::admin),
              "audit.checkpoints",
              [&state](Call& call) {
                if (state.deps.checkpoints == nullptr) {
                  return no_signer();
                }
                auto list = state.deps.checkpoints->list(call.who->tenant_id);
                if (!list) {
                  return problem_from(list.error());
                }
                json::array items;
                for (const auto& c : *list) {
                  items.push_back(audit::to_json(c));
                }
                return json_response(json::object{{"items", std::move(items)}});
              },
              {"The tenant's signed checkpoints, oldest first", "", "CheckpointList"}});
  router.add({"POST",
              "/api/v1/audit/checkpoints",
              needs(auth::Role::admin),
              "audit.checkpoint",
              [&state](Call& call) {
                if (state.deps.checkpoints == nullptr) {
                  return no_signer();
                }
                auto head = state.deps.audit.head(call.who->tenant_id);
                if (!head) {
                  return problem_from(head.error());
                }
                auto c =
                    state.deps.checkpoints->sign(call.who->tenant_id, head->first, head->second);
                if (!c) {
                  return problem_from(c.error());
                }
                call.audit_detail = json::object{{"seq", c->seq}, {"head", c->head}};
                return json_response(audit::to_json(*c), 201);
              },
              {"Sign the tenant's chain head now", "", "Checkpoint", 201}});
  router.add({"GET",
              "/api/v1/audit/keys",
              needs(auth::Role::viewer),
              "audit.keys",
              [&state](Call&) {
                if (state.deps.checkpoints == nullptr) {
                  return no_signer();
                }
                json::array items;
                for (const auto& k : state.deps.checkpoints->keys()) {
                  items.push_back(
                      json::object{{"key_id", k.key_id},
                                   {"public_key", crypto::base64url_encode(k.public_key)}});
                }
                return json_response(json::object{{"items", std::move(items)}});
              },
              {"The public keys that verify checkpoints, old ones included", "", "AuditKeyList"}});
  add_audit_verify_route(router, state);
}

}  // namespace hecs::control::api
