#include <algorithm>

#include <fmt/format.h>

#include "common/log.h"
#include "control/ca/ca.h"

namespace hecs::control::ca {
namespace {

constexpr std::int64_t kMinTokenLife = 60;
constexpr std::int64_t kMaxTokenLife = std::int64_t{365} * 86400;
constexpr std::uint64_t kMaxTokenUses = 100000;
constexpr std::size_t kMaxTags = 32;
constexpr std::size_t kMaxTagLength = 64;
constexpr std::size_t kMaxDescription = 200;
constexpr std::size_t kTokenSecretBytes = 24;  // 192 bits, 32 characters of base64url

bool tag_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '=' || c == '/' || c == '-';
}

}  // namespace

Result<void> check_token_spec(const TokenSpec& spec) {
  if (spec.expires_in_s < kMinTokenLife || spec.expires_in_s > kMaxTokenLife) {
    return fail(Errc::invalid_input,
                fmt::format("expires_in_s must be {}..{}", kMinTokenLife, kMaxTokenLife));
  }
  if (spec.max_uses < 1 || spec.max_uses > kMaxTokenUses) {
    return fail(Errc::invalid_input, fmt::format("max_uses must be 1..{}", kMaxTokenUses));
  }
  if (spec.tags.size() > kMaxTags) {
    return fail(Errc::invalid_input, fmt::format("at most {} tags", kMaxTags));
  }
  for (const auto& tag : spec.tags) {
    if (tag.empty() || tag.size() > kMaxTagLength ||
        !std::all_of(tag.begin(), tag.end(), tag_char)) {
      return fail(
          Errc::invalid_input,
          fmt::format("tags: each is 1..{} characters of A-Z a-z 0-9 _ . : = / -", kMaxTagLength));
    }
  }
  if (spec.description.size() > kMaxDescription) {
    return fail(Errc::invalid_input,
                fmt::format("description is limited to {} characters", kMaxDescription));
  }
  return {};
}

Enrolment::Enrolment(Pki& pki, store::EnrollmentStore& store, const Clock& clock,
                     EnrolmentOptions options,
                     std::function<void(const std::string& device_id)> on_revoked,
                     std::function<void()> on_keys_changed)
    : pki_(pki),
      store_(store),
      clock_(clock),
      options_(std::move(options)),
      on_revoked_(std::move(on_revoked)),
      on_keys_changed_(std::move(on_keys_changed)) {}

Result<SigningKey> Enrolment::rotate_signing_key() {
  auto added = pki_.add_next_key();
  if (added) {
    log::get("control.ca")->info("keys.next_added kid={}", added->kid);
    if (on_keys_changed_) {
      on_keys_changed_();
    }
  }
  return added;
}

Result<void> Enrolment::activate_signing_key() {
  auto done = pki_.activate_next_key();
  if (done) {
    log::get("control.ca")->info("keys.next_activated");
    if (on_keys_changed_) {
      on_keys_changed_();
    }
  }
  return done;
}

Result<NewToken> Enrolment::create_token(const std::string& tenant_id, const TokenSpec& spec) {
  if (auto ok = check_token_spec(spec); !ok) {
    return tl::unexpected(ok.error());
  }
  NewToken out;
  out.token =
      std::string(kTokenPrefix) + crypto::base64url_encode(crypto::random_bytes(kTokenSecretBytes));
  auto& r = out.record;
  r.id = random_uuid();
  r.tenant_id = tenant_id.empty() ? options_.tenant_id : tenant_id;
  r.prefix = out.token.substr(0, kTokenPrefix.size() + 6);
  r.hash = crypto::sha256_hex(out.token);
  r.description = spec.description;
  r.tags = spec.tags;
  r.auto_approve = spec.auto_approve;
  r.max_uses = spec.max_uses;
  r.created_at = clock_.now_ms();
  r.expires_at = r.created_at + spec.expires_in_s * 1000;
  if (auto w = store_.create_token(r); !w) {
    return tl::unexpected(w.error());
  }
  return out;
}

Result<std::string> Enrolment::issue_certificate(const std::string& device_id,
                                                 const std::string& public_pem,
                                                 const std::string& public_sha256) {
  const std::int64_t now = clock_.now_ms() / 1000;
  crypto::CertRequest request;
  request.common_name = device_id;
  request.usage = crypto::CertUsage::client;
  request.not_before = now - 300;  // a device clock a little behind still accepts it
  request.not_after = std::min(now + options_.device_cert_lifetime_s, pki_.ca().info().not_after);
  auto pem = pki_.ca().issue(public_pem, request);
  if (!pem) {
    return fail(std::move(pem.error()), "issue device certificate");
  }
  auto info = crypto::parse_certificate(*pem);
  if (!info) {
    return fail(Errc::internal, "issued certificate does not parse");
  }
  if (auto w = store_.record_certificate(device_id, info->serial, *pem, now, info->not_after,
                                         public_sha256, public_pem);
      !w) {
    return tl::unexpected(w.error());
  }
  log::get("control.ca")
      ->info("enrol.certificate_issued device={} serial={} not_after={}", device_id, info->serial,
             info->not_after);
  return pem;
}

