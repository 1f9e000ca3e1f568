#include "control/api/api.h"

#include <algorithm>
#include <cctype>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "common/crypto/crypto.h"
#include "common/log.h"
#include "control/api/routes.h"
#include "control/auth/auth.h"

namespace hecs::control::api {
namespace json = boost::json;

net::Response problem_from(const Error& error) {
  int status = 500;
  std::string title = "internal error";
  switch (error.code) {
    case Errc::invalid_input:
      status = 400;
      title = "invalid request";
      break;
    case Errc::unauthorized:
      status = 401;
      title = "unauthorized";
      break;
    case Errc::forbidden:
      status = 403;
      title = "forbidden";
      break;
    case Errc::not_found:
      status = 404;
      title = "not found";
      break;
    case Errc::conflict:
      status = 409;
      title = "conflict";
      break;
    case Errc::unavailable:
      status = 503;
      title = "service unavailable";
      break;
    case Errc::timeout:
      status = 504;
      title = "timeout";
      break;
    case Errc::corrupt:
      status = 500;
      title = "stored data damaged";
      break;
    case Errc::internal:
      status = 500;
      title = "internal error";
      break;
  }
  // Internal details stay in the log; only client errors say what was wrong.
  bool show = status < 500;
  if (!show) {
    log::get("control.api")
        ->error("api.failed status={} code={} error={}", status, errc_name(error.code),
                log::quoted(error.message));
  }
  auto r = net::problem(status, errc_name(error.code), title, show ? error.message : "");
  if (status == 401) {
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"hecs\"");
  }
  if (status == 503) {
    r.headers.emplace_back("Retry-After", "5");
  }
  return r;
}

std::string encode_cursor(const std::string& last_id) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t buf = 0;
  int bits = 0;
  for (unsigned char c : last_id) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buf >> bits) & 0x3f];
    }
  }
  if (bits > 0) {
    out += kAlphabet[(buf << (6 - bits)) & 0x3f];
  }
  return out;
}

Result<std::string> decode_cursor_text(const std::string& cursor, std::size_t max_chars) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  std::string out;
  std::uint32_t buf = 0;
  int bits = 0;
  if (cursor.size() > max_chars) {
    return fail(Errc::invalid_input, "invalid cursor");
  }
  for (char c : cursor) {
    int v = value(c);
    if (v < 0) {
      return fail(Errc::invalid_input, "invalid cursor");
    }
    buf = (buf << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xff);
    }
  }
  return out;
}

Result<std::string> decode_cursor(const std::string& cursor) {
  auto out = decode_cursor_text(cursor, 128);
  if (out && !is_uuid(*out)) {
    return fail(Errc::invalid_input, "invalid cursor");
  }
  return out;
}

namespace {

constexpr std::string_view kCookieTls = "__Host-hecs_session";
constexpr std::string_view kCookiePlain = "hecs_session";

// The value of cookie `name` in a Cookie header, or "".
std::string_view cookie_value(const std::string* header, std::string_view name) {
  if (header == nullptr) {
    return {};
  }
  std::string_view rest = *header;
  while (!rest.empty()) {
    auto semi = rest.find(';');
    std::string_view pair = rest.substr(0, semi);
    rest.remove_prefix(semi == std::string_view::npos ? rest.size() : semi + 1);
    while (!pair.empty() && pair.front() == ' ') {
      pair.remove_prefix(1);
    }
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
      return pair.substr(name.size() + 1);
    }
  }
  return {};
}

bool bearer_session(const std::string* authorization) {
  return authorization != nullptr && authorization->size() > 7 &&
         std::string_view(*authorization).substr(7).starts_with(auth::kSessionPrefix);
}

// A client's X-Request-Id when it is short and plain, else a fresh one.
std::string request_id_of(const net::Request& req) {
  const std::string* given = req.header("x-request-id");
  if (given != nullptr && !given->empty() && given->size() <= 64 &&
      std::all_of(given->begin(), given->end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      })) {
    return *given;
  }
  return random_uuid();
}

// Text from a request (a path parameter may hold any bytes) as the audit log can carry it:
// ASCII kept, anything else '?', at most audit::kMaxFieldBytes.
std::string audit_text(std::string_view in) {
  std::string out(in.substr(0, audit::kMaxFieldBytes));
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {
      c = '?';
    }
  }
  return out;
}

std::string_view outcome_of(int status) {
  if (status < 400) {
    return "success";
  }
  return status == 401 || status == 403 ? "denied" : "failure";
}

}  // namespace

std::string_view session_cookie_name(bool tls) { return tls ? kCookieTls : kCookiePlain; }

