#include <array>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/wait.h>

#include "common/crypto/crypto.h"
#include "common/crypto/openssl_handles.h"

// The checks on what was issued read the certificates back with OpenSSL directly, not with
// the code under test, and one test hands everything to the `openssl` command.
namespace hecs::crypto {
namespace {

using detail::Ossl;

constexpr std::int64_t kNow = 1'700'000'000;  // 2023-11-14
constexpr std::int64_t kDay = 86'400;
const std::string kCaName = "HECS device CA";

CertificateAuthority make_ca(const std::string& cn = kCaName) {
  auto ca = CertificateAuthority::create(cn, kNow - kDay, kNow + 3650 * kDay);
  EXPECT_TRUE(ca) << ca.error().message;
  return std::move(*ca);
}

CertRequest client_request(const std::string& cn) {
  CertRequest request;
  request.common_name = cn;
  request.not_before = kNow;
  request.not_after = kNow + 365 * kDay;
  return request;
}

std::string issue_for(const CertificateAuthority& ca, const std::string& cn) {
  auto cert = ca.issue(generate_p256_key().public_pem, client_request(cn));
  EXPECT_TRUE(cert) << cert.error().message;
  return cert.value_or("");
}

Ossl<BIO> bio_of(const std::string& text) {
  return Ossl<BIO>(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string text_of(BIO* bio) {
  std::string text(BIO_ctrl_pending(bio), '\0');
  EXPECT_EQ(BIO_read(bio, text.data(), static_cast<int>(text.size())), int(text.size()));
  return text;
}

Ossl<X509> x509_of(const std::string& pem) {
  return Ossl<X509>(PEM_read_bio_X509(bio_of(pem).get(), nullptr, nullptr, nullptr));
}

Ossl<EVP_PKEY> key_of(const std::string& private_pem) {
  return Ossl<EVP_PKEY>(
      PEM_read_bio_PrivateKey(bio_of(private_pem).get(), nullptr, nullptr, nullptr));
}

std::string private_pem_of(EVP_PKEY* key) {
  const Ossl<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return text_of(bio.get());
}

// A request as a hostile device might send it: its own CN, asking to be a CA, for a SAN and
// for server use; signed by `signer` (the subject's own key unless given another).
std::string crafted_csr(EVP_PKEY* subject_key, const std::string& cn, bool hostile_extensions,
                        EVP_PKEY* signer = nullptr) {
  const Ossl<X509_REQ> req(X509_REQ_new());
  X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_REQ_set_pubkey(req.get(), subject_key);
  if (hostile_extensions) {
    const Ossl<STACK_OF(X509_EXTENSION)> exts(sk_X509_EXTENSION_new_null());
    for (auto [nid, value] :
         {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
          std::pair{NID_subject_alt_name, "DNS:broker.evil.example,IP:10.6.6.6"},
          std::pair{NID_ext_key_usage, "serverAuth,codeSigning"}}) {
      sk_X509_EXTENSION_push(exts.get(), X509V3_EXT_nconf_nid(nullptr, nullptr, nid, value));
    }
    EXPECT_EQ(X509_REQ_add_extensions(req.get(), exts.get()), 1);
  }
  EVP_PKEY* key = signer != nullptr ? signer : subject_key;
  EXPECT_GT(X509_REQ_sign(req.get(), key, EVP_PKEY_is_a(key, "ED25519") ? nullptr : EVP_sha256()),
            0);
  const Ossl<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  return text_of(bio.get());
}

template <class T>
Ossl<T> extension(X509* cert, int nid) {
  return Ossl<T>(static_cast<T*>(X509_get_ext_d2i(cert, nid, nullptr, nullptr)));
}

// ---- keys and requests --------------------------------------------------------------------

TEST(P256Key, LoadsBackToTheSamePair) {
  const KeyPair pair = generate_p256_key();
  EXPECT_TRUE(pair.private_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
  EXPECT_TRUE(pair.public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
  auto loaded = load_private_key(pair.private_pem);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->private_pem, pair.private_pem);
  EXPECT_EQ(loaded->public_pem, pair.public_pem);
}

TEST(P256Key, RefusesTextThatIsNotAPrivateKey) {
  for (const std::string& text :
       {std::string(), std::string("hello"), generate_p256_key().public_pem}) {
    auto loaded = load_private_key(text);
    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error().code, Errc::invalid_input);
  }
}

TEST(Csr, CarriesTheCommonNameAndTheKey) {
  const KeyPair pair = generate_p256_key();
  auto csr = make_csr(pair.private_pem, "device-1");
  ASSERT_TRUE(csr) << csr.error().message;
  auto info = parse_csr(*csr);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->common_name, "device-1");
  EXPECT_EQ(info->public_pem, pair.public_pem);
  EXPECT_EQ(info->public_key_sha256.size(), 64u);
}

TEST(Csr, AcceptsAnEd25519Key) {
  const Ossl<EVP_PKEY> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  auto csr = make_csr(private_pem_of(key.get()), "device-ed");
  ASSERT_TRUE(csr) << csr.error().message;
  auto info = parse_csr(*csr);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->common_name, "device-ed");
}

TEST(Csr, RefusesARequestSignedByAnotherKey) {
  const auto mine = key_of(generate_p256_key().private_pem);
  const auto other = key_of(generate_p256_key().private_pem);
  auto info = parse_csr(crafted_csr(mine.get(), "device-1", false, other.get()));
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, Errc::invalid_input);
  EXPECT_NE(info.error().message.find("self-signature"), std::string::npos);
}

TEST(Csr, RefusesARequestWithAFlippedSignatureByte) {
  auto csr = make_csr(generate_p256_key().private_pem, "device-1");
  ASSERT_TRUE(csr);
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* der = nullptr;
  long len = 0;
  ASSERT_EQ(PEM_read_bio(bio_of(*csr).get(), &name, &header, &der, &len), 1);
  const Ossl<char> owned_name(name);
  const Ossl<char> owned_header(header);
  const Ossl<unsigned char> owned_der(der);
  der[len - 1] ^= 1;  // the last byte of the ECDSA signature's s
  const Ossl<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio(bio.get(), "CERTIFICATE REQUEST", "", der, len);
  auto info = parse_csr(text_of(bio.get()));
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, Errc::invalid_input);
  EXPECT_NE(info.error().message.find("self-signature"), std::string::npos) << info.error().message;
}

