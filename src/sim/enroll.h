// Enrolment of hecs-sim's agents (DESIGN §3, docs/api.md "Enrolment"): for each agent a fresh
// P-256 key and a CSR whose CN is its device id, posted with the fleet's token to
// POST /api/v1/enroll over HTTPS, a few requests at a time, each worker keeping its connection
// alive. Beast over OpenSSL on the fleet's own io_context: no thread of its own.
//
// Threading: everything on the io_context's one thread, the callback included.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "common/mqtt/tls.h"
#include "common/result.h"
#include "sim/state_dir.h"

namespace hecs::sim {

struct EnrollUrl {
  std::string host;
  std::uint16_t port = 443;
  std::string path;  // prefix before /api/v1/enroll, "" or "/something" (no final slash)
};
// "https://host[:port][/prefix]", host a name, an IPv4 address or [IPv6]. Errc::invalid_input
// for anything else: plain http would show the token to the network.
Result<EnrollUrl> parse_enroll_url(std::string_view url);

// What an answer of POST /api/v1/enroll means: the certificate (201); Errc::unavailable for a
// device left pending (202: the token wants an operator's approval) and for 5xx; otherwise the
// Errc of the status with the problem's detail (RFC 9457), e.g. "401: enrolment token used up".
Result<std::string> read_enroll_answer(int status, std::string_view body);

struct EnrollOptions {
  std::string url;  // https://host:port, checked with parse_enroll_url
  std::string token;
  std::size_t concurrency = 8;       // requests in flight, each on its own connection
  std::chrono::seconds timeout{30};  // per connect, handshake, request and answer
  int attempts = 3;  // per agent, over a fresh connection each time (network errors only)
};

class Enroller {
 public:
  // Called once per add(), unless stop() came first: the key and certificate, or why not.
  using Done = std::function<void(std::size_t index, Result<StoredIdentity> result)>;

  // `tls` (the CA that the server's certificate must chain to) outlives the Enroller. The host
  // is resolved now: Errc::unavailable when it cannot be, Errc::invalid_input for a bad URL.
  static Result<std::unique_ptr<Enroller>> create(boost::asio::io_context& io,
                                                  const mqtt::tls::Context& tls,
                                                  EnrollOptions options, Done done);
  ~Enroller();
  Enroller(const Enroller&) = delete;
  Enroller(Enroller&&) = delete;
  Enroller& operator=(const Enroller&) = delete;
  Enroller& operator=(Enroller&&) = delete;

  // Queues agent `index`; a worker takes it as soon as one is free.
  void add(std::size_t index, std::string device_id);
  // No new request starts and no callback runs from now on; requests in flight are abandoned.
  void stop();
  bool idle() const;               // nothing queued, nothing in flight
  std::uint64_t requests() const;  // HTTP requests answered, retries included

  struct Impl;  // public only so that enroll.cpp's coroutines can name it

 private:
  explicit Enroller(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace hecs::sim