Api::Api(Deps deps)
    : state_(std::make_unique<State>(std::move(deps))), router_(std::make_unique<Router>()) {
  add_health_routes(*router_, *state_);
  add_enrol_routes(*router_, *state_);
  add_auth_routes(*router_, *state_);
  add_device_routes(*router_, *state_);
  add_device_history_routes(*router_, *state_);
  add_user_routes(*router_, *state_);
  add_key_routes(*router_, *state_);
  add_tenant_routes(*router_, *state_);
  add_audit_routes(*router_, *state_);
  add_task_routes(*router_, *state_);
  add_artifact_routes(*router_, *state_);
  add_task_event_route(*router_, *state_);
  add_device_event_route(*router_, *state_);
  add_group_routes(*router_, *state_);
  add_schedule_routes(*router_, *state_);
  add_openapi_route(*router_);
}

Api::~Api() = default;

net::Response Api::handle(const net::Request& request) {
  const std::string request_id = request_id_of(request);
  auto response = dispatch(request, request_id);
  response.headers.emplace_back("X-Request-Id", request_id);
  state_->deps.metrics
      .counter("hecs_http_requests_total", "HTTP requests answered, by status class",
               {{"code", fmt::format("{}xx", response.status / 100)}})
      .inc();
  return response;
}

namespace {

// X-HECS-Tenant (docs/api.md, "Tenants"): a superadmin acts in another tenant, with its own
// role and identity; the audit records go to that tenant's log. Anyone else is refused, so a
// header cannot widen what a key or session reaches. `what` names the header or parameter.
Result<void> act_in_tenant(store::IdentityStore& identities, auth::Principal& who,
                           const std::string& tenant_id, std::string_view what) {
  if (who.role != auth::Role::superadmin) {
    return fail(Errc::forbidden, fmt::format("{}: only a superadmin acts in another tenant", what));
  }
  if (!is_uuid(tenant_id)) {
    return fail(Errc::invalid_input, fmt::format("{}: expected a tenant id", what));
  }
  auto tenant = identities.get_tenant(tenant_id);
  if (!tenant) {
    return tenant.error().code == Errc::not_found
               ? fail(Errc::invalid_input, fmt::format("{}: no such tenant", what))
               : tl::unexpected(tenant.error());
  }
  if (tenant->disabled_at) {
    return fail(Errc::conflict, fmt::format("{}: this tenant is disabled", what));
  }
  who.tenant_id = tenant_id;
  return {};
}

// EventSource cannot send headers, so the event streams also take the tenant as `?tenant=`,
// under the header's rules; no other route reads it.
bool takes_tenant_query(const Route* route, std::string_view method) {
  return route != nullptr && method == "GET" &&
         (route->action == "devices.events" || route->action == "tasks.events");
}

// The tenant a call asks to act in (header, or the event streams' parameter), or nullptr.
Result<const std::string*> acting_tenant(const net::Request& req, const Route* route) {
  const std::string* header = req.header("x-hecs-tenant");
  const std::string* param = nullptr;
  if (takes_tenant_query(route, req.method)) {
    for (const auto& [key, value] : req.query) {
      if (key == "tenant" && param != nullptr) {
        return fail(Errc::invalid_input, "tenant: given more than once");
      }
      param = key == "tenant" ? &value : param;
    }
  }
  if (header != nullptr && param != nullptr && *header != *param) {
    return fail(Errc::invalid_input, "tenant: the X-HECS-Tenant header and ?tenant= differ");
  }
  return header != nullptr ? header : param;
}

// Moves `who` into the tenant the call names, if any (X-HECS-Tenant, or ?tenant= on the event
// streams).
Result<void> enter_tenant(store::IdentityStore& identities, const net::Request& req,
                          const Route* route, auth::Principal& who) {
  auto acting = acting_tenant(req, route);
  if (!acting) {
    return tl::unexpected(acting.error());
  }
  if (*acting == nullptr) {
    return {};
  }
  const bool header = req.header("x-hecs-tenant") != nullptr;
  return act_in_tenant(identities, who, **acting, header ? "X-HECS-Tenant" : "tenant");
}

}  // namespace

void record_audit(State& state, const Call& call, std::string_view action, int status,
                  const std::string& request_id) {
  audit::Record r;
  r.tenant_id = !call.audit_tenant.empty() ? call.audit_tenant
                : call.who != nullptr      ? call.who->tenant_id
                                           : std::string();
  if (r.tenant_id.empty()) {
    return;  // nobody known to file it under (an unknown caller); the log line remains
  }
  r.ts = state.deps.clock.now_ms();
  r.actor = !call.audit_actor.empty() ? call.audit_actor
            : call.who != nullptr     ? call.who->actor()
                                      : std::string("anonymous");
  r.action = call.audit_action ? *call.audit_action : std::string(action);
  r.target = !call.audit_target.empty() ? call.audit_target : call.param("id");
  r.source = call.req.remote;
  r.outcome = std::string(outcome_of(status));
  r.request_id = request_id;
  r.detail = json::serialize(call.audit_detail);
  // Within what audit::parse_bundle reads back: a record over the limits, hashed into the
  // chain, would make every export that holds it unreadable.
  for (std::string* field : {&r.actor, &r.action, &r.target, &r.source, &r.request_id}) {
    *field = audit_text(*field);
  }
  if (r.detail.size() > audit::kMaxDetailBytes) {
    r.detail = R"({"truncated":true})";
  }
  auto stored = state.deps.audit.append(std::move(r));
  if (!stored) {
    state.deps.metrics
        .counter("hecs_audit_append_failures_total", "Audit records that could not be written")
        .inc();
    log::get("control.audit")
        ->error("audit.append_failed action={} error={}", log::quoted(action),
                log::quoted(stored.error().message));
  }
}