TEST(Csr, RefusesRsaAndOtherCurves) {
  const Ossl<EVP_PKEY> rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}));
  const Ossl<EVP_PKEY> p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  for (EVP_PKEY* key : {rsa.get(), p384.get()}) {
    auto info = parse_csr(crafted_csr(key, "device-1", false));
    ASSERT_FALSE(info);
    EXPECT_EQ(info.error().code, Errc::invalid_input);
    EXPECT_NE(info.error().message.find("p-256"), std::string::npos) << info.error().message;
  }
}

TEST(Csr, RefusesAP256KeyWithExplicitCurveParameters) {
  // Same curve, spelled out in full: it would be copied into the certificate (RFC 5480 §2.1.1).
  const Ossl<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  std::string group = "P-256";
  std::string encoding = "explicit";
  const std::array<OSSL_PARAM, 3> params = {
      OSSL_PARAM_construct_utf8_string("group", group.data(), 0),
      OSSL_PARAM_construct_utf8_string("encoding", encoding.data(), 0), OSSL_PARAM_construct_end()};
  EVP_PKEY* raw = nullptr;
  ASSERT_EQ(EVP_PKEY_keygen_init(ctx.get()), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_params(ctx.get(), params.data()), 1);
  ASSERT_EQ(EVP_PKEY_generate(ctx.get(), &raw), 1);
  const Ossl<EVP_PKEY> key(raw);
  const std::string csr = crafted_csr(key.get(), "device-1", false);
  auto info = parse_csr(csr);
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, Errc::invalid_input);
  EXPECT_NE(info.error().message.find("p-256"), std::string::npos) << info.error().message;
}

TEST(Csr, RefusesAnOversizedRequestEvenIfItIsValid) {
  auto csr = make_csr(generate_p256_key().private_pem, "device-1");
  ASSERT_TRUE(csr);
  ASSERT_TRUE(parse_csr(*csr + std::string(kMaxCsrBytes - csr->size(), '\n')));
  auto info = parse_csr(*csr + std::string(kMaxCsrBytes - csr->size() + 1, '\n'));
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, Errc::invalid_input);
}

