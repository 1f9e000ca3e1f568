// Users of a tenant (admin), and tenants themselves (the platform's superadmin).
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "control/api/routes.h"

namespace hecs::control::api {
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxUsername = 128;

json::object user_json(const store::User& u) {
  return json::object{{"id", u.id},
                      {"tenant_id", u.tenant_id},
                      {"username", u.username},
                      {"role", u.role},
                      {"created_at", format_time(u.created_at)},
                      {"password_changed_at", format_time(u.password_changed_at)},
                      {"disabled_at", optional_time(u.disabled_at)}};
}

json::object tenant_json(const store::Tenant& t) {
  return json::object{{"id", t.id},
                      {"name", t.name},
                      {"created_at", format_time(t.created_at)},
                      {"disabled_at", optional_time(t.disabled_at)}};
}

net::Response forbidden(std::string_view why) {
  return net::problem(403, "forbidden", "forbidden", why);
}

// A role the caller may hand out: at most its own, and superadmin only by a superadmin.
Result<auth::Role> grantable_role(const Body& body, const auth::Principal& who, bool required) {
  auto text = body.text("role", 32);
  if (!text) {
    return tl::unexpected(text.error());
  }
  if (!*text) {
    if (required) {
      return fail(Errc::invalid_input, "role: required");
    }
    return who.role;
  }
  auto role = auth::parse_role(**text);
  if (!role) {
    return fail(Errc::invalid_input, "role: one of viewer, operator, admin, owner, superadmin");
  }
  if (*role > who.role) {
    return fail(Errc::forbidden, fmt::format("you cannot grant a role above your own ({})",
                                             auth::role_name(who.role)));
  }
  return *role;
}

Result<std::string> new_username(const Body& body) {
  auto name = body.text("username", kMaxUsername);
  if (!name) {
    return tl::unexpected(name.error());
  }
  if (!*name) {
    return fail(Errc::invalid_input, "username: required");
  }
  if (auto ok = check_name("username", **name, kMaxUsername); !ok) {
    return tl::unexpected(ok.error());
  }
  return **name;
}

Result<std::string> new_password_hash(const Body& body, std::string_view field) {
  auto password = body.text(field, auth::kMaxPasswordBytes);
  if (!password) {
    return tl::unexpected(password.error());
  }
  if (!*password) {
    return fail(Errc::invalid_input, fmt::format("{}: required", field));
  }
  if (auto ok = auth::check_password_policy(**password); !ok) {
    return tl::unexpected(ok.error());
  }
  return auth::hash_password(**password);
}

net::Response create_user(State& state, Call& call) {
  auto body = Body::parse(call.req.body, {"username", "password", "role"});
  if (!body) {
    return problem_from(body.error());
  }
  auto username = new_username(*body);
  auto role = grantable_role(*body, *call.who, true);
  if (!username || !role) {
    return problem_from(!username ? username.error() : role.error());
  }
  auto hash = new_password_hash(*body, "password");
  if (!hash) {
    return problem_from(hash.error());
  }
  const std::int64_t now = state.deps.clock.now_ms();
  store::User u{random_uuid(),
                call.who->tenant_id,
                *username,
                *hash,
                std::string(auth::role_name(*role)),
                now,
                now,
                std::nullopt};
  if (auto made = state.deps.identities.create_user(u); !made) {
    return problem_from(made.error());
  }
  call.audit_target = u.id;
  call.audit_detail = json::object{{"username", u.username}, {"role", u.role}};
  return json_response(user_json(u), 201);
}

net::Response update_user(State& state, Call& call) {
  auto& ids = state.deps.identities;
  const auth::Principal& who = *call.who;
  auto body = Body::parse(call.req.body, {"role", "disabled", "password"});
  if (!body) {
    return problem_from(body.error());
  }
  const std::string& id = call.param("id");
  auto user = is_uuid(id) ? ids.get_user(who.tenant_id, id)
                          : Result<store::User>(fail(Errc::not_found, "no user with this id"));
  if (!user) {
    return problem_from(user.error());
  }
  auto current = auth::parse_role(user->role).value_or(auth::Role::superadmin);
  if (current > who.role) {
    return forbidden("you cannot change a user whose role is above your own");
  }
  if (user->id == who.user_id && (body->has("role") || body->has("disabled"))) {
    return problem_from(
        Error{Errc::conflict, "you cannot change your own role or disable yourself"});
  }
  auto disabled = body->boolean("disabled");
  if (!disabled) {
    return problem_from(disabled.error());
  }
  std::optional<auth::Role> role;
  if (body->has("role")) {
    auto r = grantable_role(*body, who, true);
    if (!r) {
      return problem_from(r.error());
    }
    role = *r;
  }
  std::optional<std::string> hash;
  if (body->has("password")) {
    auto h = new_password_hash(*body, "password");
    if (!h) {
      return problem_from(h.error());
    }
    hash = *h;
  }
  // The last owner stays an owner and stays enabled: a tenant without one is unmanageable.
  const bool owner_now = current >= auth::Role::owner && !user->disabled_at;
  const bool owner_after = (role ? *role : current) >= auth::Role::owner &&
                           !(disabled ? disabled->value_or(user->disabled_at.has_value())
                                      : user->disabled_at.has_value());
  if (owner_now && !owner_after) {
    auto owners = ids.count_active_owners(who.tenant_id);
    if (!owners) {
      return problem_from(owners.error());
    }
    if (*owners <= 1) {
      return problem_from(Error{Errc::conflict, "this is the tenant's last owner"});
    }
  }
  const std::int64_t now = state.deps.clock.now_ms();
  json::object detail;
  if (role && auth::role_name(*role) != user->role) {
    detail["role_from"] = user->role;
    detail["role_to"] = auth::role_name(*role);
    call.audit_action = "users.role_change";
    auto set = ids.set_role(who.tenant_id, id, std::string(auth::role_name(*role)));
    if (!set) {
      return problem_from(set.error());
    }
  }
  if (*disabled) {
    auto set = ids.set_user_disabled(who.tenant_id, id,
                                     **disabled ? std::optional<std::int64_t>(now) : std::nullopt);
    if (!set) {
      return problem_from(set.error());
    }
    detail["disabled"] = **disabled;
  }
  if (hash) {
    if (auto set = ids.set_password(who.tenant_id, id, *hash, now); !set) {
      return problem_from(set.error());
    }
    detail["password_reset"] = true;
  }
  if ((*disabled && **disabled) || hash) {
    (void)ids.revoke_user_sessions(who.tenant_id, id, now);
  }
  state.sessions.clear();  // role and state changes reach cached sessions at once
  call.audit_detail = std::move(detail);
  auto after = ids.get_user(who.tenant_id, id);
  if (!after) {
    return problem_from(after.error());
  }
  return json_response(user_json(*after));
}

net::Response create_tenant(State& state, Call& call) {
  auto body = Body::parse(call.req.body, {"name", "owner"});
  if (!body) {
    return problem_from(body.error());
  }
  auto name = body->text("name", 64);
  if (!name) {
    return problem_from(name.error());
  }
  if (!*name) {
    return problem_from(Error{Errc::invalid_input, "name: required"});
  }
  if (auto ok = check_name("name", **name); !ok) {
    return problem_from(ok.error());
  }
  auto owner = body->object("owner", {"username", "password"});
  if (!owner) {
    return problem_from(owner.error());
  }
  const std::int64_t now = state.deps.clock.now_ms();
  store::Tenant t{random_uuid(), **name, now, std::nullopt};
  std::optional<store::User> first;
  if (*owner) {
    auto inner = Body::parse(json::serialize(**owner), {"username", "password"});
    auto username =
        inner ? new_username(*inner) : Result<std::string>(tl::unexpected(inner.error()));
    if (!username) {
      return problem_from(Error{username.error().code, "owner." + username.error().message});
    }
    auto hash = new_password_hash(*inner, "password");
    if (!hash) {
      return problem_from(Error{hash.error().code, "owner." + hash.error().message});
    }
    first = store::User{random_uuid(), t.id, *username, *hash, "owner", now, now, std::nullopt};
  }
  if (auto made = state.deps.identities.create_tenant(t, std::nullopt, first); !made) {
    if (made.error().code == Errc::conflict) {
      return problem_from(Error{Errc::conflict, "this tenant name or owner username is taken"});
    }
    return problem_from(made.error());
  }
  call.audit_tenant = t.id;  // the tenant's own log starts with its creation
  call.audit_target = t.id;
  call.audit_detail = json::object{{"name", t.name}, {"by_tenant", call.who->tenant_id}};
  auto o = tenant_json(t);
  if (first) {
    o["owner"] = user_json(*first);
  }
  return json_response(o, 201);
}

net::Response update_tenant(State& state, Call& call) {
  auto& ids = state.deps.identities;
  auto body = Body::parse(call.req.body, {"name", "disabled"});
  if (!body) {
    return problem_from(body.error());
  }
  const std::string& id = call.param("id");
  auto tenant = is_uuid(id)
                    ? ids.get_tenant(id)
                    : Result<store::Tenant>(fail(Errc::not_found, "no tenant with this id"));
  if (!tenant) {
    return problem_from(tenant.error());
  }
  auto name = body->text("name", 64);
  auto disabled = body->boolean("disabled");
  if (!name || !disabled) {
    return problem_from(!name ? name.error() : disabled.error());
  }
  json::object detail;
  if (*name) {
    if (auto ok = check_name("name", **name); !ok) {
      return problem_from(ok.error());
    }
    auto renamed = ids.rename_tenant(id, **name);
    if (!renamed) {
      return problem_from(renamed.error().code == Errc::conflict
                              ? Error{Errc::conflict, "this tenant name is taken"}
                              : renamed.error());
    }
    detail["name_from"] = tenant->name;
    detail["name_to"] = **name;
  }
  if (*disabled) {
    if (**disabled && id == call.who->tenant_id) {
      return problem_from(Error{Errc::conflict, "you cannot disable your own tenant"});
    }
    auto set = ids.set_tenant_disabled(
        id, **disabled ? std::optional<std::int64_t>(state.deps.clock.now_ms()) : std::nullopt);
    if (!set) {
      return problem_from(set.error());
    }
    detail["disabled"] = **disabled;
    call.audit_action = **disabled ? "tenants.disable" : "tenants.enable";
    state.keys.clear();
    state.sessions.clear();
    if (state.deps.on_tenants_changed) {
      state.deps.on_tenants_changed();  // its devices: denied at the broker, ignored by ingest
    }
  }
  call.audit_tenant = id;
  call.audit_detail = std::move(detail);
  auto after = ids.get_tenant(id);
  if (!after) {
    return problem_from(after.error());
  }
  return json_response(tenant_json(*after));
}

}  // namespace

