#include "common/mqtt/tls.h"

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/files.h"
#include "common/log.h"

namespace hecs::mqtt::tls {

void Free::operator()(ssl_st* p) const noexcept { SSL_free(p); }
void Free::operator()(ssl_ctx_st* p) const noexcept { SSL_CTX_free(p); }
void Free::operator()(x509_st* p) const noexcept { X509_free(p); }
void Free::operator()(evp_pkey_st* p) const noexcept { EVP_PKEY_free(p); }

namespace {

// OpenSSL's reason for the oldest failure it queued, "" when none; the queue is left empty
// (it is per thread, and a stale entry would be blamed on the next connection).
std::string openssl_reason() {
  unsigned long code = ERR_get_error();
  std::string reason;
  if (code != 0) {
    char text[256] = {};
    ERR_error_string_n(code, text, sizeof text);
    reason = text;
  }
  ERR_clear_error();
  return reason;
}

bool is_ip_address(const std::string& host) {
  unsigned char address[16];
  return ::inet_pton(AF_INET, host.c_str(), address) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), address) == 1;
}

struct BioFree {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};

std::unique_ptr<BIO, BioFree> read_only_bio(std::string_view text) {
  return std::unique_ptr<BIO, BioFree>(
      BIO_new_mem_buf(text.data(), static_cast<int>(std::min<std::size_t>(text.size(), 1 << 20))));
}

}  // namespace

Result<void> expect_peer(ssl_st* ssl, const std::string& host) {
  if (SSL_set1_host(ssl, host.c_str()) != 1) {
    return fail(Errc::internal, "SSL_set1_host: " + openssl_reason());
  }
  if (!is_ip_address(host) && SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                                       const_cast<char*>(host.c_str())) != 1) {
    return fail(Errc::internal, "SNI: " + openssl_reason());
  }
  return {};
}

std::string handshake_failure(ssl_st* ssl, std::string fallback) {
  long verified = SSL_get_verify_result(ssl);
  if (verified != X509_V_OK) {
    return fmt::format("peer certificate refused: {}", X509_verify_cert_error_string(verified));
  }
  return fallback;
}

Result<Context> Context::create(const std::string& ca_file) {
  ERR_clear_error();
  Context c;
  c.ctx_.reset(SSL_CTX_new(TLS_client_method()));
  if (!c.ctx_) {
    return fail(Errc::internal, "SSL_CTX_new: " + openssl_reason());
  }
  SSL_CTX* ctx = c.ctx_.get();
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return fail(Errc::internal, "TLS 1.2 floor: " + openssl_reason());
  }
  if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) {
    return fail(Errc::invalid_input, fmt::format("CA file {}: {}", ca_file, openssl_reason()));
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  // Idle links give their record buffers back (about 34 KiB each); writes may stop after a
  // record and resume from a buffer that moved (client.cpp queues behind them).
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // No session resumption (every attempt is a new session anyway), no renegotiation; a broker
  // that closes without close_notify has simply closed (MQTT frames its own packets).
  SSL_CTX_set_options(ctx,
                      SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  return c;
}

struct IdentityLoader::State {
  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  State(State&&) = delete;
  State& operator=(State&&) = delete;
  ~State() {
    OSSL_DECODER_CTX_free(decoder);
    EVP_PKEY_free(decoded);
  }
  OSSL_DECODER_CTX* decoder = nullptr;
  EVP_PKEY* decoded = nullptr;  // where `decoder` puts each key; taken at once
};

IdentityLoader::IdentityLoader() : state_(std::make_unique<State>()) {}
IdentityLoader::IdentityLoader(IdentityLoader&&) noexcept = default;
IdentityLoader& IdentityLoader::operator=(IdentityLoader&&) noexcept = default;
IdentityLoader::~IdentityLoader() = default;

Result<IdentityLoader> IdentityLoader::create() {
  ERR_clear_error();
  IdentityLoader loader;
  // PEM PKCS#8 (or SEC1) EC key pairs, as crypto::generate_p256_key() writes them.
  loader.state_->decoder = OSSL_DECODER_CTX_new_for_pkey(
      &loader.state_->decoded, "PEM", nullptr, "EC", OSSL_KEYMGMT_SELECT_KEYPAIR, nullptr, nullptr);
  if (loader.state_->decoder == nullptr) {
    return fail(Errc::internal, "no decoder for EC keys: " + openssl_reason());
  }
  return loader;
}

Result<Identity> IdentityLoader::load(std::string_view key_pem, std::string_view cert_pem,
                                      std::string_view device_id,
                                      std::optional<std::int64_t> now_s) {
  ERR_clear_error();
  Identity id;
  auto cert_bio = read_only_bio(cert_pem);
  if (!cert_bio) {
    return fail(Errc::internal, "BIO_new_mem_buf: " + openssl_reason());
  }
  id.cert_.reset(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!id.cert_) {
    return fail(Errc::invalid_input, "certificate: " + openssl_reason());
  }
  const auto* data = reinterpret_cast<const unsigned char*>(key_pem.data());
  std::size_t size = key_pem.size();
  state_->decoded = nullptr;
  if (OSSL_DECODER_from_data(state_->decoder, &data, &size) != 1 || state_->decoded == nullptr) {
    EVP_PKEY_free(std::exchange(state_->decoded, nullptr));
    return fail(Errc::invalid_input, "key: " + openssl_reason());
  }
  id.key_.reset(std::exchange(state_->decoded, nullptr));
  if (X509_check_private_key(id.cert_.get(), id.key_.get()) != 1) {
    openssl_reason();
    return fail(Errc::invalid_input, "the key is not the certificate's");
  }
  std::string common_name;
  X509_NAME* subject = X509_get_subject_name(id.cert_.get());
  int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at >= 0) {
    const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
    common_name.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)),
                       static_cast<std::size_t>(ASN1_STRING_length(cn)));
  }
  if (common_name != device_id) {
    return fail(Errc::invalid_input,
                fmt::format("certificate is for {}, not {}", log::quoted(common_name), device_id));
  }
  if (!now_s) {
    return id;
  }
  auto now = static_cast<time_t>(*now_s);
  // X509_cmp_time: -1 when the time is before `now`, 1 after, 0 when unreadable.
  if (X509_cmp_time(X509_get0_notBefore(id.cert_.get()), &now) != -1 ||
      X509_cmp_time(X509_get0_notAfter(id.cert_.get()), &now) != 1) {
    ERR_clear_error();
    return fail(Errc::invalid_input, "certificate not valid now (expired or not yet valid)");
  }
  return id;
}

