// X.509 for devices and for the CA's callers: keys, PKCS#10 requests (made by the agent,
// parsed by the control plane), reading certificates, and the helpers of openssl_handles.h.
// The CA itself and verification against it are in x509_ca.cpp.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/crypto/crypto.h"
#include "common/crypto/openssl_handles.h"
#include "common/result.h"

namespace hecs::crypto {
namespace detail {
namespace {

// Far above any key, request or chain of ours; it bounds what a caller can make us parse.
constexpr std::size_t kMaxPemBytes = std::size_t{256} * 1024;

// Without a callback, OpenSSL 3 asks for a passphrase on the terminal when it meets an
// encrypted key: a daemon would hang. HECS never writes encrypted PEM (keys are sealed).
int no_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*user*/) { return -1; }

std::string_view trim(std::string_view text) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

std::string der_sha256_hex(unsigned char* der, int len) {
  const Ossl<unsigned char> owned(der);
  HECS_CHECK(len > 0 && der != nullptr, "der encoding failed");
  return sha256_hex(std::string_view(reinterpret_cast<const char*>(der), len));
}

std::string public_key_sha256(EVP_PKEY* key) {
  unsigned char* der = nullptr;  // i2d_* allocates the buffer when given a null one
  const int len = i2d_PUBKEY(key, &der);
  return der_sha256_hex(der, len);
}

Result<std::int64_t> unix_seconds(const ASN1_TIME* time) {
  const Ossl<ASN1_TIME> epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0;
  int seconds = 0;
  if (!epoch || ASN1_TIME_diff(&days, &seconds, epoch.get(), time) != 1) {
    return fail(Errc::invalid_input, "unreadable time");
  }
  return std::int64_t{days} * 86400 + seconds;
}

// The first CN, or "" when there is none. A request may carry several; the CA never copies
// any of them (it signs the CN its caller chose), so reporting the first is enough.
Result<std::string> first_common_name(const X509_NAME* name) {
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) {
    return std::string();
  }
  unsigned char* utf8 = nullptr;
  const int len =
      ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index)));
  const Ossl<unsigned char> owned(utf8);
  if (len < 0) {
    return fail(Errc::invalid_input, "common name is not text");
  }
  std::string cn(reinterpret_cast<const char*>(utf8), len);
  // A NUL or newline in a name would cut or split it in every C string and log line after us.
  for (const char c : cn) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return fail(Errc::invalid_input, "common name has control characters");
    }
  }
  return cn;
}

std::string serial_hex(const ASN1_INTEGER* serial) {
  const Ossl<BIGNUM> bn(ASN1_INTEGER_to_BN(serial, nullptr));
  const Ossl<char> hex(bn ? BN_bn2hex(bn.get()) : nullptr);
  HECS_CHECK(hex != nullptr, "serial to hex: out of memory");
  std::string text(hex.get());
  for (char& c : text) {
    c = static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
  }
  // BN_bn2hex prints whole bytes ("0a"); CertInfo::serial has no leading zeros.
  const std::size_t sign = text.starts_with('-') ? 1 : 0;
  const std::size_t first = text.find_first_not_of('0', sign);
  text.erase(sign, (first == std::string::npos ? text.size() - 1 : first) - sign);
  return text;
}

