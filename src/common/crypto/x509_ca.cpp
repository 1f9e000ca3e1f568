// The device CA (DESIGN §3): creates and loads itself, issues device and server certificates,
// publishes the CRL the broker checks, and verifies that a certificate is one of its own. What it
// signs comes only from its caller's CertRequest and a bare public key: nothing a device put in its
// CSR reaches a certificate.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "common/crypto/crypto.h"
#include "common/crypto/openssl_handles.h"
#include "common/result.h"

namespace hecs::crypto {

using detail::ClearErrorsOnExit;
using detail::openssl_fail;
using detail::Ossl;

struct CertificateAuthority::State {
  Ossl<X509> cert;
  Ossl<EVP_PKEY> key;
  std::string cert_pem;
  std::string key_pem;
  CertInfo info;
};

namespace {

constexpr int kSerialBits = 128;
constexpr std::size_t kMaxSerialHexChars = 40;  // 20 octets, RFC 5280 §4.1.2.2

Result<void> set_serial_and_validity(X509* cert, std::int64_t not_before, std::int64_t not_after) {
  // The top bit set: every serial is exactly 128 bits, positive, and never zero.
  const Ossl<BIGNUM> serial(BN_new());
  if (!serial || BN_rand(serial.get(), kSerialBits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr) {
    return openssl_fail(Errc::internal, "random serial");
  }
  // ASN1_TIME_set picks UTCTime or GeneralizedTime by year, as RFC 5280 §4.1.2.5 requires.
  if (ASN1_TIME_set(X509_getm_notBefore(cert), static_cast<time_t>(not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert), static_cast<time_t>(not_after)) == nullptr) {
    return openssl_fail(Errc::invalid_input, "validity not representable");
  }
  return {};
}

// Fixed extension texts only: values from outside (SAN) are built as structures, because in
// the text form a comma inside a name would add entries of the sender's choosing.
Result<void> add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  const Ossl<X509_EXTENSION> ext(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return openssl_fail(Errc::internal, std::string("extension ") + OBJ_nid2sn(nid));
  }
  return {};
}

bool is_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.' ||
      name.find("..") != std::string_view::npos) {
    return false;
  }
  for (const char c : name) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

Result<void> add_subject_alt_names(X509* cert, const CertRequest& request) {
  if (request.dns_names.empty() && request.ip_addresses.empty()) {
    return {};
  }
  const Ossl<GENERAL_NAMES> names(sk_GENERAL_NAME_new_null());
  HECS_CHECK(names != nullptr, "out of memory");
  const auto push = [&](int type, ASN1_STRING* value) {
    Ossl<GENERAL_NAME> name(GENERAL_NAME_new());
    HECS_CHECK(name != nullptr, "out of memory");
    GENERAL_NAME_set0_value(name.get(), type, value);  // takes `value`
    const int pushed = sk_GENERAL_NAME_push(names.get(), name.get());
    HECS_CHECK(pushed > 0, "out of memory");
    static_cast<void>(name.release());  // now owned by `names`
  };
  for (const std::string& dns : request.dns_names) {
    if (!is_dns_name(dns)) {
      return fail(Errc::invalid_input, "dns name is not a host name");
    }
    Ossl<ASN1_STRING> value(ASN1_IA5STRING_new());
    HECS_CHECK(value != nullptr &&
                   ASN1_STRING_set(value.get(), dns.data(), static_cast<int>(dns.size())) == 1,
               "out of memory");
    push(GEN_DNS, value.release());
  }
  for (const std::string& ip : request.ip_addresses) {
    // a2i_IPADDRESS takes a C string: a NUL inside would silently cut the address short.
    if (ip.find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos) {
      return fail(Errc::invalid_input, "ip address has unexpected characters");
    }
    Ossl<ASN1_STRING> value(a2i_IPADDRESS(ip.c_str()));
    if (!value) {
      return openssl_fail(Errc::invalid_input, "not an ip address");
    }
    push(GEN_IPADD, value.release());
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return openssl_fail(Errc::internal, "extension subjectAltName");
  }
  return {};
}

Result<std::string> sign_to_pem(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, detail::digest_for(key)) <= 0) {
    return openssl_fail(Errc::internal, "signing failed");
  }
  return detail::certificate_pem(cert);
}

Result<Ossl<ASN1_STRING>> serial_from_hex(const std::string& hex) {
  if (hex.empty() || hex.size() > kMaxSerialHexChars ||
      hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    return fail(Errc::invalid_input, "serial is not 1 to 40 hex digits");
  }
  BIGNUM* raw = nullptr;
  const bool parsed = BN_hex2bn(&raw, hex.c_str()) == static_cast<int>(hex.size());
  const Ossl<BIGNUM> bn(raw);
  Ossl<ASN1_STRING> serial(parsed ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  if (!serial) {
    return openssl_fail(Errc::internal, "serial to asn.1");
  }
  return serial;
}

}  // namespace

