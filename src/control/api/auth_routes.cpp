// Login, logout, the caller's identity, password change and sessions (S39–S41).
#include <fmt/format.h>

#include "common/log.h"
#include "control/api/routes.h"

namespace hecs::control::api {
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxUsername = 128;
constexpr const char* kBadLogin = "invalid username or password";

std::string cookie_header(const State& state, const std::string& token, std::int64_t max_age_s) {
  return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}",
                     session_cookie_name(state.deps.tls), token, max_age_s,
                     state.deps.tls ? "; Secure" : "");
}

json::object session_json(const store::Session& s, const std::string& current_id) {
  return json::object{{"id", s.id},
                      {"user_id", s.user_id},
                      {"kind", s.kind},
                      {"created_at", format_time(s.created_at)},
                      {"last_seen_at", format_time(s.last_seen_at)},
                      {"expires_at", format_time(s.expires_at)},
                      {"source", s.source},
                      {"user_agent", s.user_agent},
                      {"current", s.id == current_id}};
}

net::Response too_many(std::int64_t retry_after_s) {
  auto r = net::problem(429, "rate_limited", "too many requests",
                        "too many failed logins: try again later");
  r.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
  return r;
}

// The session a request already carries (cookie or bearer), revoked at login so that a
// session id planted before the login is never the one that gets the user's rights (S41).
void revoke_presented_session(State& state, const net::Request& req) {
  std::string_view token;
  const std::string* authorization = req.header("authorization");
  if (authorization != nullptr && authorization->size() > 7) {
    token = std::string_view(*authorization).substr(7);
  }
  const std::string* cookies = req.header("cookie");
  std::string name = std::string(session_cookie_name(state.deps.tls)) + "=";
  if (token.empty() && cookies != nullptr) {
    auto at = cookies->find(name);
    if (at != std::string::npos) {
      token = std::string_view(*cookies).substr(at + name.size());
      token = token.substr(0, token.find(';'));
    }
  }
  if (!auth::well_formed_session_token(token)) {
    return;
  }
  auto old = state.deps.identities.find_session_by_token(auth::hash_api_key(token));
  if (old) {
    (void)state.deps.identities.revoke_session(old->session.tenant_id, old->session.id,
                                               state.deps.clock.now_ms());
    state.sessions.forget_session(old->session.id);
  }
}

