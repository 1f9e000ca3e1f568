// The control plane's keys (DESIGN §3): the device CA, the command-signing keys, and the TLS
// certificates of its own services, all under DATA_DIR/pki.
//
//   ca.pem                 the CA certificate (public)
//   ca-key.sealed          the CA private key, AES-256-GCM under the master key
//   signing-keys.json      public half, state and times of each command-signing key
//   signing-<kid>.sealed   each signing key's seed, sealed
//   <name>.pem, <name>.key certificates this process serves with (api, broker, mqtt-client)
//
// Private keys of the CA and of command signing are never written in clear. The service keys
// are (0600): Mosquitto and OpenSSL need them as files, and a stolen one lets an attacker
// impersonate that service only until its certificate expires or is replaced.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/crypto/crypto.h"
#include "common/result.h"
#include "control/store/store.h"
#include "proto/proto.h"

namespace hecs::control::ca {

// The master key: the value of the environment variable `env_name` when set, else the file.
// With neither and no sealed key yet (first start), a new key file is made (0600) and
// `created` is set, so the caller can tell the operator to keep a copy elsewhere.
struct MasterKey {
  std::string key;  // 32 raw bytes
  bool created = false;
  std::string source;  // "environment HECS_MASTER_KEY" or the file path, for messages
};
inline constexpr const char* kMasterKeyEnv = "HECS_MASTER_KEY";
Result<MasterKey> load_master_key(const std::filesystem::path& file,
                                  const std::filesystem::path& pki_dir);

struct Options {
  std::filesystem::path dir;  // DATA_DIR/pki, made 0700
  std::string master_key;     // 32 raw bytes
  // First start only: import this CA instead of creating one (PEM files; the key is sealed
  // and never written in clear).
  std::string import_cert_file, import_key_file;
  std::string ca_name = "HECS device CA";
  std::int64_t ca_lifetime_s = std::int64_t{20} * 365 * 86400;
};

enum class KeyState { next, active, retired };

struct SigningKey {
  std::string kid;
  std::string public_key;  // 32 raw bytes
  KeyState state = KeyState::active;
  std::int64_t created_at = 0;  // unix seconds
  std::int64_t activated_at = 0;
  std::int64_t retired_at = 0;
};

struct TlsFiles {
  std::filesystem::path cert, key;
};

struct ServiceCert {
  std::string name;             // file stem: "api", "broker", "mqtt-client"
  crypto::CertRequest request;  // validity is set by ensure_service_cert()
};

class Pki {
 public:
  // Loads DATA_DIR/pki, or creates the CA and a first signing key on first start.
  // Errc::unauthorized when the master key does not open the sealed keys; Errc::corrupt when a
  // file is damaged; Errc::invalid_input for bad import files.
  static Result<std::unique_ptr<Pki>> open(const Options& options, const Clock& clock);

  const crypto::CertificateAuthority& ca() const { return ca_; }
  std::string ca_pem() const { return ca_.cert_pem(); }
  std::string ca_fingerprint() const;  // hex SHA-256 of the CA certificate (DER)
  std::filesystem::path ca_file() const { return options_.dir / "ca.pem"; }

  // Issues (or keeps, when more than a third of its life is left and it still names the same
  // hosts) a certificate for one of our services, written to DIR/<name>.pem and .key.
  Result<TlsFiles> ensure_service_cert(const ServiceCert& cert, std::int64_t lifetime_s);

  // ---- command signing ------------------------------------------------------------------
  // Signs with the active key.
  std::string sign(const proto::Command& command) const;
  // Signs with the newest key among `known_kids` (what a device says it holds), for the
  // "keys" command that brings it up to date; nullopt when it knows none we still have.
  std::optional<std::string> sign_with_known(const proto::Command& command,
                                             const std::vector<std::string>& known_kids) const;
  // The keys devices must hold: next, active and retired ones.
  std::vector<proto::VerifyKey> verify_keys() const;
  std::vector<SigningKey> signing_keys() const;
  // Rotation, step 1: a new key in state `next`, published to devices but not used yet.
  // Errc::conflict when a next key already exists.
  Result<SigningKey> add_next_key();
  // Step 2: the next key becomes active, the active one retired. Errc::conflict without a
  // next key.
  Result<void> activate_next_key();
  // Step 3: retired keys older than `before` (unix s) are forgotten; returns how many.
  Result<std::size_t> drop_retired(std::int64_t before);