CertificateAuthority::CertificateAuthority(std::shared_ptr<const State> state)
    : state_(std::move(state)) {}

const std::string& CertificateAuthority::cert_pem() const { return state_->cert_pem; }
const std::string& CertificateAuthority::key_pem() const { return state_->key_pem; }
CertInfo CertificateAuthority::info() const { return state_->info; }

Result<CertificateAuthority> CertificateAuthority::create(std::string_view common_name,
                                                          std::int64_t now,
                                                          std::int64_t not_after) {
  const ClearErrorsOnExit clear;
  auto name = detail::name_with_common_name(common_name);
  if (!name) {
    return fail(std::move(name.error()), "create ca");
  }
  if (not_after <= now) {
    return fail(Errc::invalid_input, "create ca: not_after must be after now");
  }
  auto key = detail::new_p256_key();
  const Ossl<X509> cert(X509_new());
  HECS_CHECK(cert != nullptr, "out of memory");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_set_subject_name(cert.get(), name->get()) != 1 ||
      X509_set_issuer_name(cert.get(), name->get()) != 1 ||
      X509_set_pubkey(cert.get(), key.get()) != 1) {
    return openssl_fail(Errc::internal, "create ca");
  }
  if (auto set = set_serial_and_validity(cert.get(), now, not_after); !set) {
    return fail(std::move(set.error()), "create ca");
  }
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  // pathlen 0: this CA signs devices and servers, never another CA.
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"}}) {
    if (auto added = add_extension(cert.get(), &ctx, nid, value); !added) {
      return fail(std::move(added.error()), "create ca");
    }
  }
  auto pem = sign_to_pem(cert.get(), key.get());
  if (!pem) {
    return fail(std::move(pem.error()), "create ca");
  }
  return load(*pem, detail::private_key_pem(key.get()));
}

Result<CertificateAuthority> CertificateAuthority::load(std::string_view cert_pem,
                                                        std::string_view key_pem) {
  const ClearErrorsOnExit clear;
  auto cert = detail::read_certificate(cert_pem);
  if (!cert) {
    return fail(std::move(cert.error()), "load ca");
  }
  auto key = detail::read_private_key(key_pem);
  if (!key) {
    return fail(std::move(key.error()), "load ca");
  }
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    return fail(Errc::invalid_input, "load ca: the key does not match the certificate");
  }
  // X509_get_key_usage() reports every bit when the extension is absent, hence EXFLAG_KUSAGE.
  const std::uint32_t flags = X509_get_extension_flags(cert->get());
  const std::uint32_t needed_usage = KU_KEY_CERT_SIGN | KU_CRL_SIGN;
  if ((flags & EXFLAG_INVALID) != 0 || (flags & EXFLAG_CA) == 0 || (flags & EXFLAG_KUSAGE) == 0 ||
      (X509_get_key_usage(cert->get()) & needed_usage) != needed_usage) {
    return fail(Errc::invalid_input, "load ca: not a ca certificate for keyCertSign and cRLSign");
  }
  auto info = detail::certificate_info(cert->get());
  if (!info) {
    return fail(std::move(info.error()), "load ca");
  }
  auto state = std::make_shared<State>();
  state->cert_pem = detail::certificate_pem(cert->get());
  state->key_pem = detail::private_key_pem(key->get());
  state->cert = std::move(*cert);
  state->key = std::move(*key);
  state->info = std::move(*info);
  return CertificateAuthority(std::move(state));
}

Result<std::string> CertificateAuthority::issue(std::string_view public_pem,
                                                const CertRequest& request) const {
  const ClearErrorsOnExit clear;
  auto key = detail::read_public_key(public_pem);
  if (!key) {
    return fail(std::move(key.error()), "issue");
  }
  auto subject = detail::name_with_common_name(request.common_name);
  if (!subject) {
    return fail(std::move(subject.error()), "issue");
  }
  if (request.not_after <= request.not_before) {
    return fail(Errc::invalid_input, "issue: not_after must be after not_before");
  }
  // A certificate outliving its CA would be refused by every verifier anyway.
  if (request.not_before < state_->info.not_before || request.not_after > state_->info.not_after) {
    return fail(Errc::invalid_input, "issue: validity outside the ca's own");
  }
  X509* issuer = state_->cert.get();
  const Ossl<X509> cert(X509_new());
  HECS_CHECK(cert != nullptr, "out of memory");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_set_subject_name(cert.get(), subject->get()) != 1 ||
      X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)) != 1 ||
      X509_set_pubkey(cert.get(), key->get()) != 1) {
    return openssl_fail(Errc::internal, "issue");
  }
  if (auto set = set_serial_and_validity(cert.get(), request.not_before, request.not_after); !set) {
    return fail(std::move(set.error()), "issue");
  }
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, issuer, cert.get(), nullptr, nullptr, 0);
  const char* usage = request.usage == CertUsage::server ? "serverAuth" : "clientAuth";
  // digitalSignature alone: ECDHE in TLS needs nothing more, and keyAgreement would only
  // allow static ECDH, which nothing of ours uses.
  for (auto [nid, value] :
       {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
        std::pair{NID_key_usage, "critical,digitalSignature"}, std::pair{NID_ext_key_usage, usage},
        std::pair{NID_subject_key_identifier, "hash"},
        std::pair{NID_authority_key_identifier, "keyid:always"}}) {
    if (auto added = add_extension(cert.get(), &ctx, nid, value); !added) {
      return fail(std::move(added.error()), "issue");
    }
  }
  if (auto added = add_subject_alt_names(cert.get(), request); !added) {
    return fail(std::move(added.error()), "issue");
  }
  auto pem = sign_to_pem(cert.get(), state_->key.get());
  if (!pem) {
    return fail(std::move(pem.error()), "issue");
  }
  return pem;
}

