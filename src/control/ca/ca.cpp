#include "control/ca/ca.h"

#include <cstdlib>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <sys/stat.h>

#include "common/files.h"
#include "common/log.h"

namespace hecs::control::ca {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kCaKeyLabel = "hecs-ca-key";
constexpr std::size_t kMaxSigningKeys = 8;

std::string signing_label(const std::string& kid) { return "hecs-signing-key:" + kid; }

// The kid names the key by its public half, so two keys never share one.
std::string make_kid(const std::string& public_key) {
  return "k" + crypto::base64url_encode(crypto::sha256(public_key)).substr(0, 15);
}

std::int64_t now_s(const Clock& clock) { return clock.now_ms() / 1000; }

Result<std::string> read_required(const fs::path& path) {
  auto text = files::read_small(path);
  if (!text) {
    return fail(std::move(text.error()), "pki");
  }
  return text;
}

}  // namespace

std::string_view key_state_name(KeyState state) {
  switch (state) {
    case KeyState::next:
      return "next";
    case KeyState::active:
      return "active";
    case KeyState::retired:
      return "retired";
  }
  return "retired";
}

Pki::Pki(Options options, const Clock& clock, crypto::CertificateAuthority ca)
    : options_(std::move(options)), clock_(clock), ca_(std::move(ca)) {}

Result<std::unique_ptr<Pki>> Pki::open(const Options& options, const Clock& clock) {
  auto log = log::get("control.ca");
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) {
    return fail(Errc::unavailable,
                fmt::format("pki: cannot create {}: {}", options.dir.string(), ec.message()));
  }
  ::chmod(options.dir.c_str(), 0700);
  const auto cert_path = options.dir / "ca.pem";
  const auto key_path = options.dir / "ca-key.sealed";

  std::optional<crypto::CertificateAuthority> ca;
  if (fs::exists(key_path, ec)) {
    auto cert = read_required(cert_path);
    auto sealed = read_required(key_path);
    if (!cert || !sealed) {
      return tl::unexpected(!cert ? cert.error() : sealed.error());
    }
    auto key = crypto::unseal(options.master_key, *sealed, kCaKeyLabel);
    if (!key) {
      return fail(std::move(key.error()), fmt::format("pki: open {}", key_path.string()));
    }
    auto loaded = crypto::CertificateAuthority::load(*cert, *key);
    if (!loaded) {
      return fail(Errc::corrupt,
                  fmt::format("pki: {}: {}", cert_path.string(), loaded.error().message));
    }
    ca = std::move(*loaded);
  } else if (!options.import_cert_file.empty() || !options.import_key_file.empty()) {
    auto cert = read_required(options.import_cert_file);
    auto key = read_required(options.import_key_file);
    if (!cert || !key) {
      return fail(!cert ? cert.error() : key.error(), "import ca");
    }
    auto loaded = crypto::CertificateAuthority::load(*cert, *key);
    if (!loaded) {
      return fail(std::move(loaded.error()), "import ca");
    }
    ca = std::move(*loaded);
    log->info("pki.ca_imported cert={}", log::quoted(options.import_cert_file));
  } else {
    const auto now = now_s(clock);
    auto created = crypto::CertificateAuthority::create(options.ca_name, now - 3600,
                                                        now + options.ca_lifetime_s);
    if (!created) {
      return fail(std::move(created.error()), "create ca");
    }
    ca = std::move(*created);
    log->info("pki.ca_created name={}", log::quoted(options.ca_name));
  }
  if (!fs::exists(key_path, ec)) {
    // The certificate first: a CA key without its certificate would be useless but a
    // certificate without its key makes the next start fail loudly instead of making a new CA.
    if (auto w = files::write_atomic(cert_path, ca->cert_pem(), 0644); !w) {
      return tl::unexpected(w.error());
    }
    auto sealed = crypto::seal(options.master_key, ca->key_pem(), kCaKeyLabel);
    if (auto w = files::write_atomic(key_path, sealed, 0600); !w) {
      return tl::unexpected(w.error());
    }
  }
  std::unique_ptr<Pki> pki(new Pki(options, clock, std::move(*ca)));
  if (auto keys = pki->load_signing_keys(); !keys) {
    return tl::unexpected(keys.error());
  }
  return pki;
}

std::string Pki::ca_fingerprint() const { return ca_.info().sha256; }