 private:
  Pki(Options options, const Clock& clock, crypto::CertificateAuthority ca);
  Result<void> load_signing_keys();
  Result<void> save_signing_keys_locked();
  Result<SigningKey> create_signing_key_locked(KeyState state);

  Options options_;
  const Clock& clock_;
  crypto::CertificateAuthority ca_;
  mutable std::mutex mutex_;
  std::vector<SigningKey> keys_;           // oldest first
  std::vector<crypto::Ed25519Key> seeds_;  // same order as keys_
};

std::string_view key_state_name(KeyState state);

// ---- enrolment (DESIGN §3) ------------------------------------------------------------------

inline constexpr std::string_view kTokenPrefix = "hecs_et_";

struct TokenSpec {
  std::int64_t expires_in_s = 86400;  // 60 s .. 365 days
  std::uint64_t max_uses = 1;         // 1 .. 100000
  std::vector<std::string> tags;      // ≤ 32, each ≤ 64 of [A-Za-z0-9_.:=/-]
  bool auto_approve = false;
  std::string description;  // ≤ 200 characters
};
Result<void> check_token_spec(const TokenSpec& spec);  // Errc::invalid_input naming the field

struct NewToken {
  store::EnrollmentToken record;
  std::string token;  // the secret, returned once
};

struct EnrolmentOptions {
  std::string tenant_id;  // tenant of tokens made without one (the default tenant)
  std::string mqtt_url;   // what enrolled devices are told to connect to (mqtts://…)
  std::int64_t device_cert_lifetime_s = std::int64_t{90} * 86400;
};

struct EnrolReply {
  store::Credential credential;  // its state says whether a certificate came with it
  std::string certificate;       // PEM, set when accepted
  std::string ca;                // PEM of the device CA
  std::string mqtt_url;
  std::vector<proto::VerifyKey> command_keys;
};

// The enrolment use cases, above the store and the CA. Thread-safe; blocks on the database.
class Enrolment {
 public:
  // on_revoked runs after a revocation is committed (the caller updates broker and ingest);
  // on_keys_changed after a signing key was added or activated (the caller sends the new list
  // to the devices connected now: the others get it when they connect).
  Enrolment(Pki& pki, store::EnrollmentStore& store, const Clock& clock, EnrolmentOptions options,
            std::function<void(const std::string& device_id)> on_revoked,
            std::function<void()> on_keys_changed = {});

  Result<NewToken> create_token(const std::string& tenant_id, const TokenSpec& spec);
  // POST /api/v1/enroll: Errc::invalid_input for a bad CSR (S19: a CN that is not a canonical
  // UUID), Errc::unauthorized for a bad token, a rejected or revoked device, Errc::conflict when
  // the id belongs to another key. A pending device gets its credential without a certificate.
  Result<EnrolReply> enrol(std::string_view token, std::string_view csr_pem);
  // accept (issues the certificate), reject, revoke.
  Result<store::Credential> decide(const std::string& tenant_id, const std::string& device_id,
                                   store::DeviceState to);
  // Renewal over MQTT: a CSR from a connected, accepted device (the broker vouched for its id).
  // The CN must be the device's own id; the new key replaces the old one.
  Result<std::string> renew(const std::string& device_id, std::string_view csr_pem);
  // Key rotation (Pki::add_next_key, activate_next_key), then on_keys_changed.
  Result<SigningKey> rotate_signing_key();
  Result<void> activate_signing_key();
  Pki& pki() { return pki_; }

 private:
  Result<std::string> issue_certificate(const std::string& device_id, const std::string& public_pem,
                                        const std::string& public_sha256);
  Pki& pki_;
  store::EnrollmentStore& store_;
  const Clock& clock_;
  EnrolmentOptions options_;
  std::function<void(const std::string&)> on_revoked_;
  std::function<void()> on_keys_changed_;
};

}  // namespace hecs::control::ca
