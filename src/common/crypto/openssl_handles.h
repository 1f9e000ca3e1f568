// Internal to hecs_common_crypto (never included outside src/common/crypto and its tests):
// one deleter per OpenSSL handle (CONVENTIONS §7), and the helpers the X.509 files share.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/crypto/crypto.h"
#include "common/result.h"

namespace hecs::crypto::detail {

struct OpenSslFree {
  // ASN1_INTEGER, ASN1_TIME, ASN1_IA5STRING and ASN1_OCTET_STRING are all this one type.
  void operator()(ASN1_STRING* p) const noexcept { ASN1_STRING_free(p); }
  void operator()(BASIC_CONSTRAINTS* p) const noexcept { BASIC_CONSTRAINTS_free(p); }
  void operator()(BIGNUM* p) const noexcept { BN_free(p); }
  void operator()(BIO* p) const noexcept { BIO_free(p); }
  void operator()(EVP_CIPHER_CTX* p) const noexcept { EVP_CIPHER_CTX_free(p); }
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
  void operator()(GENERAL_NAME* p) const noexcept { GENERAL_NAME_free(p); }
  void operator()(GENERAL_NAMES* p) const noexcept { GENERAL_NAMES_free(p); }
  void operator()(X509* p) const noexcept { X509_free(p); }
  void operator()(X509_CRL* p) const noexcept { X509_CRL_free(p); }
  void operator()(X509_EXTENSION* p) const noexcept { X509_EXTENSION_free(p); }
  void operator()(X509_NAME* p) const noexcept { X509_NAME_free(p); }
  void operator()(X509_REQ* p) const noexcept { X509_REQ_free(p); }
  void operator()(X509_REVOKED* p) const noexcept { X509_REVOKED_free(p); }
  void operator()(X509_STORE* p) const noexcept { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const noexcept { X509_STORE_CTX_free(p); }
  void operator()(STACK_OF(X509_EXTENSION) * p) const noexcept {
    sk_X509_EXTENSION_pop_free(p, X509_EXTENSION_free);
  }
  // Buffers OpenSSL allocated for us (BN_bn2hex, PEM_read_bio, i2d with a null buffer).
  void operator()(char* p) const noexcept { OPENSSL_free(p); }
  void operator()(unsigned char* p) const noexcept { OPENSSL_free(p); }
};
template <class T>
using Ossl = std::unique_ptr<T, OpenSslFree>;

// OpenSSL keeps failures on a per-thread queue; whatever one call leaves there is later
// blamed on an unrelated TLS handshake on the same thread. Every public entry point of the
// X.509 files holds one of these.
struct ClearErrorsOnExit {
  ClearErrorsOnExit() = default;
  ClearErrorsOnExit(const ClearErrorsOnExit&) = delete;
  ClearErrorsOnExit& operator=(const ClearErrorsOnExit&) = delete;
  ClearErrorsOnExit(ClearErrorsOnExit&&) = delete;
  ClearErrorsOnExit& operator=(ClearErrorsOnExit&&) = delete;
  ~ClearErrorsOnExit() { ERR_clear_error(); }
};

inline const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// `message` plus OpenSSL's reason for the most recent failure, if it left one.
tl::unexpected<Error> openssl_fail(Errc code, std::string message);

// A read-only BIO over `text`; Errc::invalid_input when the text is too large to be a key,
// a request or a certificate chain (BIO lengths are int, and nothing of ours is that big).
Result<Ossl<BIO>> read_bio(std::string_view text);
std::string bio_text(BIO* bio);

// P-256 or Ed25519, the only key types HECS signs or certifies; Errc::invalid_input otherwise.
Result<void> check_key_type(EVP_PKEY* key);
// SHA-256 for ECDSA; none for Ed25519, whose signature hashes internally.
const EVP_MD* digest_for(EVP_PKEY* key);

Ossl<EVP_PKEY> new_p256_key();
Result<Ossl<EVP_PKEY>> read_private_key(std::string_view pem);
Result<Ossl<EVP_PKEY>> read_public_key(std::string_view pem);
Result<Ossl<X509>> read_certificate(std::string_view pem);
std::string private_key_pem(EVP_PKEY* key);
std::string public_key_pem(EVP_PKEY* key);
std::string certificate_pem(X509* cert);
// Errc::invalid_input for a certificate from outside whose fields cannot be read.
Result<CertInfo> certificate_info(X509* cert);
// A name with one CN: 1..64 bytes of UTF-8 (RFC 5280 ub-common-name), no control characters.
Result<Ossl<X509_NAME>> name_with_common_name(std::string_view common_name);

}  // namespace hecs::crypto::detail