Result<void> Pki::load_signing_keys() {
  std::scoped_lock lock(mutex_);
  const auto path = options_.dir / "signing-keys.json";
  auto text = files::read_small(path);
  if (!text && text.error().code == Errc::not_found) {
    auto key = create_signing_key_locked(KeyState::active);
    if (!key) {
      return tl::unexpected(key.error());
    }
    return {};
  }
  if (!text) {
    return tl::unexpected(text.error());
  }
  boost::system::error_code ec;
  auto doc = json::parse(*text, ec);
  const auto* list = !ec && doc.is_object() ? doc.as_object().if_contains("keys") : nullptr;
  if (list == nullptr || !list->is_array()) {
    return fail(Errc::corrupt, fmt::format("pki: {} is not a key list", path.string()));
  }
  for (const auto& item : list->as_array()) {
    const auto* o = item.if_object();
    if (o == nullptr || !o->contains("kid") || !o->at("kid").is_string()) {
      return fail(Errc::corrupt, fmt::format("pki: {}: bad entry", path.string()));
    }
    SigningKey key;
    key.kid = std::string(o->at("kid").as_string());
    auto sealed = read_required(options_.dir / fmt::format("signing-{}.sealed", key.kid));
    if (!sealed) {
      return tl::unexpected(sealed.error());
    }
    auto seed_bytes = crypto::unseal(options_.master_key, *sealed, signing_label(key.kid));
    if (!seed_bytes) {
      return fail(std::move(seed_bytes.error()), fmt::format("pki: signing key {}", key.kid));
    }
    auto seed = crypto::Ed25519Key::from_seed(*seed_bytes);
    if (!seed) {
      return fail(Errc::corrupt, fmt::format("pki: signing key {}: bad seed", key.kid));
    }
    const std::string state = o->contains("state") && o->at("state").is_string()
                                  ? std::string(o->at("state").as_string())
                                  : "";
    key.state = state == "next"     ? KeyState::next
                : state == "active" ? KeyState::active
                                    : KeyState::retired;
    auto int_of = [o](const char* name) -> std::int64_t {
      const auto* v = o->if_contains(name);
      return v != nullptr && v->is_int64() ? v->as_int64() : 0;
    };
    key.created_at = int_of("created_at");
    key.activated_at = int_of("activated_at");
    key.retired_at = int_of("retired_at");
    key.public_key = seed->public_key();
    keys_.push_back(std::move(key));
    seeds_.push_back(std::move(*seed));
  }
  int active = 0;
  for (const auto& k : keys_) {
    active += k.state == KeyState::active ? 1 : 0;
  }
  if (active != 1) {
    return fail(Errc::corrupt,
                fmt::format("pki: {} must name exactly one active key", path.string()));
  }
  return {};
}

Result<void> Pki::save_signing_keys_locked() {
  json::array list;
  for (const auto& k : keys_) {
    list.push_back(json::object{{"kid", k.kid},
                                {"public_key", crypto::base64url_encode(k.public_key)},
                                {"state", key_state_name(k.state)},
                                {"created_at", k.created_at},
                                {"activated_at", k.activated_at},
                                {"retired_at", k.retired_at}});
  }
  return files::write_atomic(options_.dir / "signing-keys.json",
                             json::serialize(json::object{{"keys", std::move(list)}}) + "\n", 0644);
}

Result<SigningKey> Pki::create_signing_key_locked(KeyState state) {
  if (keys_.size() >= kMaxSigningKeys) {
    return fail(Errc::conflict, "too many signing keys: drop retired ones first");
  }
  auto seed = crypto::Ed25519Key::generate();
  SigningKey key;
  key.public_key = seed.public_key();
  key.kid = make_kid(key.public_key);
  key.state = state;
  key.created_at = now_s(clock_);
  key.activated_at = state == KeyState::active ? key.created_at : 0;
  // The sealed seed first, then the list that names it: a crash in between leaves an unused
  // file, never a listed key without its seed.
  auto sealed = crypto::seal(options_.master_key, seed.seed(), signing_label(key.kid));
  if (auto w = files::write_atomic(options_.dir / fmt::format("signing-{}.sealed", key.kid), sealed,
                                   0600);
      !w) {
    return tl::unexpected(w.error());
  }
  keys_.push_back(key);
  seeds_.push_back(std::move(seed));
  if (auto w = save_signing_keys_locked(); !w) {
    keys_.pop_back();
    seeds_.pop_back();
    return tl::unexpected(w.error());
  }
  return key;
}

std::string Pki::sign(const proto::Command& command) const {
  std::scoped_lock lock(mutex_);
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i].state == KeyState::active) {
      return proto::sign_command(command, keys_[i].kid, seeds_[i]);
    }
  }
  HECS_CHECK(false, "a pki always has an active signing key");
  return {};
}

std::optional<std::string> Pki::sign_with_known(const proto::Command& command,
                                                const std::vector<std::string>& known) const {
  std::scoped_lock lock(mutex_);
  for (std::size_t i = keys_.size(); i-- > 0;) {
    if (keys_[i].state == KeyState::next) {
      continue;  // not used before it is active, even though devices may hold it
    }
    for (const auto& kid : known) {
      if (kid == keys_[i].kid) {
        return proto::sign_command(command, keys_[i].kid, seeds_[i]);
      }
    }
  }
  return std::nullopt;
}