TEST(Csr, RefusesTwoPemBlocksOrAnythingButOneRequest) {
  auto csr = make_csr(generate_p256_key().private_pem, "device-1");
  ASSERT_TRUE(csr);
  const std::string cert = issue_for(make_ca(), "device-1");
  for (const std::string& text : {*csr + *csr, *csr + cert, cert, "junk\n" + *csr,
                                  std::string("-----BEGIN CERTIFICATE REQUEST-----\n"),
                                  std::string(), std::string("not pem")}) {
    auto info = parse_csr(text);
    ASSERT_FALSE(info) << text;
    EXPECT_EQ(info.error().code, Errc::invalid_input);
  }
}

// ---- the CA ---------------------------------------------------------------------------------

TEST(CertificateAuthority, CreatesASelfSignedP256CaForCertsAndCrlsOnly) {
  const CertificateAuthority ca = make_ca();
  const auto cert = x509_of(ca.cert_pem());
  ASSERT_TRUE(cert);
  EXPECT_EQ(X509_verify(cert.get(), X509_get0_pubkey(cert.get())), 1);
  EXPECT_TRUE(EVP_PKEY_is_a(X509_get0_pubkey(cert.get()), "EC"));
  const auto constraints = extension<BASIC_CONSTRAINTS>(cert.get(), NID_basic_constraints);
  ASSERT_TRUE(constraints);
  EXPECT_NE(constraints->ca, 0);
  EXPECT_EQ(ASN1_INTEGER_get(constraints->pathlen), 0);
  EXPECT_EQ(X509_get_key_usage(cert.get()), std::uint32_t{KU_KEY_CERT_SIGN | KU_CRL_SIGN});
  const int bc = X509_get_ext_by_NID(cert.get(), NID_basic_constraints, -1);
  const int ku = X509_get_ext_by_NID(cert.get(), NID_key_usage, -1);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(cert.get(), bc)), 1);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(cert.get(), ku)), 1);
  EXPECT_NE(X509_get0_subject_key_id(cert.get()), nullptr);
  EXPECT_EQ(ca.info().common_name, kCaName);
  EXPECT_EQ(ca.info().issuer_common_name, kCaName);
}

TEST(CertificateAuthority, LoadsBackFromItsPems) {
  const CertificateAuthority ca = make_ca();
  auto loaded = CertificateAuthority::load(ca.cert_pem(), ca.key_pem());
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->info().sha256, ca.info().sha256);
  EXPECT_EQ(loaded->key_pem(), ca.key_pem());
  EXPECT_TRUE(verify_certificate(issue_for(*loaded, "device-1"), ca.cert_pem(), kNow + kDay));
}

TEST(CertificateAuthority, RefusesToLoadWithAnotherCasKey) {
  auto loaded = CertificateAuthority::load(make_ca().cert_pem(), make_ca().key_pem());
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, Errc::invalid_input);
}

TEST(CertificateAuthority, RefusesToLoadALeafCertificate) {
  const KeyPair pair = generate_p256_key();
  auto leaf = make_ca().issue(pair.public_pem, client_request("device-1"));
  ASSERT_TRUE(leaf);
  auto loaded = CertificateAuthority::load(*leaf, pair.private_pem);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, Errc::invalid_input);
}

TEST(CertificateAuthority, RefusesToCreateWithoutANameOrAFuture) {
  EXPECT_FALSE(CertificateAuthority::create("", kNow, kNow + kDay));
  EXPECT_FALSE(CertificateAuthority::create(kCaName, kNow, kNow));
}