Result<Loaded> load_files(const std::string& ca_file, const std::string& cert_file,
                          const std::string& key_file, std::string_view common_name) {
  constexpr std::size_t kMaxPemBytes = std::size_t{64} * 1024;
  auto context = Context::create(ca_file);
  if (!context) {
    return fail(std::move(context.error()), "mqtt tls ca_file");
  }
  Loaded loaded{std::move(*context), {}};
  if (cert_file.empty()) {
    return loaded;
  }
  auto cert = files::read_small(cert_file, kMaxPemBytes);
  if (!cert) {
    return fail(Errc::invalid_input, "mqtt tls cert_file: " + cert.error().message);
  }
  auto key = files::read_small(key_file, kMaxPemBytes);
  if (!key) {
    return fail(Errc::invalid_input, "mqtt tls key_file: " + key.error().message);
  }
  auto loader = IdentityLoader::create();
  if (!loader) {
    return tl::unexpected(std::move(loader.error()));
  }
  auto identity = loader->load(*key, *cert, common_name, std::nullopt);
  if (!identity) {
    return fail(std::move(identity.error()), "mqtt tls certificate " + cert_file);
  }
  loaded.identity = std::move(*identity);
  return loaded;
}

Result<Session> Session::create(const Context& context, const Identity* identity, int fd,
                                const std::string& host) {
  ERR_clear_error();
  Session s;
  s.ssl_.reset(SSL_new(context.native()));
  SSL* ssl = s.ssl_.get();
  if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1) {
    return fail(Errc::internal, "SSL_new: " + openssl_reason());
  }
  SSL_set_connect_state(ssl);
  if (auto named = expect_peer(ssl, host); !named) {
    return tl::unexpected(named.error());
  }
  if (identity != nullptr && *identity &&
      (SSL_use_certificate(ssl, identity->cert()) != 1 ||
       SSL_use_PrivateKey(ssl, identity->key()) != 1)) {
    return fail(Errc::internal, "client certificate: " + openssl_reason());
  }
  return s;
}

Step Session::step(int result, std::string_view doing) {
  const int saved_errno = errno;
  switch (SSL_get_error(ssl_.get(), result)) {
    case SSL_ERROR_NONE:
      return {Io::done, 0, {}};
    case SSL_ERROR_WANT_READ:
      return {Io::want_read, 0, {}};
    case SSL_ERROR_WANT_WRITE:
      return {Io::want_write, 0, {}};
    case SSL_ERROR_ZERO_RETURN:
      ERR_clear_error();
      return {Io::closed, 0, {}};
    case SSL_ERROR_SYSCALL:
      ERR_clear_error();
      if (saved_errno == 0) {
        return {Io::closed, 0, {}};
      }
      return {Io::failed, 0,
              fmt::format("{}: {}", doing,
                          std::error_code(saved_errno, std::generic_category()).message())};
    default: {
      std::string reason = openssl_reason();
      reason = handshake_failure(ssl_.get(), reason.empty() ? "error" : reason);
      return {Io::failed, 0, fmt::format("{}: {}", doing, reason)};
    }
  }
}

Step Session::handshake() {
  ERR_clear_error();
  errno = 0;
  int r = SSL_do_handshake(ssl_.get());
  return r == 1 ? Step{Io::done, 0, {}} : step(r, "handshake");
}

Step Session::read(char* data, std::size_t size) {
  ERR_clear_error();
  errno = 0;
  std::size_t n = 0;
  int r = SSL_read_ex(ssl_.get(), data, size, &n);
  return r == 1 ? Step{Io::done, n, {}} : step(r, "read");
}

Step Session::write(const char* data, std::size_t size) {
  ERR_clear_error();
  errno = 0;
  std::size_t n = 0;
  int r = SSL_write_ex(ssl_.get(), data, size, &n);
  return r == 1 ? Step{Io::done, n, {}} : step(r, "write");
}

void Session::close() {
  if (ssl_ && SSL_is_init_finished(ssl_.get()) == 1) {
    ERR_clear_error();
    SSL_shutdown(ssl_.get());  // 0 or a want: the close_notify went or not, we do not wait
    ERR_clear_error();
  }
  ssl_.reset();
}

}  // namespace hecs::mqtt::tls