// The DER of the only PEM block in `text`, which must be named `name` (or `alt_name`).
Result<std::string> single_pem_block(std::string_view text, std::string_view name,
                                     std::string_view alt_name) {
  text = trim(text);
  if (!text.starts_with("-----BEGIN ") || !text.ends_with("-----")) {
    return fail(Errc::invalid_input, "not a pem block");
  }
  auto bio = read_bio(text);
  if (!bio) {
    return fail(std::move(bio.error()), "pem");
  }
  char* found = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;
  const bool read = PEM_read_bio(bio->get(), &found, &header, &data, &len) == 1;
  const Ossl<char> owned_name(found);
  const Ossl<char> owned_header(header);
  const Ossl<unsigned char> owned_data(data);
  if (!read) {
    return openssl_fail(Errc::invalid_input, "not a pem block");
  }
  if (found != name && found != alt_name) {
    return fail(Errc::invalid_input, "pem block is not a " + std::string(name));
  }
  if (*header != '\0') {
    return fail(Errc::invalid_input, "pem block has headers (encrypted?)");
  }
  char* next_name = nullptr;
  char* next_header = nullptr;
  unsigned char* next_data = nullptr;
  long next_len = 0;
  const bool another =
      PEM_read_bio(bio->get(), &next_name, &next_header, &next_data, &next_len) == 1;
  const Ossl<char> owned_next_name(next_name);
  const Ossl<char> owned_next_header(next_header);
  const Ossl<unsigned char> owned_next_data(next_data);
  if (another) {
    return fail(Errc::invalid_input, "more than one pem block");
  }
  return std::string(reinterpret_cast<const char*>(owned_data.get()),
                     static_cast<std::size_t>(len));
}

}  // namespace

tl::unexpected<Error> openssl_fail(Errc code, std::string message) {
  if (const unsigned long err = ERR_peek_last_error(); err != 0) {
    if (const char* reason = ERR_reason_error_string(err); reason != nullptr) {
      message += ": ";
      message += reason;
    }
  }
  ERR_clear_error();
  return fail(code, std::move(message));
}

Result<Ossl<BIO>> read_bio(std::string_view text) {
  if (text.size() > kMaxPemBytes) {
    return fail(Errc::invalid_input, "pem text too large");
  }
  // BIO_new_mem_buf refuses a null pointer even for zero bytes.
  Ossl<BIO> bio(BIO_new_mem_buf(text.empty() ? "" : text.data(), static_cast<int>(text.size())));
  HECS_CHECK(bio != nullptr, "BIO_new_mem_buf: out of memory");
  return bio;
}

std::string bio_text(BIO* bio) {
  std::string text(BIO_ctrl_pending(bio), '\0');
  if (!text.empty()) {
    const int read = BIO_read(bio, text.data(), static_cast<int>(text.size()));
    HECS_CHECK(read == static_cast<int>(text.size()), "short read from a memory BIO");
  }
  return text;
}

Result<void> check_key_type(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "ED25519")) {
    return {};
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    std::array<char, 80> group{};
    std::size_t len = 0;
    int explicit_params = 0;
    const bool named = EVP_PKEY_get_group_name(key, group.data(), group.size(), &len) == 1 &&
                       (OBJ_sn2nid(group.data()) == NID_X9_62_prime256v1 ||
                        EC_curve_nist2nid(group.data()) == NID_X9_62_prime256v1);
    // A key spelled with explicit curve parameters is refused even when they are P-256's:
    // it would be copied into the certificate, and RFC 5480 (and strict verify) forbid that.
    const bool spelled_out =
        EVP_PKEY_get_int_param(key, OSSL_PKEY_PARAM_EC_DECODED_FROM_EXPLICIT_PARAMS,
                               &explicit_params) == 1 &&
        explicit_params != 0;
    ERR_clear_error();
    if (named && !spelled_out) {
      return {};
    }
  }
  return fail(Errc::invalid_input, "key is not ecdsa p-256 or ed25519");
}

const EVP_MD* digest_for(EVP_PKEY* key) {
  return EVP_PKEY_is_a(key, "ED25519") ? nullptr : EVP_sha256();
}

Ossl<EVP_PKEY> new_p256_key() {
  Ossl<EVP_PKEY> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  HECS_CHECK(key != nullptr, "p-256 key generation failed");
  return key;
}