TEST(CertificateAuthority, IssuesOnlyWhatTheCallerAskedNotWhatTheCsrAskedFor) {
  const CertificateAuthority ca = make_ca();
  const auto device_key = key_of(generate_p256_key().private_pem);
  auto csr = parse_csr(crafted_csr(device_key.get(), "admin", true));
  ASSERT_TRUE(csr) << csr.error().message;
  EXPECT_EQ(csr->common_name, "admin");
  auto pem = ca.issue(csr->public_pem, client_request("device-1"));
  ASSERT_TRUE(pem) << pem.error().message;
  const auto cert = x509_of(*pem);
  ASSERT_TRUE(cert);

  const X509_NAME* subject = X509_get_subject_name(cert.get());
  ASSERT_EQ(X509_NAME_entry_count(subject), 1);
  EXPECT_EQ(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(subject, 0))),
            NID_commonName);
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(cert.get()),
                          X509_get_subject_name(x509_of(ca.cert_pem()).get())),
            0);
  EXPECT_EQ(parse_certificate(*pem)->common_name, "device-1");
  const auto constraints = extension<BASIC_CONSTRAINTS>(cert.get(), NID_basic_constraints);
  ASSERT_TRUE(constraints);
  EXPECT_EQ(constraints->ca, 0);
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  EXPECT_EQ(extension<GENERAL_NAMES>(cert.get(), NID_subject_alt_name), nullptr);
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), std::uint32_t{XKU_SSL_CLIENT});
  EXPECT_EQ(X509_get_key_usage(cert.get()), std::uint32_t{KU_DIGITAL_SIGNATURE});
  // basicConstraints, keyUsage, extendedKeyUsage, subject and authority key ids: no more.
  EXPECT_EQ(X509_get_ext_count(cert.get()), 5);
  EXPECT_NE(X509_get0_authority_key_id(cert.get()), nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(cert.get()),
                                  X509_get0_subject_key_id(x509_of(ca.cert_pem()).get())),
            0);
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
  EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_ecdsa_with_SHA256);
}

TEST(CertificateAuthority, IssuesServerCertificatesWithTheRequestedNames) {
  const CertificateAuthority ca = make_ca();
  CertRequest request = client_request("broker");
  request.usage = CertUsage::server;
  request.dns_names = {"broker.local", "localhost"};
  request.ip_addresses = {"127.0.0.1", "::1"};
  auto pem = ca.issue(generate_p256_key().public_pem, request);
  ASSERT_TRUE(pem) << pem.error().message;
  const auto cert = x509_of(*pem);
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), std::uint32_t{XKU_SSL_SERVER});
  EXPECT_EQ(X509_check_host(cert.get(), "broker.local", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "evil.local", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
  const auto names = extension<GENERAL_NAMES>(cert.get(), NID_subject_alt_name);
  ASSERT_TRUE(names);
  EXPECT_EQ(sk_GENERAL_NAME_num(names.get()), 4);
  EXPECT_TRUE(verify_certificate(*pem, ca.cert_pem(), kNow + kDay));
}

TEST(CertificateAuthority, RefusesNamesThatCouldSmuggleExtraEntries) {
  const CertificateAuthority ca = make_ca();
  const std::string key = generate_p256_key().public_pem;
  CertRequest dns = client_request("broker");
  dns.dns_names = {"broker.local,IP:10.6.6.6"};
  CertRequest ip = client_request("broker");
  ip.ip_addresses = {std::string("10.0.0.1\0, 10.6.6.6", 19)};
  CertRequest bad_ip = client_request("broker");
  bad_ip.ip_addresses = {"10.0.0"};
  CertRequest cn = client_request(std::string("device-1\0admin", 14));
  for (const CertRequest& request : {dns, ip, bad_ip, cn}) {
    auto cert = ca.issue(key, request);
    ASSERT_FALSE(cert);
    EXPECT_EQ(cert.error().code, Errc::invalid_input);
  }
}

TEST(CertificateAuthority, RefusesAnEmptyNameAnEmptyValidityOrOneBeyondItsOwn) {
  const CertificateAuthority ca = make_ca();
  const std::string key = generate_p256_key().public_pem;
  CertRequest empty_cn = client_request("");
  CertRequest backwards = client_request("device-1");
  backwards.not_after = backwards.not_before;
  CertRequest too_long = client_request("device-1");
  too_long.not_after = ca.info().not_after + 1;
  CertRequest too_early = client_request("device-1");
  too_early.not_before = ca.info().not_before - 1;
  for (const CertRequest& request : {empty_cn, backwards, too_long, too_early}) {
    auto cert = ca.issue(key, request);
    ASSERT_FALSE(cert);
    EXPECT_EQ(cert.error().code, Errc::invalid_input);
  }
}

TEST(CertificateAuthority, RefusesToCertifyAnRsaKeyOrGarbage) {
  const Ossl<EVP_PKEY> rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}));
  const Ossl<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), rsa.get());
  const CertificateAuthority ca = make_ca();
  for (const std::string& key : {text_of(bio.get()), std::string("garbage")}) {
    auto cert = ca.issue(key, client_request("device-1"));
    ASSERT_FALSE(cert);
    EXPECT_EQ(cert.error().code, Errc::invalid_input);
  }
}

