// API keys of a tenant (S42): created with a role, a name and an expiry, shown once, stored as
// a SHA-256, revoked at once, rotated with an overlap during which both keys work.
#include <fmt/format.h>

#include "control/api/routes.h"

namespace hecs::control::api {
namespace json = boost::json;

namespace {

constexpr std::int64_t kDay_s = 24 * 3600;
constexpr std::int64_t kDefaultExpiry_s = 90 * kDay_s;
constexpr std::int64_t kMaxExpiry_s = 2 * 366 * kDay_s;
constexpr std::int64_t kDefaultOverlap_s = kDay_s;
constexpr std::int64_t kMaxOverlap_s = 30 * kDay_s;

json::object key_json(const store::ApiKey& k, std::int64_t now) {
  std::string state = k.revoked_at                           ? "revoked"
                      : k.expires_at && *k.expires_at <= now ? "expired"
                      : k.replaced_by                        ? "rotating"
                                                             : "active";
  return json::object{{"id", k.id},
                      {"name", k.name},
                      {"prefix", k.prefix},
                      {"role", k.role},
                      {"state", state},
                      {"created_at", format_time(k.created_at)},
                      {"created_by", k.created_by},
                      {"expires_at", optional_time(k.expires_at)},
                      {"last_used_at", optional_time(k.last_used_at)},
                      {"revoked_at", optional_time(k.revoked_at)},
                      {"replaced_by", k.replaced_by ? json::value(*k.replaced_by) : nullptr}};
}

// A fresh key record of the caller's tenant; the key itself is returned beside it.
std::pair<store::ApiKey, std::string> make_key(const auth::Principal& who, std::string name,
                                               std::string role, std::int64_t now,
                                               std::int64_t expires_in_s) {
  std::string key = auth::generate_api_key();
  store::ApiKey k;
  k.id = random_uuid();
  k.tenant_id = who.tenant_id;
  k.prefix = key.substr(0, auth::kKeyPrefix.size() + 6);
  k.hash = auth::hash_api_key(key);
  k.role = std::move(role);
  k.created_at = now;
  k.name = std::move(name);
  k.expires_at = now + expires_in_s * 1000;
  k.created_by = who.actor();
  return {std::move(k), std::move(key)};
}

net::Response create_key(State& state, Call& call) {
  auto body = Body::parse(call.req.body, {"name", "role", "expires_in_s"});
  if (!body) {
    return problem_from(body.error());
  }
  auto name = body->text("name", 64);
  auto role_text = body->text("role", 32);
  auto expires = body->integer("expires_in_s", 60, kMaxExpiry_s);
  if (!name || !role_text || !expires) {
    return problem_from(!name ? name.error() : !role_text ? role_text.error() : expires.error());
  }
  if (!*name) {
    return problem_from(Error{Errc::invalid_input, "name: required"});
  }
  if (auto ok = check_name("name", **name); !ok) {
    return problem_from(ok.error());
  }
  auto role = *role_text ? auth::parse_role(**role_text) : std::optional<auth::Role>();
  if (!role) {
    return problem_from(Error{Errc::invalid_input,
                              "role: required, one of viewer, operator, admin, owner, superadmin"});
  }
  if (*role > call.who->role) {
    return net::problem(403, "forbidden", "forbidden",
                        fmt::format("you cannot make a key with a role above your own ({})",
                                    auth::role_name(call.who->role)));
  }
  const std::int64_t now = state.deps.clock.now_ms();
  auto [record, key] = make_key(*call.who, **name, std::string(auth::role_name(*role)), now,
                                expires->value_or(kDefaultExpiry_s));
  if (auto made = state.deps.identities.create_api_key(record); !made) {
    return problem_from(made.error());
  }
  call.audit_target = record.id;
  call.audit_detail =
      json::object{{"name", record.name}, {"role", record.role}, {"prefix", record.prefix}};
  auto o = key_json(record, now);
  o["key"] = key;  // the only time it is shown
  auto r = json_response(o, 201);
  return r;
}

net::Response rotate_key(State& state, Call& call) {
  auto body =
      Body::parse(call.req.body.empty() ? "{}" : call.req.body, {"overlap_s", "expires_in_s"});
  if (!body) {
    return problem_from(body.error());
  }
  auto overlap = body->integer("overlap_s", 0, kMaxOverlap_s);
  auto expires = body->integer("expires_in_s", 60, kMaxExpiry_s);
  if (!overlap || !expires) {
    return problem_from(!overlap ? overlap.error() : expires.error());
  }
  auto& ids = state.deps.identities;
  const std::string& id = call.param("id");
  auto old = is_uuid(id) ? ids.get_api_key(call.who->tenant_id, id)
                         : Result<store::ApiKey>(fail(Errc::not_found, "no API key with this id"));
  if (!old) {
    return problem_from(old.error());
  }
  auto old_role = auth::parse_role(old->role).value_or(auth::Role::superadmin);
  if (old_role > call.who->role) {
    return net::problem(403, "forbidden", "forbidden",
                        "you cannot rotate a key whose role is above your own");
  }
  const std::int64_t now = state.deps.clock.now_ms();
  auto [record, key] =
      make_key(*call.who, old->name, old->role, now, expires->value_or(kDefaultExpiry_s));
  const std::int64_t old_until = now + overlap->value_or(kDefaultOverlap_s) * 1000;
  if (auto done = ids.rotate_api_key(call.who->tenant_id, id, record, old_until, now); !done) {
    return problem_from(done.error());
  }
  state.keys.forget(old->hash);
  call.audit_detail =
      json::object{{"replacement", record.id}, {"old_valid_until", format_time(old_until)}};
  auto o = key_json(record, now);
  o["key"] = key;
  o["replaces"] = old->id;
  o["old_key_expires_at"] = format_time(std::min(old_until, old->expires_at.value_or(old_until)));
  auto r = json_response(o, 201);
  return r;
}

}  // namespace

void add_key_routes(Router& router, State& state) {
  router.add({"GET",
              "/api/v1/keys",
              needs(auth::Role::admin),
              "keys.list",
              [&state](Call& call) {
                auto keys = state.deps.identities.list_api_keys(call.who->tenant_id);
                if (!keys) {
                  return problem_from(keys.error());
                }
                const std::int64_t now = state.deps.clock.now_ms();
                json::array items;
                for (const auto& k : *keys) {
                  items.push_back(key_json(k, now));
                }
                return json_response(json::object{{"items", std::move(items)}});
              },
              {"The tenant's API keys, by prefix and last use", "", "KeyList"}});
  router.add({"POST",
              "/api/v1/keys",
              needs(auth::Role::admin),
              "keys.create",
              [&state](Call& call) { return create_key(state, call); },
              {"Create an API key; the key is shown once", "NewKey", "CreatedKey", 201}});
  router.add({"GET",
              "/api/v1/keys/{id}",
              needs(auth::Role::admin),
              "keys.get",
              [&state](Call& call) {
                const std::string& id = call.param("id");
                auto k =
                    is_uuid(id)
                        ? state.deps.identities.get_api_key(call.who->tenant_id, id)
                        : Result<store::ApiKey>(fail(Errc::not_found, "no API key with this id"));
                if (!k) {
                  return problem_from(k.error());
                }
                return json_response(key_json(*k, state.deps.clock.now_ms()));
              },
              {"One API key", "", "Key"}});
  router.add({"DELETE",
              "/api/v1/keys/{id}",
              needs(auth::Role::admin),
              "keys.revoke",
              [&state](Call& call) {
                const std::string& id = call.param("id");
                const std::int64_t now = state.deps.clock.now_ms();
                auto k =
                    is_uuid(id)
                        ? state.deps.identities.revoke_api_key(call.who->tenant_id, id, now)
                        : Result<store::ApiKey>(fail(Errc::not_found, "no API key with this id"));
                if (!k) {
                  return problem_from(k.error());
                }
                state.keys.forget(k->hash);  // refused from the next request on
                return json_response(key_json(*k, now));
              },
              {"Revoke an API key: refused at once", "", "Key"}});
  router.add({"POST",
              "/api/v1/keys/{id}/rotate",
              needs(auth::Role::admin),
              "keys.rotate",
              [&state](Call& call) { return rotate_key(state, call); },
              {"A new key with the same name and role; the old one stays valid for overlap_s",
               "KeyRotation", "CreatedKey", 201}});
}

}  // namespace hecs::control::api