Result<std::string> CertificateAuthority::make_crl(const std::vector<std::string>& revoked_serials,
                                                   std::uint64_t crl_number, std::int64_t now,
                                                   std::int64_t next_update) const {
  const ClearErrorsOnExit clear;
  if (next_update <= now) {
    return fail(Errc::invalid_input, "crl: next_update must be after now");
  }
  const Ossl<X509_CRL> crl(X509_CRL_new());
  const Ossl<ASN1_STRING> this_update(ASN1_TIME_set(nullptr, static_cast<time_t>(now)));
  const Ossl<ASN1_STRING> next(ASN1_TIME_set(nullptr, static_cast<time_t>(next_update)));
  if (!crl || !this_update || !next) {
    return openssl_fail(Errc::invalid_input, "crl: dates not representable");
  }
  if (X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(state_->cert.get())) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
    return openssl_fail(Errc::internal, "crl");
  }
  for (const std::string& hex : revoked_serials) {
    auto serial = serial_from_hex(hex);
    if (!serial) {
      return fail(std::move(serial.error()), "crl");
    }
    Ossl<X509_REVOKED> entry(X509_REVOKED_new());
    if (!entry || X509_REVOKED_set_serialNumber(entry.get(), serial->get()) != 1 ||
        X509_REVOKED_set_revocationDate(entry.get(), this_update.get()) != 1 ||
        X509_CRL_add0_revoked(crl.get(), entry.get()) != 1) {
      return openssl_fail(Errc::internal, "crl: revoked entry");
    }
    static_cast<void>(entry.release());  // add0: the CRL owns it now
  }
  X509_CRL_sort(crl.get());

  const Ossl<ASN1_STRING> number(ASN1_INTEGER_new());
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, state_->cert.get(), nullptr, nullptr, crl.get(), 0);
  const Ossl<X509_EXTENSION> key_id(
      X509V3_EXT_nconf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!number || ASN1_INTEGER_set_uint64(number.get(), crl_number) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1 || !key_id ||
      X509_CRL_add_ext(crl.get(), key_id.get(), -1) != 1) {
    return openssl_fail(Errc::internal, "crl: extensions");
  }
  EVP_PKEY* key = state_->key.get();
  const Ossl<BIO> bio(BIO_new(BIO_s_mem()));
  if (X509_CRL_sign(crl.get(), key, detail::digest_for(key)) <= 0 || !bio ||
      PEM_write_bio_X509_CRL(bio.get(), crl.get()) != 1) {
    return openssl_fail(Errc::internal, "crl: signing failed");
  }
  return detail::bio_text(bio.get());
}

Result<void> verify_certificate(std::string_view cert_pem, std::string_view ca_cert_pem,
                                std::int64_t now) {
  const ClearErrorsOnExit clear;
  auto cert = detail::read_certificate(cert_pem);
  if (!cert) {
    return fail(std::move(cert.error()), "verify");
  }
  auto ca = detail::read_certificate(ca_cert_pem);
  if (!ca) {
    return fail(std::move(ca.error()), "verify: ca");
  }
  const Ossl<X509_STORE> store(X509_STORE_new());
  const Ossl<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca->get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert->get(), nullptr) != 1) {
    return detail::openssl_fail(Errc::internal, "verify: cannot set up the store");
  }
  // X509_STRICT adds the RFC 5280 profile checks (critical basicConstraints on the CA, key
  // identifiers, no explicit curves); set_time also sets X509_V_FLAG_USE_CHECK_TIME.
  X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_X509_STRICT | X509_V_FLAG_USE_CHECK_TIME);
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(now));
  if (X509_verify_cert(ctx.get()) != 1) {
    return fail(Errc::unauthorized,
                std::string("verify: ") +
                    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
  }
  return {};
}

}  // namespace hecs::crypto
