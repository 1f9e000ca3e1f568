// Routes of enrolment and keys: POST /api/v1/enroll and GET /api/v1/enroll/ca (no API key: a
// device has none yet), enrollment tokens, accept/reject/revoke, command-signing keys.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "control/api/api.h"
#include "control/api/routes.h"

namespace hecs::control::api {
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxEnrolBody = 16 * 1024;

json::array tags_json(const std::vector<std::string>& tags) {
  json::array a;
  for (const auto& t : tags) {
    a.emplace_back(t);
  }
  return a;
}

json::object token_json(const store::EnrollmentToken& t) {
  return json::object{
      {"id", t.id},
      {"prefix", t.prefix},
      {"description", t.description},
      {"tags", tags_json(t.tags)},
      {"auto_approve", t.auto_approve},
      {"max_uses", t.max_uses},
      {"uses", t.uses},
      {"created_at", format_rfc3339_ms(t.created_at)},
      {"expires_at", format_rfc3339_ms(t.expires_at)},
      {"revoked_at", t.revoked_at ? json::value(format_rfc3339_ms(*t.revoked_at)) : nullptr}};
}

json::array keys_json(const std::vector<proto::VerifyKey>& keys) {
  json::array a;
  for (const auto& k : keys) {
    a.push_back(
        json::object{{"kid", k.kid}, {"public_key", crypto::base64url_encode(k.public_key)}});
  }
  return a;
}

Result<ca::TokenSpec> token_spec(const std::string& body) {
  auto parsed = parse_body_object(body);
  if (!parsed) {
    return tl::unexpected(parsed.error());
  }
  ca::TokenSpec spec;
  for (const auto& [key, value] : *parsed) {
    if (key == "expires_in_s" && value.is_int64()) {
      spec.expires_in_s = value.as_int64();
    } else if (key == "max_uses" && value.is_int64() && value.as_int64() > 0) {
      spec.max_uses = static_cast<std::uint64_t>(value.as_int64());
    } else if (key == "auto_approve" && value.is_bool()) {
      spec.auto_approve = value.as_bool();
    } else if (key == "description" && value.is_string()) {
      spec.description = std::string(value.as_string());
    } else if (key == "tags" && value.is_array()) {
      for (const auto& t : value.as_array()) {
        if (!t.is_string()) {
          return fail(Errc::invalid_input, "tags: expected an array of strings");
        }
        spec.tags.emplace_back(t.as_string());
      }
    } else if (key == "max_uses" || key == "expires_in_s") {
      return fail(Errc::invalid_input, fmt::format("{}: expected a positive integer", key));
    } else if (key == "auto_approve" || key == "description" || key == "tags") {
      return fail(Errc::invalid_input, fmt::format("{}: wrong type", key));
    } else {
      return fail(Errc::invalid_input, fmt::format("unknown field '{}'", key));
    }
  }
  if (auto ok = ca::check_token_spec(spec); !ok) {
    return tl::unexpected(ok.error());
  }
  return spec;
}

net::Response enrol(Call& call, ca::Enrolment& enrolment) {
  const net::Request& req = call.req;
  if (req.body.size() > kMaxEnrolBody) {
    return net::problem(413, "invalid_input", "payload too large",
                        fmt::format("an enrolment request is limited to {} bytes", kMaxEnrolBody));
  }
  auto body = parse_body_object(req.body);
  if (!body) {
    return problem_from(body.error());
  }
  const auto* token = body->if_contains("token");
  const auto* csr = body->if_contains("csr");
  if (token == nullptr || !token->is_string() || csr == nullptr || !csr->is_string() ||
      body->size() != 2) {
    return problem_from(
        Error{Errc::invalid_input, "body: expected exactly {\"token\": string, \"csr\": string}"});
  }
  auto reply = enrolment.enrol(std::string(token->as_string()), std::string(csr->as_string()));
  if (!reply) {
    return problem_from(reply.error());
  }
  // A security event of the device's tenant; a refused attempt has no tenant to file it in.
  call.audit_tenant = reply->credential.tenant_id;
  call.audit_actor = "device:" + reply->credential.device_id;
  call.audit_target = reply->credential.device_id;
  call.audit_detail = json::object{{"state", store::state_name(reply->credential.state)},
                                   {"token", reply->credential.token_id}};
  json::object o{{"device_id", reply->credential.device_id},
                 {"state", store::state_name(reply->credential.state)},
                 {"tags", tags_json(reply->credential.tags)}};
  if (reply->certificate.empty()) {
    o["retry_after_s"] = 30;
    auto r = json_response(o, 202);
    r.headers.emplace_back("Retry-After", "30");
    return r;
  }
  o["certificate"] = reply->certificate;
  o["ca"] = reply->ca;
  o["mqtt_url"] = reply->mqtt_url;
  o["command_keys"] = keys_json(reply->command_keys);
  return json_response(o, 201);
}

net::Response signing_keys(ca::Enrolment& enrolment, int status) {
  json::array items;
  for (const auto& k : enrolment.pki().signing_keys()) {
    items.push_back(json::object{{"kid", k.kid},
                                 {"public_key", crypto::base64url_encode(k.public_key)},
                                 {"state", ca::key_state_name(k.state)},
                                 {"created_at", format_rfc3339_ms(k.created_at * 1000)}});
  }
  return json_response(json::object{{"items", std::move(items)}}, status);
}

net::Response decide(State& state, Call& call, store::DeviceState to) {
  const std::string& id = call.param("id");
  if (!is_uuid(id)) {
    return net::problem(404, "not_found", "not found", "no device with this id");
  }
  auto decided = state.deps.enrolment.decide(call.who->tenant_id, id, to);
  if (!decided) {
    return problem_from(decided.error());
  }
  if (state.deps.device_events != nullptr) {
    state.deps.device_events->notify({call.who->tenant_id});
  }
  return json_response(json::object{{"device_id", decided->device_id},
                                    {"state", store::state_name(decided->state)}});
}

}  // namespace