Result<EnrolReply> Enrolment::enrol(std::string_view token, std::string_view csr_pem) {
  auto csr = crypto::parse_csr(csr_pem);
  if (!csr) {
    return fail(std::move(csr.error()), "csr");
  }
  // The CN becomes the MQTT username and the ACL's %u (S19, Mosquitto CVE-2017-7650): only a
  // canonical UUID can never be a wildcard, a path or another client's name.
  if (!is_uuid(csr->common_name)) {
    return fail(Errc::invalid_input, "csr: the common name must be a lower-case canonical UUID");
  }
  if (token.size() > 200 || !token.starts_with(kTokenPrefix)) {
    return fail(Errc::unauthorized, "unknown enrollment token");
  }
  store::EnrolRequest request;
  request.token_hash = crypto::sha256_hex(token);
  request.device_id = csr->common_name;
  request.public_key_sha256 = csr->public_key_sha256;
  request.public_key_pem = csr->public_pem;
  request.now = clock_.now_ms();
  auto enrolled = store_.enrol(request);
  if (!enrolled) {
    return tl::unexpected(enrolled.error());
  }
  auto& credential = enrolled->credential;
  if (!enrolled->created && credential.device_id != csr->common_name) {
    return fail(Errc::conflict, "this key is enrolled under another device id");
  }
  if (credential.state == store::DeviceState::rejected ||
      credential.state == store::DeviceState::revoked) {
    return fail(Errc::unauthorized, fmt::format("device {} is {}", credential.device_id,
                                                store::state_name(credential.state)));
  }
  if (enrolled->created) {
    log::get("control.ca")
        ->info("enrol.new device={} state={} token={}", credential.device_id,
               store::state_name(credential.state), credential.token_id);
  }
  EnrolReply reply;
  reply.ca = pki_.ca_pem();
  reply.mqtt_url = options_.mqtt_url;
  reply.command_keys = pki_.verify_keys();
  if (credential.state == store::DeviceState::accepted) {
    const std::int64_t now = clock_.now_ms() / 1000;
    const bool usable = !credential.cert_pem.empty() &&
                        credential.cert_not_after - now > options_.device_cert_lifetime_s / 3;
    if (usable) {
      reply.certificate = credential.cert_pem;
    } else {
      auto pem = issue_certificate(credential.device_id, credential.public_key_pem,
                                   credential.public_key_sha256);
      if (!pem) {
        return tl::unexpected(pem.error());
      }
      reply.certificate = std::move(*pem);
    }
  }
  reply.credential = std::move(credential);
  return reply;
}

Result<store::Credential> Enrolment::decide(const std::string& tenant_id,
                                            const std::string& device_id, store::DeviceState to) {
  auto decided = store_.decide(tenant_id, device_id, to, clock_.now_ms());
  if (!decided) {
    return decided;
  }
  log::get("control.ca")
      ->info("enrol.decided device={} state={}", device_id, store::state_name(to));
  if (to == store::DeviceState::accepted) {
    // Issued now, so the device's next poll finds it ready.
    if (auto pem =
            issue_certificate(device_id, decided->public_key_pem, decided->public_key_sha256);
        !pem) {
      return tl::unexpected(pem.error());
    }
  }
  if (to == store::DeviceState::revoked && on_revoked_) {
    on_revoked_(device_id);
  }
  return decided;
}

Result<std::string> Enrolment::renew(const std::string& device_id, std::string_view csr_pem) {
  auto csr = crypto::parse_csr(csr_pem);
  if (!csr) {
    return fail(std::move(csr.error()), "renew: csr");
  }
  if (csr->common_name != device_id) {
    return fail(Errc::unauthorized, "renew: the csr names another device");
  }
  auto credential = store_.find(device_id);
  if (!credential) {
    return tl::unexpected(credential.error());
  }
  if (credential->state != store::DeviceState::accepted) {
    return fail(Errc::unauthorized,
                fmt::format("renew: device is {}", store::state_name(credential->state)));
  }
  return issue_certificate(device_id, csr->public_pem, csr->public_key_sha256);
}

}  // namespace hecs::control::ca