std::vector<proto::VerifyKey> Pki::verify_keys() const {
  std::scoped_lock lock(mutex_);
  std::vector<proto::VerifyKey> out;
  for (const auto& k : keys_) {
    out.push_back({k.kid, k.public_key});
  }
  return out;
}

std::vector<SigningKey> Pki::signing_keys() const {
  std::scoped_lock lock(mutex_);
  return keys_;
}

Result<SigningKey> Pki::add_next_key() {
  std::scoped_lock lock(mutex_);
  for (const auto& k : keys_) {
    if (k.state == KeyState::next) {
      return fail(Errc::conflict, fmt::format("key {} is already waiting to be activated", k.kid));
    }
  }
  return create_signing_key_locked(KeyState::next);
}

Result<void> Pki::activate_next_key() {
  std::scoped_lock lock(mutex_);
  auto saved = keys_;
  bool found = false;
  const auto now = now_s(clock_);
  for (auto& k : keys_) {
    if (k.state == KeyState::next) {
      found = true;
    }
  }
  if (!found) {
    return fail(Errc::conflict, "no next key: add one and let devices receive it first");
  }
  for (auto& k : keys_) {
    if (k.state == KeyState::active) {
      k.state = KeyState::retired;
      k.retired_at = now;
    } else if (k.state == KeyState::next) {
      k.state = KeyState::active;
      k.activated_at = now;
    }
  }
  if (auto w = save_signing_keys_locked(); !w) {
    keys_ = std::move(saved);
    return w;
  }
  return {};
}

Result<std::size_t> Pki::drop_retired(std::int64_t before) {
  std::scoped_lock lock(mutex_);
  auto saved_keys = keys_;
  std::vector<SigningKey> keep;
  std::vector<crypto::Ed25519Key> keep_seeds;
  std::vector<std::string> dropped;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i].state == KeyState::retired && keys_[i].retired_at < before) {
      dropped.push_back(keys_[i].kid);
    } else {
      keep.push_back(keys_[i]);
      keep_seeds.push_back(seeds_[i]);
    }
  }
  if (dropped.empty()) {
    return std::size_t{0};
  }
  keys_ = std::move(keep);
  if (auto w = save_signing_keys_locked(); !w) {
    keys_ = std::move(saved_keys);
    return tl::unexpected(w.error());
  }
  seeds_ = std::move(keep_seeds);
  for (const auto& kid : dropped) {
    std::error_code ec;
    fs::remove(options_.dir / fmt::format("signing-{}.sealed", kid), ec);
  }
  return dropped.size();
}

Result<TlsFiles> Pki::ensure_service_cert(const ServiceCert& cert, std::int64_t lifetime_s) {
  TlsFiles files_out{options_.dir / (cert.name + ".pem"), options_.dir / (cert.name + ".key")};
  const auto now = now_s(clock_);
  // What the certificate must say, kept beside it: a changed host name issues a new one.
  std::string names = cert.request.common_name + "\n" +
                      (cert.request.usage == crypto::CertUsage::server ? "server" : "client");
  for (const auto& n : cert.request.dns_names) {
    names += "\ndns:" + n;
  }
  for (const auto& n : cert.request.ip_addresses) {
    names += "\nip:" + n;
  }
  names += "\n";
  const auto names_path = options_.dir / (cert.name + ".names");
  auto existing = files::read_small(files_out.cert);
  auto existing_key = files::read_small(files_out.key);
  auto existing_names = files::read_small(names_path);
  if (existing && existing_key && existing_names && *existing_names == names) {
    auto info = crypto::parse_certificate(*existing);
    const bool fresh = info && crypto::load_private_key(*existing_key).has_value() &&
                       info->not_after - now > lifetime_s / 3 &&
                       crypto::verify_certificate(*existing, ca_.cert_pem(), now).has_value();
    if (fresh) {
      return files_out;
    }
  }
  auto key = crypto::generate_p256_key();
  auto request = cert.request;
  request.not_before = now - 300;  // a peer whose clock is a little behind still accepts it
  request.not_after = std::min(now + lifetime_s, ca_.info().not_after);
  auto pem = ca_.issue(key.public_pem, request);
  if (!pem) {
    return fail(std::move(pem.error()), fmt::format("issue {} certificate", cert.name));
  }
  if (auto w = files::write_atomic(files_out.key, key.private_pem, 0600); !w) {
    return tl::unexpected(w.error());
  }
  if (auto w = files::write_atomic(files_out.cert, *pem, 0644); !w) {
    return tl::unexpected(w.error());
  }
  if (auto w = files::write_atomic(names_path, names, 0644); !w) {
    return tl::unexpected(w.error());
  }
  log::get("control.ca")
      ->info("pki.service_cert_issued name={} cn={}", cert.name,
             log::quoted(cert.request.common_name));
  return files_out;
}

}  // namespace hecs::control::ca