net::Response login(State& state, Call& call) {
  // Login CSRF: another site must not log a browser into an account of its choosing.
  if (const std::string* site = call.req.header("sec-fetch-site"); site && *site == "cross-site") {
    return net::problem(403, "forbidden", "forbidden", "cross-site login refused");
  }
  auto body = Body::parse(call.req.body, {"username", "password", "mode"});
  if (!body) {
    return problem_from(body.error());
  }
  auto username = body->text("username", kMaxUsername);
  auto password = body->text("password", auth::kMaxPasswordBytes);
  auto mode = body->text("mode", 16);
  if (!username || !password || !mode) {
    return problem_from(!username ? username.error() : !password ? password.error() : mode.error());
  }
  if (!*username || !*password) {
    return problem_from(Error{Errc::invalid_input, "body: username and password are required"});
  }
  const std::string kind = mode->value_or("cookie");
  if (kind != "cookie" && kind != "token") {
    return problem_from(Error{Errc::invalid_input, "mode: expected \"cookie\" or \"token\""});
  }
  auto& deps = state.deps;
  const std::int64_t now = deps.clock.now_ms();
  const std::string source = auth::source_address(call.req.remote);
  call.audit_action = "auth.login_failed";
  if (auto wait = state.throttle.retry_after_s(**username, source, now)) {
    call.audit_action = "auth.login_throttled";
    auto user = deps.identities.find_user_by_username(**username);
    if (user && *user) {
      call.audit_tenant = (*user)->tenant_id;
      call.audit_actor = "user:" + (*user)->id;
    }
    return too_many(*wait);
  }
  auto user = deps.identities.find_user_by_username(**username);
  if (!user) {
    return problem_from(user.error());
  }
  if (!*user) {
    auth::verify_dummy_password(**password);  // the same time as a wrong password (S40)
    state.throttle.failed(**username, source, now);
    log::get("control.auth")
        ->warn("auth.login_failed user={} source={} reason=unknown_user", log::quoted(**username),
               log::quoted(source));
    return problem_from(Error{Errc::unauthorized, kBadLogin});
  }
  const store::User& u = **user;
  call.audit_tenant = u.tenant_id;
  call.audit_actor = "user:" + u.id;
  call.audit_target = u.id;
  bool ok = auth::verify_password(**password, u.password_hash);
  auto tenant = deps.identities.get_tenant(u.tenant_id);
  if (!tenant) {
    return problem_from(tenant.error());
  }
  if (!ok || u.disabled_at || tenant->disabled_at) {
    state.throttle.failed(**username, source, now);
    call.audit_detail["reason"] = !ok             ? "password"
                                  : u.disabled_at ? "user disabled"
                                                  : "tenant disabled";
    return problem_from(Error{Errc::unauthorized, kBadLogin});
  }
  state.throttle.succeeded(**username);
  call.audit_action = "auth.login";
  if (auth::needs_rehash(u.password_hash)) {
    // Stored under older, weaker parameters: upgrade now that we hold the password (S40).
    if (deps.identities.set_password(u.tenant_id, u.id, auth::hash_password(**password),
                                     u.password_changed_at)) {
      call.audit_detail["rehashed"] = true;
    }
  }
  revoke_presented_session(state, call.req);

  const std::string token = auth::generate_session_token();
  const std::string csrf = auth::generate_csrf_token();
  store::Session s;
  s.id = random_uuid();
  s.token_hash = auth::hash_api_key(token);
  s.csrf_hash = auth::hash_api_key(csrf);
  s.user_id = u.id;
  s.tenant_id = u.tenant_id;
  s.kind = kind == "cookie" ? "cookie" : "bearer";
  s.created_at = now;
  s.last_seen_at = now;
  s.expires_at = now + deps.sessions.lifetime_ms;
  s.source = source;
  const std::string* agent = call.req.header("user-agent");
  s.user_agent = agent != nullptr ? agent->substr(0, 256) : "";
  if (auto made = deps.identities.create_session(s); !made) {
    return problem_from(made.error());
  }
  call.audit_detail["session"] = s.id;
  call.audit_detail["kind"] = s.kind;
  json::object o{
      {"user",
       json::object{
           {"id", u.id}, {"username", u.username}, {"role", u.role}, {"tenant_id", u.tenant_id}}},
      {"session", session_json(s, s.id)},
      {"csrf_token", csrf}};
  if (kind == "token") {
    o["token"] = token;
  }
  auto r = json_response(o, 201);
  if (kind == "cookie") {
    r.headers.emplace_back("Set-Cookie",
                           cookie_header(state, token, deps.sessions.lifetime_ms / 1000));
  }
  return r;
}

net::Response not_a_session() {
  return net::problem(400, "invalid_input", "invalid request",
                      "this needs a user's session, not an API key");
}

net::Response change_password(State& state, Call& call) {
  if (call.who->kind != auth::Principal::Kind::session) {
    return not_a_session();
  }
  auto body = Body::parse(call.req.body, {"current_password", "new_password"});
  if (!body) {
    return problem_from(body.error());
  }
  auto current = body->text("current_password", auth::kMaxPasswordBytes);
  auto next = body->text("new_password", auth::kMaxPasswordBytes);
  if (!current || !next || !*current || !*next) {
    return problem_from(
        Error{Errc::invalid_input, "body: current_password and new_password are required strings"});
  }
  auto& deps = state.deps;
  const std::int64_t now = deps.clock.now_ms();
  const std::string source = auth::source_address(call.req.remote);
  if (auto wait = state.throttle.retry_after_s(call.who->username, source, now)) {
    return too_many(*wait);
  }
  auto user = deps.identities.get_user(call.who->tenant_id, call.who->user_id);
  if (!user) {
    return problem_from(user.error());
  }
  if (!auth::verify_password(**current, user->password_hash)) {
    state.throttle.failed(call.who->username, source, now);
    return net::problem(403, "forbidden", "forbidden", "the current password is wrong");
  }
  if (auto ok = auth::check_password_policy(**next); !ok) {
    return problem_from(ok.error());
  }
  if (auto set =
          deps.identities.set_password(user->tenant_id, user->id, auth::hash_password(**next), now);
      !set) {
    return problem_from(set.error());
  }
  // Everyone else holding a session of this user is logged out; this session stays.
  auto ended =
      deps.identities.revoke_user_sessions(user->tenant_id, user->id, now, call.who->session_id);
  state.sessions.clear();
  call.audit_target = user->id;
  call.audit_detail["sessions_revoked"] = ended ? *ended : 0;
  return no_content();
}

}  // namespace