TEST(Certificate, ReportsSerialNamesValidityAndFingerprints) {
  const CertificateAuthority ca = make_ca();
  const KeyPair pair = generate_p256_key();
  auto csr = parse_csr(*make_csr(pair.private_pem, "device-1"));
  auto pem = ca.issue(pair.public_pem, client_request("device-1"));
  ASSERT_TRUE(pem && csr);
  auto info = parse_certificate(*pem);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->common_name, "device-1");
  EXPECT_EQ(info->issuer_common_name, kCaName);
  EXPECT_EQ(info->not_before, kNow);
  EXPECT_EQ(info->not_after, kNow + 365 * kDay);
  EXPECT_EQ(info->serial.size(), 32u);  // 128 bits with the top one set
  EXPECT_EQ(info->serial.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(info->public_key_sha256, csr->public_key_sha256);
  unsigned char* der = nullptr;
  const int len = i2d_X509(x509_of(*pem).get(), &der);
  const Ossl<unsigned char> owned(der);
  EXPECT_EQ(info->sha256, sha256_hex(std::string(reinterpret_cast<char*>(der), len)));
  EXPECT_NE(parse_certificate(issue_for(ca, "device-1"))->serial, info->serial);
}

TEST(Certificate, RefusesTextThatIsNotACertificate) {
  for (const std::string& text :
       {std::string(), std::string("junk"), generate_p256_key().public_pem}) {
    auto info = parse_certificate(text);
    ASSERT_FALSE(info);
    EXPECT_EQ(info.error().code, Errc::invalid_input);
  }
}

// ---- verification and revocation -----------------------------------------------------------

TEST(VerifyCertificate, AcceptsOurCertificateWithinItsValidity) {
  const CertificateAuthority ca = make_ca();
  const std::string cert = issue_for(ca, "device-1");
  EXPECT_TRUE(verify_certificate(cert, ca.cert_pem(), kNow));
  // OpenSSL takes notAfter itself as expired (RFC 5280 would still accept it): one second less.
  EXPECT_TRUE(verify_certificate(cert, ca.cert_pem(), kNow + 365 * kDay - 1));
}

TEST(VerifyCertificate, RefusesACertificateFromAnotherCaOfTheSameName) {
  const CertificateAuthority ours = make_ca();
  const CertificateAuthority theirs = make_ca();
  auto verified = verify_certificate(issue_for(theirs, "device-1"), ours.cert_pem(), kNow + kDay);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, Errc::unauthorized);
}

TEST(VerifyCertificate, RefusesExpiredAndNotYetValidCertificates) {
  const CertificateAuthority ca = make_ca();
  const std::string cert = issue_for(ca, "device-1");
  auto expired = verify_certificate(cert, ca.cert_pem(), kNow + 365 * kDay);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, Errc::unauthorized);
  EXPECT_NE(expired.error().message.find("expired"), std::string::npos);
  auto early = verify_certificate(cert, ca.cert_pem(), kNow - 1);
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, Errc::unauthorized);
  EXPECT_NE(early.error().message.find("not yet valid"), std::string::npos);
}

TEST(VerifyCertificate, SaysInvalidInputForTextThatIsNotACertificate) {
  const CertificateAuthority ca = make_ca();
  auto verified = verify_certificate("junk", ca.cert_pem(), kNow);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, Errc::invalid_input);
  verified = verify_certificate(issue_for(ca, "device-1"), "junk", kNow);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, Errc::invalid_input);
}