Result<Ossl<EVP_PKEY>> read_private_key(std::string_view pem) {
  auto bio = read_bio(pem);
  if (!bio) {
    return fail(std::move(bio.error()), "private key");
  }
  Ossl<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio->get(), nullptr, no_passphrase, nullptr));
  if (!key) {
    return openssl_fail(Errc::invalid_input, "not an unencrypted pem private key");
  }
  if (auto type = check_key_type(key.get()); !type) {
    return fail(std::move(type.error()), "private key");
  }
  return key;
}

Result<Ossl<EVP_PKEY>> read_public_key(std::string_view pem) {
  auto bio = read_bio(pem);
  if (!bio) {
    return fail(std::move(bio.error()), "public key");
  }
  Ossl<EVP_PKEY> key(PEM_read_bio_PUBKEY(bio->get(), nullptr, no_passphrase, nullptr));
  if (!key) {
    return openssl_fail(Errc::invalid_input, "not a pem public key");
  }
  if (auto type = check_key_type(key.get()); !type) {
    return fail(std::move(type.error()), "public key");
  }
  return key;
}

Result<Ossl<X509>> read_certificate(std::string_view pem) {
  auto bio = read_bio(pem);
  if (!bio) {
    return fail(std::move(bio.error()), "certificate");
  }
  Ossl<X509> cert(PEM_read_bio_X509(bio->get(), nullptr, no_passphrase, nullptr));
  if (!cert) {
    return openssl_fail(Errc::invalid_input, "not a pem certificate");
  }
  return cert;
}

std::string private_key_pem(EVP_PKEY* key) {
  const Ossl<BIO> bio(BIO_new(BIO_s_mem()));
  // OpenSSL 3 writes PKCS#8 ("PRIVATE KEY") here, not the legacy "EC PRIVATE KEY".
  HECS_CHECK(
      bio && PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
      "private key to pem failed");
  return bio_text(bio.get());
}

std::string public_key_pem(EVP_PKEY* key) {
  const Ossl<BIO> bio(BIO_new(BIO_s_mem()));
  HECS_CHECK(bio && PEM_write_bio_PUBKEY(bio.get(), key) == 1, "public key to pem failed");
  return bio_text(bio.get());
}

std::string certificate_pem(X509* cert) {
  const Ossl<BIO> bio(BIO_new(BIO_s_mem()));
  HECS_CHECK(bio && PEM_write_bio_X509(bio.get(), cert) == 1, "certificate to pem failed");
  return bio_text(bio.get());
}

Result<CertInfo> certificate_info(X509* cert) {
  CertInfo info;
  auto subject = first_common_name(X509_get_subject_name(cert));
  auto issuer = first_common_name(X509_get_issuer_name(cert));
  auto not_before = unix_seconds(X509_get0_notBefore(cert));
  auto not_after = unix_seconds(X509_get0_notAfter(cert));
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (!subject || !issuer || !not_before || !not_after || key == nullptr) {
    return fail(Errc::invalid_input, "certificate: unreadable subject, issuer, validity or key");
  }
  info.serial = serial_hex(X509_get0_serialNumber(cert));
  info.common_name = std::move(*subject);
  info.issuer_common_name = std::move(*issuer);
  info.not_before = *not_before;
  info.not_after = *not_after;
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  info.sha256 = der_sha256_hex(der, len);
  info.public_key_sha256 = public_key_sha256(key);
  return info;
}

Result<Ossl<X509_NAME>> name_with_common_name(std::string_view common_name) {
  // 64 is ub-common-name (RFC 5280 appendix A); OpenSSL would refuse more, less clearly.
  if (common_name.empty() || common_name.size() > 64) {
    return fail(Errc::invalid_input, "common name must be 1 to 64 bytes");
  }
  for (const char c : common_name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return fail(Errc::invalid_input, "common name has control characters");
    }
  }
  Ossl<X509_NAME> name(X509_NAME_new());
  HECS_CHECK(name != nullptr, "X509_NAME_new: out of memory");
  if (X509_NAME_add_entry_by_NID(name.get(), NID_commonName, MBSTRING_UTF8, bytes_of(common_name),
                                 static_cast<int>(common_name.size()), -1, 0) != 1) {
    return openssl_fail(Errc::invalid_input, "common name is not utf-8");
  }
  return name;
}

}  // namespace detail

