// Cryptography for HECS on OpenSSL 3 (DESIGN §3): encodings and hashes, sealed secrets
// (AES-256-GCM), Ed25519 signatures, and the X.509 pieces of the device CA (keys, CSRs,
// certificates, CRLs). Everything PEM or raw bytes in std::string; no OpenSSL type leaks out.
// Nothing here throws; input from outside (a CSR, a sealed file, a signature) gets
// Errc::invalid_input, a sealed blob that fails authentication Errc::unauthorized.
//
// Threading: every function is thread-safe; key objects are immutable after creation.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hecs::crypto {

// ---- encodings, hashes, randomness ------------------------------------------------------

std::string base64url_encode(std::string_view bytes);  // RFC 4648 §5, no padding
// Strict: no padding, no whitespace, only the url alphabet, no non-zero trailing bits.
Result<std::string> base64url_decode(std::string_view text);
std::string base64_encode(std::string_view bytes);  // standard alphabet, padded
Result<std::string> base64_decode(std::string_view text);
std::string hex_encode(std::string_view bytes);  // lower case
Result<std::string> hex_decode(std::string_view text);
std::string sha256(std::string_view bytes);  // 32 raw bytes
std::string sha256_hex(std::string_view bytes);
std::string random_bytes(std::size_t n);  // OpenSSL's DRBG (kernel-seeded); aborts if it fails
// Compares in time independent of where the first difference is.
bool equal_constant_time(std::string_view a, std::string_view b);

// ---- sealed secrets: AES-256-GCM --------------------------------------------------------

inline constexpr std::size_t kMasterKeyBytes = 32;

// A master key from a file or an environment variable: 32 bytes as 64 hex characters or as
// standard base64 (44 characters), surrounding whitespace ignored. Errc::invalid_input names
// what is wrong, never the value.
Result<std::string> parse_master_key(std::string_view text);
// A fresh key in the text form parse_master_key() reads (hex), with a final newline.
std::string generate_master_key_text();

// "HECS-SEALED-1 " + base64(nonce[12] | ciphertext | tag[16]) + "\n". `label` is bound as
// additional authenticated data, so a sealed CA key cannot be passed off as the signing key.
// `key` must be kMasterKeyBytes long (a bug otherwise: aborts); parse_master_key() makes one.
std::string seal(std::string_view key, std::string_view plaintext, std::string_view label);
// Errc::invalid_input when the text is not a sealed blob, Errc::unauthorized when the key or
// label is wrong or the blob was altered.
Result<std::string> unseal(std::string_view key, std::string_view sealed, std::string_view label);

// ---- Ed25519 (command signing, RFC 8032) -------------------------------------------------

inline constexpr std::size_t kEd25519PublicKeyBytes = 32;
inline constexpr std::size_t kEd25519SignatureBytes = 64;

class Ed25519Key {
 public:
  static Ed25519Key generate();
  // 32-byte seed (the private key as RFC 8032 defines it); Errc::invalid_input otherwise.
  static Result<Ed25519Key> from_seed(std::string_view seed);
  std::string seed() const;                          // 32 raw bytes: keep sealed
  std::string public_key() const;                    // 32 raw bytes
  std::string sign(std::string_view message) const;  // 64 raw bytes

 private:
  struct State;
  explicit Ed25519Key(std::shared_ptr<const State> state);
  std::shared_ptr<const State> state_;
};

// False for a wrong signature, a public key or signature of the wrong length, or any error.
bool ed25519_verify(std::string_view public_key, std::string_view message,
                    std::string_view signature);

// ---- X.509: keys, CSRs, certificates, revocation -----------------------------------------
// Keys are ECDSA P-256: small, fast on a Pi, and supported by every TLS stack we meet
// (Mosquitto, libmosquitto, Chromium, curl).

struct KeyPair {
  std::string private_pem;  // PKCS#8 "PRIVATE KEY"
  std::string public_pem;   // SubjectPublicKeyInfo "PUBLIC KEY"
};
KeyPair generate_p256_key();
// Errc::invalid_input when the text is not a PEM private key.
Result<KeyPair> load_private_key(std::string_view private_pem);

// A PKCS#10 request for CN = `common_name`, signed with the key. Used by the agent.
Result<std::string> make_csr(std::string_view private_pem, std::string_view common_name);

inline constexpr std::size_t kMaxCsrBytes = std::size_t{8} * 1024;

struct CsrInfo {
  std::string common_name;        // as requested; the CA decides what it signs
  std::string public_pem;         // the requested key
  std::string public_key_sha256;  // hex SHA-256 of the DER SubjectPublicKeyInfo
};
// Parses a PEM CSR and checks its self-signature. Errc::invalid_input for anything over
// kMaxCsrBytes, not one PEM CSR, a bad signature, a key that is not P-256 or Ed25519, or a CN
// with control characters. common_name is the first CN, "" when there is none.
Result<CsrInfo> parse_csr(std::string_view csr_pem);

enum class CertUsage {
  client,  // extendedKeyUsage clientAuth: devices, the control plane's MQTT identity
  server,  // extendedKeyUsage serverAuth: the REST API, the broker
};

struct CertRequest {
  std::string common_name;
  std::vector<std::string> dns_names;  // subjectAltName entries (server certificates)
  std::vector<std::string> ip_addresses;
  CertUsage usage = CertUsage::client;
  std::int64_t not_before = 0;  // unix seconds
  std::int64_t not_after = 0;
};

struct CertInfo {
  std::string serial;  // lower-case hex, no leading zeros
  std::string common_name;
  std::string issuer_common_name;
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  std::string sha256;             // hex SHA-256 of the DER certificate (its fingerprint)
  std::string public_key_sha256;  // as in CsrInfo
};
// The first certificate of a PEM text. Errc::invalid_input otherwise.
Result<CertInfo> parse_certificate(std::string_view cert_pem);

class CertificateAuthority {
 public:
  // A new self-signed CA (P-256, basicConstraints CA:TRUE pathlen 0, keyCertSign|cRLSign).
  static Result<CertificateAuthority> create(std::string_view common_name, std::int64_t now,
                                             std::int64_t not_after);
  // Errc::invalid_input when the key does not match the certificate or it is not a CA.
  static Result<CertificateAuthority> load(std::string_view cert_pem, std::string_view key_pem);

  const std::string& cert_pem() const;
  const std::string& key_pem() const;  // keep sealed
  CertInfo info() const;

  // Signs `public_pem` with exactly the subject and extensions of `request`, never anything
  // copied from a CSR. A fresh random 128-bit serial. Errc::invalid_input for an empty CN or a
  // validity outside the CA's own.
  Result<std::string> issue(std::string_view public_pem, const CertRequest& request) const;
  // A CRL (v2, with a CRL number) listing these serials (hex as in CertInfo::serial).
  Result<std::string> make_crl(const std::vector<std::string>& revoked_serials,
                               std::uint64_t crl_number, std::int64_t now,
                               std::int64_t next_update) const;

 private:
  struct State;
  explicit CertificateAuthority(std::shared_ptr<const State> state);
  std::shared_ptr<const State> state_;
};

// Checks that `cert_pem` was issued by `ca_cert_pem` and is valid at `now` (OpenSSL counts the
// second of not_after as expired). Neither usage nor revocation is checked here.
Result<void> verify_certificate(std::string_view cert_pem, std::string_view ca_cert_pem,
                                std::int64_t now);

}  // namespace hecs::crypto
