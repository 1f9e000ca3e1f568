// The TLS steps of Client (client.h): the same socket, readiness and generation rules as
// the plain path in client.cpp, with the session between the bytes and the socket.
#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include "common/mqtt/client.h"

namespace hecs::mqtt {
namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// Records read per wake-up before the other clients get their turn. Unlike a socket, a session
// may hold bytes that readiness does not announce, so a client that stops early posts itself.
constexpr int kReadRounds = 16;

}  // namespace

void Client::tls_start() {
  auto session =
      tls::Session::create(*shared_.tls, identity_, socket_.native_handle(), shared_.host);
  if (!session) {
    ++shared_.counters.tls_failures;
    drop(spdlog::level::warn, fmt::format("tls: {}", session.error().message));
    return;
  }
  tls_ = std::move(*session);
  tls_handshake();
}

void Client::tls_handshake() {
  auto step = tls_.handshake();
  switch (step.io) {
    case tls::Io::done:
      on_link_up();
      return;
    case tls::Io::want_read:
    case tls::Io::want_write:
      tls_wait(step.io, &Client::tls_handshake);
      return;
    case tls::Io::closed:
      step.error = "closed by the broker";
      tls_failed(step, "tls handshake");
      return;
    case tls::Io::failed:
      tls_failed(step, "tls");
      return;
  }
}

void Client::tls_read() {
  auto& buffer = shared_.read_buffer;
  for (int round = 0; round < kReadRounds; ++round) {
    auto step = tls_.read(buffer.data(), buffer.size());
    switch (step.io) {
      case tls::Io::done:
        if (!consume(std::string_view(buffer.data(), step.bytes))) {
          return;
        }
        break;
      case tls::Io::want_read:
        arm_read();
        return;
      case tls::Io::want_write:
        tls_wait(step.io, &Client::tls_read);
        return;
      case tls::Io::closed:
        drop(spdlog::level::info, "closed by the broker");
        return;
      case tls::Io::failed:
        // A broker that refuses our certificate says so here under TLS 1.3: our side of the
        // handshake was already done.
        tls_failed(step, "tls");
        return;
    }
  }
  asio::post(socket_.get_executor(), [this, generation = generation_] {
    if (generation == generation_) {
      tls_read();
    }
  });
}

void Client::tls_write() {
  while (tls_written_ < writing_.size()) {
    auto step = tls_.write(writing_.data() + tls_written_, writing_.size() - tls_written_);
    switch (step.io) {
      case tls::Io::done:
        tls_written_ += step.bytes;
        break;
      case tls::Io::want_read:
      case tls::Io::want_write:
        tls_wait(step.io, &Client::tls_write);
        return;
      case tls::Io::closed:
        drop(spdlog::level::info, "closed by the broker");
        return;
      case tls::Io::failed:
        tls_failed(step, "tls");
        return;
    }
  }
  on_written({});
}

void Client::tls_wait(tls::Io what, void (Client::*then)()) {
  auto type = what == tls::Io::want_read ? asio::ip::tcp::socket::wait_read
                                         : asio::ip::tcp::socket::wait_write;
  socket_.async_wait(type, [this, then, generation = generation_](error_code ec) {
    if (generation != generation_) {
      return;
    }
    if (ec) {
      drop(spdlog::level::info, fmt::format("wait: {}", ec.message()));
      return;
    }
    (this->*then)();
  });
}

void Client::tls_failed(const tls::Step& step, std::string_view doing) {
  ++shared_.counters.tls_failures;
  // A broker that refuses our certificate (revoked, expired, another CA) or whose own does not
  // verify: an operator must act, while we keep trying with backoff.
  shared_.log->warn("mqtt.tls_refused client={} host={} port={} reason={}", client_id_,
                    shared_.host, shared_.port,
                    log::quoted(fmt::format("{}: {}", doing, step.error)));
  drop(spdlog::level::debug, fmt::format("{}: {}", doing, step.error));
}

}  // namespace hecs::mqtt
