// TLS for the project's MQTT client (client.h, DESIGN §3): OpenSSL driven by the readiness
// of each agent's own socket, as the plain client is, so a TLS link still holds one descriptor
// and, while idle, no buffer (SSL_MODE_RELEASE_BUFFERS). asio::ssl::stream was not used: its
// reads cannot wait for readiness, so every connection would need its own read buffer, and each
// stream keeps four 17 KiB buffers (two of its own, a BIO pair) whatever the traffic, about
// 700 MB at 10,000 agents.
//
// Threading: a Context and the Identities are shared by all the agents of the one io_context
// thread; a Session belongs to one Client.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

struct ssl_st;
struct ssl_ctx_st;
struct x509_st;
struct evp_pkey_st;

namespace hecs::mqtt::tls {

struct Free {
  void operator()(ssl_st* p) const noexcept;
  void operator()(ssl_ctx_st* p) const noexcept;
  void operator()(x509_st* p) const noexcept;
  void operator()(evp_pkey_st* p) const noexcept;
};

// The client side every agent shares: TLS 1.2 at least, the peer's certificate verified against
// the CA file (each Session also checks the host name).
class Context {
 public:
  // Errc::invalid_input when the CA file cannot be read or holds no certificate.
  static Result<Context> create(const std::string& ca_file);
  ssl_ctx_st* native() const { return ctx_.get(); }

 private:
  std::unique_ptr<ssl_ctx_st, Free> ctx_;
};

// One agent's certificate and private key, parsed once and shared by its connections.
class Identity {
 public:
  Identity() = default;  // none: the connection offers no client certificate
  explicit operator bool() const { return cert_ != nullptr; }
  x509_st* cert() const { return cert_.get(); }
  evp_pkey_st* key() const { return key_.get(); }

 private:
  friend class IdentityLoader;
  std::unique_ptr<x509_st, Free> cert_;
  std::unique_ptr<evp_pkey_st, Free> key_;
};

// Parses the agents' keys and certificates. One per fleet: it keeps OpenSSL 3's decoder for
// EC private keys, whose set-up costs more than the decoding itself (about half of a load's
// 0.9 ms when made per key, measured).
class IdentityLoader {
 public:
  // Errc::internal when OpenSSL has no decoder for EC keys.
  static Result<IdentityLoader> create();
  IdentityLoader(IdentityLoader&&) noexcept;
  IdentityLoader& operator=(IdentityLoader&&) noexcept;
  IdentityLoader(const IdentityLoader&) = delete;
  IdentityLoader& operator=(const IdentityLoader&) = delete;
  ~IdentityLoader();

  // Errc::invalid_input when either PEM does not parse, the key is not the certificate's, the
  // certificate's CN is not `device_id`, or it is not valid at `now_s` (unix seconds; nullopt:
  // not checked, as for hecs-agent, whose expired certificate is the broker's to refuse and
  // its renewal's to replace).
  Result<Identity> load(std::string_view key_pem, std::string_view cert_pem,
                        std::string_view device_id, std::optional<std::int64_t> now_s);

 private:
  struct State;
  IdentityLoader();
  std::unique_ptr<State> state_;
};

// The CA and our own certificate of an mqtts:// link, read from PEM files (64 KiB at most each).
struct Loaded {
  Context context;
  Identity identity;  // empty when `cert_file` is empty (no client certificate)
};
// Errc::invalid_input naming the file or what is wrong: unreadable, not PEM, the key not the
// certificate's, a CN other than `common_name`. The validity period is not checked (an expired
// certificate is the broker's to refuse and its owner's to renew).
Result<Loaded> load_files(const std::string& ca_file, const std::string& cert_file,
                          const std::string& key_file, std::string_view common_name);

// Makes `ssl` check that the peer's certificate names `host` (a DNS name or an IP address; OpenSSL
// 3 takes an address as one) and, for a DNS name, send it as SNI. Errc::internal when refused.
Result<void> expect_peer(ssl_st* ssl, const std::string& host);
// Why the handshake of `ssl` failed: the verification result when the peer's certificate was
// refused, else `fallback`.
std::string handshake_failure(ssl_st* ssl, std::string fallback);

// What one non-blocking step of a Session did.
enum class Io {
  done,        // finished; `bytes` moved (read, write)
  want_read,   // call again once the socket is readable
  want_write,  // call again once the socket is writable
  closed,      // the peer closed the connection
  failed,      // `error` says why (the verification result for a refused certificate)
};
struct Step {
  Io io = Io::failed;
  std::size_t bytes = 0;
  std::string error;
};

// The TLS session of one connection, over a connected non-blocking socket it does not own.
// Empty when default-constructed.
class Session {
 public:
  Session() = default;
  // `identity` may be null or empty (no client certificate); `host` is what the broker's
  // certificate must name (a DNS name or an IP address) and, for a DNS name, the SNI sent.
  // Errc::internal when OpenSSL refuses.
  static Result<Session> create(const Context& context, const Identity* identity, int fd,
                                const std::string& host);
  explicit operator bool() const { return ssl_ != nullptr; }

  Step handshake();
  Step read(char* data, std::size_t size);  // done with bytes > 0
  // Retried after want_read/want_write with the same bytes still unsent (they may have moved).
  Step write(const char* data, std::size_t size);
  // Sends close_notify if the socket takes it now (never waits), then frees the session.
  void close();
  void reset() { ssl_.reset(); }  // frees the session without a word (the link is dead)

 private:
  Step step(int result, std::string_view doing);
  std::unique_ptr<ssl_st, Free> ssl_;
};

}  // namespace hecs::mqtt::tls
