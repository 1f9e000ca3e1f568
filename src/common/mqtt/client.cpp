#include "common/mqtt/client.h"

#include <algorithm>
#include <random>
#include <variant>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

namespace hecs::mqtt {
namespace asio = boost::asio;
using boost::system::error_code;

Client::Client(const asio::any_io_executor& executor, ClientShared& shared, ClientEvents& events,
               std::string client_id, std::uint16_t keepalive_s, std::string subscription,
               std::uint64_t seed, const tls::Identity* identity)
    : socket_(executor),
      timer_(executor),
      shared_(shared),
      events_(events),
      client_id_(std::move(client_id)),
      subscription_(std::move(subscription)),
      keepalive_(keepalive_s),
      rng_(seed),
      backoff_(shared.min_backoff),
      identity_(identity) {}

void Client::start() {
  if (state_ == State::idle) {
    attempt();
  }
}

void Client::attempt() {
  ++attempts_;
  state_ = State::connecting;
  out_.clear();
  std::string().swap(pending_);
  in_flight_.clear();
  subscribe_id_ = 0;
  ping_outstanding_ = false;
  // The will is asked for before the connection exists: each attempt is a new session (S28).
  auto will = events_.will();
  if (auto r = mqtt::append_connect(
          out_, {client_id_, clean_session_, static_cast<std::uint16_t>(keepalive_.count()),
                 will ? &*will : nullptr});
      !r) {
    // Our own ids, topics and payloads are far below MQTT's limits: a bug, not input.
    shared_.log->error("mqtt.connect_unencodable client={} error={}", client_id_,
                       log::quoted(r.error().message));
    state_ = State::stopped;
    return;
  }
  // CONNECT and CONNACK must both happen within one keepalive, as libmosquitto's clients expect.
  arm_timer(Clock::now() + keepalive_);
  if (shared_.broker.empty()) {
    resolve();
    return;
  }
  connect_to(shared_.broker[(attempts_ - 1) % shared_.broker.size()]);
}

void Client::connect_to(const asio::ip::tcp::endpoint& endpoint) {
  socket_.async_connect(endpoint, [this, generation = generation_](error_code ec) {
    on_tcp_connected(generation, ec);
  });
}

// Asio resolves on a thread of its own, so a slow DNS server never stalls the loop; the
// attempt's deadline (armed in attempt()) bounds the whole of it.
void Client::resolve() {
  if (!resolver_) {
    resolver_ = std::make_unique<asio::ip::tcp::resolver>(socket_.get_executor());
  }
  resolver_->async_resolve(
      shared_.host, std::to_string(shared_.port), asio::ip::tcp::resolver::numeric_service,
      [this, generation = generation_](error_code ec,
                                       const asio::ip::tcp::resolver::results_type& results) {
        if (generation != generation_) {
          return;
        }
        if (ec || results.empty()) {
          drop(spdlog::level::warn,
               fmt::format("resolve {}: {}", shared_.host, ec ? ec.message() : "no address"));
          return;
        }
        auto it = results.begin();
        std::advance(it, static_cast<std::ptrdiff_t>((attempts_ - 1) % results.size()));
        connect_to(it->endpoint());
      });
}

void Client::on_tcp_connected(std::uint32_t generation, error_code ec) {
  if (generation != generation_) {
    return;
  }
  if (ec) {
    drop(spdlog::level::info, fmt::format("connect: {}", ec.message()));
    return;
  }
  // Small packets (PUBACK, PINGREQ) must not wait for Nagle.
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  // Reads are made by hand once the socket is readable (on_readable), so they must not block.
  socket_.non_blocking(true, ec);
  if (ec) {
    drop(spdlog::level::warn, fmt::format("socket: {}", ec.message()));
    return;
  }
  if (shared_.tls != nullptr) {
    tls_start();  // on_link_up() once the handshake is done
    return;
  }
  on_link_up();
}

void Client::on_link_up() {
  state_ = State::handshaking;
  last_in_ = last_out_ = Clock::now();
  flush();
  arm_read();
}

void Client::arm_read() {
  // Waiting for readability rather than reading into a buffer of our own: an idle connection
  // then holds no read buffer at all (20,000 of them would hold megabytes).
  socket_.async_wait(
      asio::ip::tcp::socket::wait_read,
      [this, generation = generation_](error_code ec) { on_readable(generation, ec); });
}

void Client::on_readable(std::uint32_t generation, error_code ec) {
  if (generation != generation_) {
    return;
  }
  if (ec) {
    drop(spdlog::level::info, fmt::format("wait: {}", ec.message()));
    return;
  }
  if (tls_) {
    tls_read();
    return;
  }
  auto& buffer = shared_.read_buffer;
  // A few buffers per wake-up, then the other clients get their turn.
  for (int round = 0; round < 4; ++round) {
    std::size_t n = socket_.read_some(asio::buffer(buffer), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      break;
    }
    if (ec) {
      drop(spdlog::level::info, ec == asio::error::eof ? std::string("closed by the broker")
                                                       : fmt::format("read: {}", ec.message()));
      return;
    }
    if (!consume(std::string_view(buffer.data(), n))) {
      return;
    }
    if (n < buffer.size()) {
      break;
    }
  }
  arm_read();
}

bool Client::consume(std::string_view data) {
  const bool buffered = !pending_.empty();
  if (buffered) {
    pending_.append(data);
    data = pending_;
  }
  const auto generation = generation_;
  std::size_t used = 0;
  for (;;) {
    auto decoded = mqtt::decode_packet(data.substr(used), shared_.max_packet_bytes);
    if (!decoded) {
      ++shared_.counters.protocol_errors;
      drop(spdlog::level::warn, fmt::format("malformed packet: {}", decoded.error().message));
      return false;
    }
    if (!*decoded) {
      break;
    }
    used += (*decoded)->size;
    last_in_ = Clock::now();
    handle((*decoded)->packet);
    if (generation != generation_) {
      return false;  // handle() ended the link; `data` may point into a reset buffer
    }
  }
  if (buffered) {
    pending_.erase(0, used);
  } else {
    pending_.assign(data.substr(used));
  }
  if (pending_.empty() && pending_.capacity() > 1024) {
    std::string().swap(pending_);
  }
  return true;
}

void Client::handle(const mqtt::Packet& packet) {
  if (reconnect_now_) {
    return;  // our DISCONNECT is on its way: the rest of this link no longer matters
  }
  if (state_ == State::handshaking && !std::holds_alternative<mqtt::Connack>(packet)) {
    ++shared_.counters.protocol_errors;
    drop(spdlog::level::warn, "packet before CONNACK");
    return;
  }
  if (const auto* connack = std::get_if<mqtt::Connack>(&packet)) {
    on_connack(*connack);
  } else if (const auto* puback = std::get_if<mqtt::Puback>(&packet)) {
    auto it = std::find(in_flight_.begin(), in_flight_.end(), puback->packet_id);
    if (it != in_flight_.end()) {
      *it = in_flight_.back();
      in_flight_.pop_back();
      ++shared_.counters.puback_received;
      events_.on_published(puback->packet_id);
    }
  } else if (const auto* suback = std::get_if<mqtt::Suback>(&packet)) {
    on_suback(*suback);
  } else if (const auto* publish = std::get_if<mqtt::Publish>(&packet)) {
    if (publish->qos == 1 && state_ == State::connected) {  // after a DISCONNECT: nothing
      mqtt::append_puback(out_, publish->packet_id);
      last_out_ = Clock::now();
      flush();
    }
    events_.on_message(*publish);
  } else if (std::holds_alternative<mqtt::Pingresp>(packet)) {
    ping_outstanding_ = false;
  }
}

void Client::on_connack(const mqtt::Connack& connack) {
  if (state_ != State::handshaking) {
    ++shared_.counters.protocol_errors;
    drop(spdlog::level::warn, "second CONNACK");
    return;
  }
  if (connack.return_code != 0) {
    ++shared_.counters.connect_refused;
    drop(spdlog::level::warn, fmt::format("connect refused code={} reason={}", connack.return_code,
                                          log::quoted(mqtt::connack_reason(connack.return_code))));
    return;
  }
  state_ = State::connected;
  backoff_ = shared_.min_backoff;
  shared_.log->log(shared_.link_log_level, "mqtt.connected host={} port={} tls={} client={}",
                   shared_.host, shared_.port, shared_.tls != nullptr, client_id_);
  ++shared_.counters.connected;
  ++shared_.counters.connections;
  if (!subscription_.empty()) {
    subscribe_id_ = next_packet_id();
    if (auto r = mqtt::append_subscribe(out_, subscribe_id_, subscription_, 1); !r) {
      shared_.log->error("mqtt.subscribe_unencodable client={} error={}", client_id_,
                         log::quoted(r.error().message));
    }
    last_out_ = Clock::now();
    flush();
  }
  check_keepalive();  // from now on the timer keeps the link alive
  events_.on_connected();
}

void Client::on_suback(const mqtt::Suback& suback) {
  if (suback.packet_id != subscribe_id_) {
    return;  // not ours to check (none other is sent)
  }
  subscribe_id_ = 0;
  if (std::find(suback.return_codes.begin(), suback.return_codes.end(), 0x80) !=
      suback.return_codes.end()) {
    ++shared_.counters.subscribe_failed;
    shared_.log->warn("mqtt.subscribe_refused client={} topic={}", client_id_,
                      log::quoted(subscription_));
  }
}

Result<std::uint16_t> Client::publish(std::string_view topic, std::string_view payload, int qos,
                                      bool retain) {
  if (state_ != State::connected) {
    return fail(Errc::unavailable, "not connected");
  }
  if (qos > 0 && in_flight_.size() >= shared_.max_in_flight) {
    return fail(Errc::unavailable, "in-flight window full");
  }
  if (out_.size() + writing_.size() >= shared_.max_queued_bytes) {
    return fail(Errc::unavailable, "write queue full");
  }
  std::uint16_t id = qos > 0 ? next_packet_id() : 0;
  if (auto r = mqtt::append_publish(out_, topic, payload, qos, retain, id); !r) {
    return tl::unexpected(std::move(r.error()));
  }
  if (qos > 0) {
    in_flight_.push_back(id);
  }
  last_out_ = Clock::now();
  flush();
  return id;
}

std::uint16_t Client::next_packet_id() {
  // The ids in use are at most max_in_flight + 1 of 65535: a few steps find a free one.
  for (;;) {
    if (++packet_id_ == 0) {
      packet_id_ = 1;
    }
    if (packet_id_ != subscribe_id_ &&
        std::find(in_flight_.begin(), in_flight_.end(), packet_id_) == in_flight_.end()) {
      return packet_id_;
    }
  }
}

void Client::flush() {
  if (writing_now_ || out_.empty() || state_ == State::connecting) {
    return;
  }
  writing_now_ = true;
  writing_.swap(out_);
  if (tls_) {
    // Written from the loop rather than inside publish() or stop(): a failure then reaches the
    // owner as an async_write's does, never inside its own call.
    tls_written_ = 0;
    asio::post(socket_.get_executor(), [this, generation = generation_] {
      if (generation == generation_) {
        tls_write();
      }
    });
    return;
  }
  asio::async_write(socket_, asio::buffer(writing_),
                    [this, generation = generation_](error_code ec, std::size_t) {
                      if (generation == generation_) {
                        on_written(ec);
                      }
                    });
}

void Client::on_written(error_code ec) {
  writing_now_ = false;
  if (ec) {
    drop(spdlog::level::info, fmt::format("write: {}", ec.message()));
    return;
  }
  writing_.clear();
  if (out_.empty()) {
    std::string().swap(writing_);  // idle links hold no write buffer
    if (state_ == State::stopping) {
      finish_stop();
    } else if (reconnect_now_) {
      drop(spdlog::level::debug, "reconnecting with a new identity");
    }
    return;
  }
  flush();
}

void Client::drop(spdlog::level::level_enum level, std::string_view reason) {
  const bool was_connected = state_ == State::connected;
  const bool stopping = state_ == State::stopping;
  ++generation_;
  tls_.reset();
  error_code ignored;
  socket_.close(ignored);  // pending operations complete with operation_aborted
  timer_.cancel();
  writing_now_ = false;
  std::string().swap(out_);
  std::string().swap(writing_);
  std::vector<std::uint16_t>().swap(in_flight_);
  if (resolver_) {
    resolver_->cancel();
  }
  if (stopping) {
    finish_stop();
    return;
  }
  shared_.log->log(level, "mqtt.link_lost client={} host={} port={} reason={}", client_id_,
                   shared_.host, shared_.port, log::quoted(reason));
  state_ = State::waiting;  // publish() from on_disconnected() must find the link down
  if (was_connected) {
    --shared_.counters.connected;
    events_.on_disconnected();
  }
  if (std::exchange(reconnect_now_, false)) {
    backoff_ = shared_.min_backoff;
    attempt();
    return;
  }
  state_ = State::waiting;
  std::uniform_int_distribution<long> jitter(backoff_.count() / 2, backoff_.count());
  arm_timer(Clock::now() + std::chrono::milliseconds(jitter(rng_)));
  backoff_ = std::min(backoff_ * 2, shared_.max_backoff);
}

void Client::reconnect_with(const tls::Identity* identity) {
  identity_ = identity;
  if (state_ == State::idle || state_ == State::stopping || state_ == State::stopped) {
    return;
  }
  reconnect_now_ = true;
  if (state_ == State::connected) {
    // DISCONNECT behind what is queued; on_written() closes the link once it is out.
    mqtt::append_disconnect(out_);
    state_ = State::handshaking;  // publish() refuses from now on
    --shared_.counters.connected;
    events_.on_disconnected();
    flush();
    return;
  }
  drop(spdlog::level::debug, "reconnecting with a new identity");
}

void Client::stop(std::function<void()> done) {
  on_stopped_ = std::move(done);
  if (state_ == State::connected) {
    --shared_.counters.connected;
    state_ = State::stopping;
    mqtt::append_disconnect(out_);
    arm_timer(Clock::now() + kStopTimeout);
    flush();
    return;
  }
  if (state_ == State::stopping || state_ == State::stopped) {
    return;
  }
  state_ = State::stopping;
  finish_stop();
}

void Client::finish_stop() {
  state_ = State::stopped;
  ++generation_;
  if (resolver_) {
    resolver_->cancel();
  }
  tls_.close();
  error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  timer_.cancel();
  std::string().swap(out_);
  std::string().swap(writing_);
  std::string().swap(pending_);
  if (on_stopped_) {
    asio::post(socket_.get_executor(), std::move(on_stopped_));
    on_stopped_ = nullptr;
  }
}

}  // namespace hecs::mqtt