net::Response Api::dispatch(const net::Request& req, const std::string& request_id) {
  auto m = router_->match(req.method, req.path);
  const bool open = m.route != nullptr ? m.route->access.kind == Access::Kind::open
                                       : m.open_path || !req.path.starts_with("/api/");
  // Under /api/ only the open routes answer a caller without credentials; anything else,
  // an unknown path or method included, is 401 first, so nobody learns the routes (S25).
  if (m.route == nullptr && m.allow.empty() && !req.path.starts_with("/api/")) {
    if (state_->deps.web && req.path != "/api") {
      return state_->deps.web(req);
    }
    return net::problem(404, "not_found", "not found", "no such route");
  }
  Call call(req, std::move(m.params));
  auto& deps = state_->deps;
  std::optional<auth::Principal> who;
  if (!open) {
    const std::string* authorization = req.header("authorization");
    Result<auth::Principal> principal = fail(Errc::unauthorized, "no credentials");
    std::optional<store::ApiKey> revoked;
    if (bearer_session(authorization)) {
      principal =
          auth::authenticate_session(deps.identities, std::string_view(*authorization).substr(7),
                                     false, deps.clock, deps.sessions, &state_->sessions);
    } else if (authorization != nullptr) {
      principal =
          auth::authenticate(deps.identities, authorization, deps.clock, &state_->keys, &revoked);
    } else if (auto cookie = cookie_value(req.header("cookie"), session_cookie_name(deps.tls));
               !cookie.empty()) {
      principal = auth::authenticate_session(deps.identities, cookie, true, deps.clock,
                                             deps.sessions, &state_->sessions);
    } else {
      principal = fail(Errc::unauthorized, "missing credentials: an API key or a session");
    }
    if (!principal) {
      if (revoked) {
        // A revoked key that is still in use: someone may hold a leaked copy.
        call.audit_tenant = revoked->tenant_id;
        call.audit_actor = "key:" + revoked->id;
        call.audit_target = revoked->id;
        record_audit(*state_, call, "auth.revoked_key_used", 401, request_id);
      }
      return problem_from(principal.error());
    }
    who = std::move(*principal);
    call.who = &*who;
    if (auto acting = enter_tenant(deps.identities, req, m.route, *who); !acting) {
      return problem_from(acting.error());
    }
  }
  if (m.route == nullptr) {
    if (!m.allow.empty()) {
      auto r = net::problem(405, "invalid_input", "method not allowed");
      r.headers.emplace_back("Allow", m.allow);
      return r;
    }
    return net::problem(404, "not_found", "not found", "no such route");
  }
  const Route& route = *m.route;
  if (route.access.kind == Access::Kind::unset) {
    // Denied by default (S38); RouteTable's test keeps this from shipping.
    return net::problem(403, "forbidden", "forbidden", "this route has no access policy");
  }
  if (!open) {
    bool allowed = route.access.kind == Access::Kind::platform ? who->role == auth::Role::superadmin
                                                               : who->role >= route.access.role;
    std::string why;
    if (!allowed) {
      why = fmt::format("this needs the role {}", auth::role_name(route.access.role));
    } else if (who->cookie && is_mutating(req.method)) {
      // CSRF (S41): a cookie comes with every request the browser makes, so a state change
      // also needs the token the login returned, and must not come from another site.
      const std::string* token = req.header("x-csrf-token");
      const std::string* site = req.header("sec-fetch-site");
      if (site != nullptr && *site == "cross-site") {
        why = "cross-site request refused";
      } else if (token == nullptr ||
                 !crypto::equal_constant_time(auth::hash_api_key(*token), who->csrf_hash)) {
        why = "missing or wrong X-CSRF-Token header";
      }
    }
    if (!why.empty()) {
      auto r = net::problem(403, "forbidden", "forbidden", why);
      if (is_mutating(req.method)) {
        record_audit(*state_, call, route.action, 403, request_id);
      }
      return r;
    }
  }
  net::Response response = route.handler(call);
  if (is_mutating(req.method) || call.audit_always) {
    record_audit(*state_, call, route.action, response.status, request_id);
  }
  return response;
}

}  // namespace hecs::control::api