using detail::ClearErrorsOnExit;
using detail::Ossl;

KeyPair generate_p256_key() {
  const ClearErrorsOnExit clear;
  const auto key = detail::new_p256_key();
  return {detail::private_key_pem(key.get()), detail::public_key_pem(key.get())};
}

Result<KeyPair> load_private_key(std::string_view private_pem) {
  const ClearErrorsOnExit clear;
  auto key = detail::read_private_key(private_pem);
  if (!key) {
    return fail(std::move(key.error()), "load key");
  }
  return KeyPair{detail::private_key_pem(key->get()), detail::public_key_pem(key->get())};
}

Result<std::string> make_csr(std::string_view private_pem, std::string_view common_name) {
  const ClearErrorsOnExit clear;
  auto key = detail::read_private_key(private_pem);
  if (!key) {
    return fail(std::move(key.error()), "csr");
  }
  auto name = detail::name_with_common_name(common_name);
  if (!name) {
    return fail(std::move(name.error()), "csr");
  }
  const Ossl<X509_REQ> req(X509_REQ_new());
  const bool ok = req && X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) == 1 &&
                  X509_REQ_set_subject_name(req.get(), name->get()) == 1 &&
                  X509_REQ_set_pubkey(req.get(), key->get()) == 1 &&
                  X509_REQ_sign(req.get(), key->get(), detail::digest_for(key->get())) > 0;
  const Ossl<BIO> bio(BIO_new(BIO_s_mem()));
  if (!ok || !bio || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) {
    return detail::openssl_fail(Errc::internal, "csr: signing failed");
  }
  return detail::bio_text(bio.get());
}

Result<CsrInfo> parse_csr(std::string_view csr_pem) {
  const ClearErrorsOnExit clear;
  if (csr_pem.size() > kMaxCsrBytes) {
    return fail(Errc::invalid_input, "csr: larger than " + std::to_string(kMaxCsrBytes) + " bytes");
  }
  auto der = detail::single_pem_block(csr_pem, "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST");
  if (!der) {
    return fail(std::move(der.error()), "csr");
  }
  const unsigned char* next = detail::bytes_of(*der);
  const Ossl<X509_REQ> req(d2i_X509_REQ(nullptr, &next, static_cast<long>(der->size())));
  if (!req || next != detail::bytes_of(*der) + der->size()) {
    return detail::openssl_fail(Errc::invalid_input, "csr: not one pkcs#10 request");
  }
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (key == nullptr) {
    return detail::openssl_fail(Errc::invalid_input, "csr: unreadable public key");
  }
  // The key type first: a huge RSA key would otherwise cost a verification before refusal.
  if (auto type = detail::check_key_type(key); !type) {
    return fail(std::move(type.error()), "csr");
  }
  // Proof that the sender holds the private key (X509_REQ_verify: 1 good, 0 bad, <0 error).
  if (X509_REQ_verify(req.get(), key) != 1) {
    return detail::openssl_fail(Errc::invalid_input, "csr: self-signature does not verify");
  }
  auto cn = detail::first_common_name(X509_REQ_get_subject_name(req.get()));
  if (!cn) {
    return fail(std::move(cn.error()), "csr");
  }
  return CsrInfo{std::move(*cn), detail::public_key_pem(key), detail::public_key_sha256(key)};
}

Result<CertInfo> parse_certificate(std::string_view cert_pem) {
  const ClearErrorsOnExit clear;
  auto cert = detail::read_certificate(cert_pem);
  if (!cert) {
    return tl::unexpected(std::move(cert.error()));
  }
  return detail::certificate_info(cert->get());
}

}  // namespace hecs::crypto