TEST(Crl, ListsTheRevokedSerialsAndIsSignedByTheCa) {
  const CertificateAuthority ca = make_ca();
  const std::string revoked = parse_certificate(issue_for(ca, "device-1"))->serial;
  const std::string kept = parse_certificate(issue_for(ca, "device-2"))->serial;
  auto pem = ca.make_crl({revoked, "0a"}, 7, kNow, kNow + 7 * kDay);
  ASSERT_TRUE(pem) << pem.error().message;
  const Ossl<X509_CRL> crl(PEM_read_bio_X509_CRL(bio_of(*pem).get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(crl);
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(x509_of(ca.cert_pem()).get())), 1);
  EXPECT_NE(X509_CRL_verify(crl.get(), X509_get0_pubkey(x509_of(make_ca().cert_pem()).get())), 1);
  EXPECT_EQ(X509_CRL_get_version(crl.get()), X509_CRL_VERSION_2);
  EXPECT_EQ(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get())), 2);
  const auto listed = [&](const std::string& hex) {
    BIGNUM* bn = nullptr;
    BN_hex2bn(&bn, hex.c_str());
    const Ossl<BIGNUM> owned(bn);
    const Ossl<ASN1_STRING> serial(BN_to_ASN1_INTEGER(bn, nullptr));
    X509_REVOKED* entry = nullptr;
    return X509_CRL_get0_by_serial(crl.get(), &entry, serial.get()) == 1;
  };
  EXPECT_TRUE(listed(revoked));
  EXPECT_TRUE(listed("a"));
  EXPECT_FALSE(listed(kept));
  const Ossl<ASN1_STRING> crl_number(
      static_cast<ASN1_STRING*>(X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, nullptr, nullptr)));
  ASSERT_TRUE(crl_number);
  EXPECT_EQ(ASN1_INTEGER_get(crl_number.get()), 7);
  EXPECT_GE(X509_CRL_get_ext_by_NID(crl.get(), NID_authority_key_identifier, -1), 0);
  EXPECT_EQ(X509_CRL_get0_nextUpdate(crl.get()) != nullptr, true);
}

TEST(Crl, RefusesSerialsThatAreNotHexAndAnUpdateInThePast) {
  const CertificateAuthority ca = make_ca();
  for (const std::string& serial : {std::string(), std::string("xyz"), std::string("-1"),
                                    std::string("0x1f"), std::string(41, 'a')}) {
    auto crl = ca.make_crl({serial}, 1, kNow, kNow + kDay);
    ASSERT_FALSE(crl) << serial;
    EXPECT_EQ(crl.error().code, Errc::invalid_input);
  }
  EXPECT_FALSE(ca.make_crl({}, 1, kNow, kNow));
}

class TempDir {
 public:
  TempDir() {
    std::string path = (std::filesystem::temp_directory_path() / "hecs-x509-XXXXXX").string();
    EXPECT_NE(mkdtemp(path.data()), nullptr);
    path_ = path;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir(TempDir&&) = delete;
  TempDir& operator=(TempDir&&) = delete;
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
    return (path_ / name).string();
  }

 private:
  std::filesystem::path path_;
};

// Exit status and output of `command` (run by /bin/sh).
std::pair<int, std::string> run(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string output;
  std::array<char, 512> buffer{};
  while (pipe != nullptr && fgets(buffer.data(), buffer.size(), pipe) != nullptr) {
    output += buffer.data();
  }
  const int status = pipe != nullptr ? pclose(pipe) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(Crl, IsHonouredByTheOpensslCommand) {
  ASSERT_EQ(run("openssl version").first, 0) << "the openssl command (scripts/install-deps.sh)";
  // The command checks against the wall clock, so these certificates are valid now.
  const std::int64_t now = std::time(nullptr);
  auto ca = CertificateAuthority::create(kCaName, now - 60, now + kDay);
  ASSERT_TRUE(ca);
  CertRequest request = client_request("device-1");
  request.not_before = now - 60;
  request.not_after = now + 3600;
  auto revoked = ca->issue(generate_p256_key().public_pem, request);
  request.common_name = "device-2";
  auto kept = ca->issue(generate_p256_key().public_pem, request);
  ASSERT_TRUE(revoked && kept);
  auto crl = ca->make_crl({parse_certificate(*revoked)->serial}, 1, now - 1, now + 3600);
  ASSERT_TRUE(crl) << crl.error().message;

  const TempDir dir;
  const std::string verify = "openssl verify -x509_strict -CAfile " +
                             dir.write("ca.pem", ca->cert_pem()) + " -crl_check -CRLfile " +
                             dir.write("crl.pem", *crl) + " ";
  const auto [kept_status, kept_output] = run(verify + dir.write("kept.pem", *kept));
  EXPECT_EQ(kept_status, 0) << kept_output;
  const auto [revoked_status, revoked_output] = run(verify + dir.write("revoked.pem", *revoked));
  EXPECT_NE(revoked_status, 0) << revoked_output;
  EXPECT_NE(revoked_output.find("certificate revoked"), std::string::npos) << revoked_output;
}

}  // namespace
}  // namespace hecs::crypto