void add_user_routes(Router& router, State& state) {
  router.add({"GET",
              "/api/v1/users",
              needs(auth::Role::admin),
              "users.list",
              [&state](Call& call) {
                auto users = state.deps.identities.list_users(call.who->tenant_id);
                if (!users) {
                  return problem_from(users.error());
                }
                json::array items;
                for (const auto& u : *users) {
                  items.push_back(user_json(u));
                }
                return json_response(json::object{{"items", std::move(items)}});
              },
              {"The tenant's users", "", "UserList"}});
  router.add({"POST",
              "/api/v1/users",
              needs(auth::Role::admin),
              "users.create",
              [&state](Call& call) { return create_user(state, call); },
              {"Create a user with a role up to the caller's", "NewUser", "User", 201}});
  router.add({"GET",
              "/api/v1/users/{id}",
              needs(auth::Role::admin),
              "users.get",
              [&state](Call& call) {
                const std::string& id = call.param("id");
                auto user =
                    is_uuid(id)
                        ? state.deps.identities.get_user(call.who->tenant_id, id)
                        : Result<store::User>(fail(Errc::not_found, "no user with this id"));
                if (!user) {
                  return problem_from(user.error());
                }
                return json_response(user_json(*user));
              },
              {"One user", "", "User"}});
  router.add({"PATCH",
              "/api/v1/users/{id}",
              needs(auth::Role::admin),
              "users.update",
              [&state](Call& call) { return update_user(state, call); },
              {"Change a user's role, disable or enable them, or reset their password",
               "UserUpdate", "User"}});
}