void add_auth_routes(Router& router, State& state) {
  router.add({"POST",
              "/api/v1/auth/login",
              open_access(),
              "auth.login",
              [&state](Call& call) { return login(state, call); },
              {"Log in: a session cookie (mode cookie) or a bearer token (mode token)",
               "LoginRequest", "LoginReply", 201}});
  router.add({"POST",
              "/api/v1/auth/logout",
              needs(auth::Role::viewer),
              "auth.logout",
              [&state](Call& call) {
                if (call.who->kind != auth::Principal::Kind::session) {
                  return not_a_session();
                }
                auto ended = state.deps.identities.revoke_session(
                    call.who->tenant_id, call.who->session_id, state.deps.clock.now_ms());
                if (!ended) {
                  return problem_from(ended.error());
                }
                state.sessions.forget_session(call.who->session_id);
                call.audit_target = call.who->session_id;
                auto r = no_content();
                r.headers.emplace_back("Set-Cookie", cookie_header(state, "", 0));
                return r;
              },
              {"End the caller's session", "", "", 204}});
  router.add({"GET",
              "/api/v1/auth/me",
              needs(auth::Role::viewer),
              "auth.me",
              [&state](Call& call) {
                const auth::Principal& p = *call.who;
                json::object o{
                    {"kind", p.kind == auth::Principal::Kind::session ? "session" : "api_key"},
                    {"tenant_id", p.tenant_id},
                    {"role", auth::role_name(p.role)}};
                if (auto tenant = state.deps.identities.get_tenant(p.tenant_id)) {
                  o["tenant_name"] = tenant->name;
                }
                if (p.kind == auth::Principal::Kind::session) {
                  o["user_id"] = p.user_id;
                  o["username"] = p.username;
                  o["session_id"] = p.session_id;
                } else {
                  o["key_id"] = p.key_id;
                }
                return json_response(o);
              },
              {"Who the caller is", "", "Me"}});
  router.add({"POST",
              "/api/v1/auth/password",
              needs(auth::Role::viewer),
              "auth.password",
              [&state](Call& call) { return change_password(state, call); },
              {"Change the caller's password; other sessions end", "PasswordChange", "", 204}});

  router.add({"GET",
              "/api/v1/sessions",
              needs(auth::Role::viewer),
              "sessions.list",
              [&state](Call& call) {
                const auth::Principal& p = *call.who;
                const std::string* all = call.req.query_param("all");
                for (const auto& [key, value] : call.req.query) {
                  if (key != "all" || (value != "true" && value != "false")) {
                    return net::problem(400, "invalid_input", "invalid request",
                                        "the only query parameter is all=true|false");
                  }
                }
                bool tenant_wide = all != nullptr && *all == "true";
                if (tenant_wide && p.role < auth::Role::admin) {
                  return net::problem(403, "forbidden", "forbidden",
                                      "all=true needs the role admin");
                }
                if (!tenant_wide && p.kind != auth::Principal::Kind::session) {
                  return not_a_session();
                }
                auto list = state.deps.identities.list_sessions(
                    p.tenant_id, tenant_wide ? "" : p.user_id, state.deps.clock.now_ms());
                if (!list) {
                  return problem_from(list.error());
                }
                json::array items;
                for (const auto& s : *list) {
                  items.push_back(session_json(s, p.session_id));
                }
                return json_response(json::object{{"items", std::move(items)}});
              },
              {"The caller's live sessions, or the tenant's with all=true (admin)",
               "",
               "SessionList",
               200,
               {"all"}}});
  router.add({"DELETE",
              "/api/v1/sessions/{id}",
              needs(auth::Role::viewer),
              "sessions.revoke",
              [&state](Call& call) {
                const auth::Principal& p = *call.who;
                const std::string& id = call.param("id");
                auto s = is_uuid(id) ? state.deps.identities.get_session(p.tenant_id, id)
                                     : Result<store::Session>(fail(Errc::not_found, ""));
                // Another user's session is none of a non-admin's business: 404, as if absent.
                if (!s || (s->user_id != p.user_id && p.role < auth::Role::admin)) {
                  return net::problem(404, "not_found", "not found", "no session with this id");
                }
                auto ended = state.deps.identities.revoke_session(p.tenant_id, id,
                                                                  state.deps.clock.now_ms());
                if (!ended) {
                  return problem_from(ended.error());
                }
                state.sessions.forget_session(id);
                return json_response(session_json(*ended, p.session_id));
              },
              {"End a session: the caller's own, or any of the tenant's (admin)", "", "Session"}});
}

}  // namespace hecs::control::api