void add_enrol_routes(Router& router, State& state) {
  auto& enrolment = state.deps.enrolment;
  // Unauthenticated (S25: only these methods and paths): a device has no credential yet.
  router.add({"POST",
              "/api/v1/enroll",
              open_access(),
              "enrol.enrol",
              [&state, &enrolment](Call& call) {
                auto r = enrol(call, enrolment);
                if ((r.status == 201 || r.status == 202) && state.deps.device_events != nullptr) {
                  state.deps.device_events->notify({call.audit_tenant});  // a new device
                }
                return r;
              },
              {"A device asks for its certificate with an enrolment token and a CSR",
               "EnrolRequest", "EnrolReply", 201}});
  router.add({"GET",
              "/api/v1/enroll/ca",
              open_access(),
              "enrol.ca",
              [&enrolment](Call&) {
                net::Response r;
                r.content_type = "application/x-pem-file";
                r.body = enrolment.pki().ca_pem();
                return r;
              },
              {"The device CA's certificate (PEM)", "", ""}});

  router.add({"GET",
              "/api/v1/enrollment-tokens",
              needs(auth::Role::admin),
              "tokens.list",
              [&state](Call& call) {
                auto tokens = state.deps.enrollments.list_tokens(call.who->tenant_id);
                if (!tokens) {
                  return problem_from(tokens.error());
                }
                json::array items;
                for (const auto& t : *tokens) {
                  items.push_back(token_json(t));
                }
                return json_response(json::object{{"items", std::move(items)}});
              },
              {"List enrolment tokens (prefixes only)", "", "TokenList"}});
  router.add(
      {"POST",
       "/api/v1/enrollment-tokens",
       needs(auth::Role::admin),
       "tokens.create",
       [&state](Call& call) {
         auto spec = token_spec(call.req.body);
         if (!spec) {
           return problem_from(spec.error());
         }
         auto made = state.deps.enrolment.create_token(call.who->tenant_id, *spec);
         if (!made) {
           return problem_from(made.error());
         }
         call.audit_target = made->record.id;
         auto o = token_json(made->record);
         o["token"] = made->token;  // the only time it is shown
         o["ca_sha256"] = state.deps.enrolment.pki().ca_fingerprint();
         return json_response(o, 201);
       },
       {"Create an enrolment token; the token is shown once", "TokenSpec", "NewToken", 201}});
  router.add({"DELETE",
              "/api/v1/enrollment-tokens/{id}",
              needs(auth::Role::admin),
              "tokens.revoke",
              [&state](Call& call) {
                const std::string& id = call.param("id");
                if (!is_uuid(id)) {
                  return net::problem(404, "not_found", "not found",
                                      "no enrollment token with this id");
                }
                auto revoked = state.deps.enrollments.revoke_token(call.who->tenant_id, id,
                                                                   state.deps.clock.now_ms());
                if (!revoked) {
                  return problem_from(revoked.error());
                }
                return json_response(token_json(*revoked));
              },
              {"Revoke an enrolment token", "", "Token"}});

  router.add({"POST",
              "/api/v1/devices/{id}/accept",
              needs(auth::Role::admin),
              "devices.accept",
              [&state](Call& call) { return decide(state, call, store::DeviceState::accepted); },
              {"Accept a pending device: its certificate is issued", "", "Decision"}});
  router.add({"POST",
              "/api/v1/devices/{id}/reject",
              needs(auth::Role::admin),
              "devices.reject",
              [&state](Call& call) { return decide(state, call, store::DeviceState::rejected); },
              {"Reject a pending device", "", "Decision"}});
  router.add({"POST",
              "/api/v1/devices/{id}/revoke",
              needs(auth::Role::admin),
              "devices.revoke",
              [&state](Call& call) { return decide(state, call, store::DeviceState::revoked); },
              {"Revoke a device: CRL, broker ACL, ignored from now on", "", "Decision"}});

  // One signing key for the whole control plane: its rotation is the platform's business.
  router.add({"GET",
              "/api/v1/signing-keys",
              needs(auth::Role::viewer),
              "signing_keys.list",
              [&enrolment](Call&) { return signing_keys(enrolment, 200); },
              {"The command-signing keys: next, active, retired", "", "SigningKeyList"}});
  router.add({"POST",
              "/api/v1/signing-keys",
              platform_only(),
              "signing_keys.rotate",
              [&enrolment](Call&) {
                if (auto added = enrolment.rotate_signing_key(); !added) {
                  return problem_from(added.error());
                }
                return signing_keys(enrolment, 201);
              },
              {"Publish a next command-signing key", "", "SigningKeyList", 201}});
  router.add({"POST",
              "/api/v1/signing-keys/activate",
              platform_only(),
              "signing_keys.activate",
              [&enrolment](Call&) {
                if (auto done = enrolment.activate_signing_key(); !done) {
                  return problem_from(done.error());
                }
                return signing_keys(enrolment, 200);
              },
              {"Sign with the next key from now on", "", "SigningKeyList"}});
}

}  // namespace hecs::control::api