void add_tenant_routes(Router& router, State& state) {
  router.add({"GET",
              "/api/v1/tenants",
              platform_only(),
              "tenants.list",
              [&state](Call&) {
                auto tenants = state.deps.identities.list_tenants();
                if (!tenants) {
                  return problem_from(tenants.error());
                }
                json::array items;
                for (const auto& t : *tenants) {
                  items.push_back(tenant_json(t));
                }
                return json_response(json::object{{"items", std::move(items)}});
              },
              {"Every tenant (superadmin)", "", "TenantList"}});
  router.add({"POST",
              "/api/v1/tenants",
              platform_only(),
              "tenants.create",
              [&state](Call& call) { return create_tenant(state, call); },
              {"Create a tenant, optionally with its first owner (superadmin)", "NewTenant",
               "Tenant", 201}});
  router.add({"GET",
              "/api/v1/tenants/{id}",
              platform_only(),
              "tenants.get",
              [&state](Call& call) {
                const std::string& id = call.param("id");
                auto t =
                    is_uuid(id)
                        ? state.deps.identities.get_tenant(id)
                        : Result<store::Tenant>(fail(Errc::not_found, "no tenant with this id"));
                if (!t) {
                  return problem_from(t.error());
                }
                return json_response(tenant_json(*t));
              },
              {"One tenant (superadmin)", "", "Tenant"}});
  router.add({"PATCH",
              "/api/v1/tenants/{id}",
              platform_only(),
              "tenants.update",
              [&state](Call& call) { return update_tenant(state, call); },
              {"Rename, disable or enable a tenant (superadmin)", "TenantUpdate", "Tenant"}});
}

}  // namespace hecs::control::api
