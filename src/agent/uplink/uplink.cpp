#include "agent/uplink/uplink.h"

#include <algorithm>
#include <map>
#include <random>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/mqtt/client.h"
#include "common/net/mqtt.h"
#include "proto/proto.h"

namespace hecs::agent::uplink {
namespace asio = boost::asio;

namespace {

// What one down message may take: the control plane's signed commands are a few KiB (an ack of
// 1000 ids is about 40 KiB); anything larger from the broker ends the connection (S23).
constexpr std::size_t kMaxDownPacketBytes = std::size_t{256} * 1024;
// Bytes our connection may queue for writing: the in-flight window of outbox entries, each at
// most a telemetry sample or a result chunk.
constexpr std::size_t kMaxQueuedBytes = std::size_t{4} * 1024 * 1024;

}  // namespace

struct Uplink::Impl : std::enable_shared_from_this<Impl>, mqtt::ClientEvents {
  Impl(asio::io_context& io_, const Identity& identity_, SessionCounter& sessions_, Outbox& outbox_,
       CommandGate& gate_, UplinkOptions options_, std::function<std::string(std::uint64_t)> hello_)
      : io(io_),
        identity(identity_),
        sessions(sessions_),
        outbox(outbox_),
        gate(gate_),
        options(options_),
        hello(std::move(hello_)),
        log(log::get("agent.uplink")) {}

  asio::io_context& io;
  const Identity& identity;
  SessionCounter& sessions;
  Outbox& outbox;
  CommandGate& gate;
  UplinkOptions options;
  std::function<bool(const proto::Command&)> command_handler;
  std::function<std::string(std::uint64_t)> hello;
  log::Logger log;
  mqtt::ClientCounters counters;
  std::unique_ptr<mqtt::ClientShared> shared;
  std::unique_ptr<mqtt::tls::Context> tls_context;  // mqtts:// only
  std::unique_ptr<mqtt::tls::Identity> tls_identity;
  std::unique_ptr<mqtt::Client> mqtt;
  // Message ids sent and not yet acknowledged, with when they were sent.
  std::map<std::string, std::chrono::steady_clock::time_point> in_flight;
  std::int64_t last_sent_seq = 0;  // highest seq handed to the broker since the last rewind
  std::uint64_t published = 0;
  std::unique_ptr<asio::steady_timer> resend_timer;
  SystemClock clock;

  // Starts again from the oldest unacknowledged entry.
  void rewind() {
    in_flight.clear();
    last_sent_seq = 0;
  }

  std::string status_payload(proto::State state, std::uint64_t session) {
    auto env = proto::make_envelope("status", clock.now_ms(),
                                    proto::to_json(proto::Status{state, session}));
    return proto::serialize(env);
  }

  // Each connection attempt gets a new session number, and the will carries it (S28).
  std::optional<mqtt::Will> will() override {
    if (auto session = sessions.next(); !session) {
      log->error("uplink.session_store_failed error={}", log::quoted(session.error().message));
    }
    return mqtt::Will{proto::up_topic(identity.device_id, proto::UpKind::status),
                      status_payload(proto::State::offline, sessions.current()), 1, true};
  }

  void on_disconnected() override {
    log->warn("uplink.offline device={} queued={}", identity.device_id, outbox.size().value_or(0));
  }

  // The CA and our certificate for mqtts://: both files are read now, so a renewal that wrote
  // bad files is refused while the link stays on the old ones.
  Result<void> load_tls(const net::MqttTls& files) {
    auto loaded =
        mqtt::tls::load_files(files.ca_file, files.cert_file, files.key_file, identity.device_id);
    if (!loaded) {
      return tl::unexpected(std::move(loaded.error()));
    }
    tls_context = std::make_unique<mqtt::tls::Context>(std::move(loaded->context));
    shared->tls = tls_context.get();
    auto made = std::make_unique<mqtt::tls::Identity>(std::move(loaded->identity));
    // Sessions made with the old identity hold their own references to its certificate and key.
    if (mqtt) {
      mqtt->reconnect_with(made.get());
    }
    tls_identity = std::move(made);
    return {};
  }

  void on_connected() override {
    rewind();
    auto session = sessions.current();
    // hello and status are retained state, not history: they go straight out, not through the
    // outbox, and are sent again on every connection.
    auto h = mqtt->publish(proto::up_topic(identity.device_id, proto::UpKind::hello),
                           hello(session), 1, true);
    auto s = mqtt->publish(proto::up_topic(identity.device_id, proto::UpKind::status),
                           status_payload(proto::State::online, session), 1, true);
    if (!h || !s) {
      log->warn("uplink.hello_failed error={}",
                log::quoted(!h ? h.error().message : s.error().message));
    }
    log->info("uplink.online device={} session={}", identity.device_id, session);
    pump();
  }

  // Sends outbox entries in order, keeping at most max_in_flight unacknowledged.
  void pump() {
    if (!mqtt || !mqtt->connected() || in_flight.size() >= options.max_in_flight) {
      return;
    }
    auto entries = outbox.peek(last_sent_seq, options.max_in_flight - in_flight.size());
    if (!entries) {
      log->error("outbox.read_failed error={}", log::quoted(entries.error().message));
      return;
    }
    for (auto& e : *entries) {
      auto mid = mqtt->publish(e.topic, e.payload, 1, false);
      if (!mid && mid.error().code == Errc::invalid_input) {
        // The broker could never take it (too large, bad topic): drop it, or it would block
        // every entry behind it for ever.
        log->error("outbox.dropped_unsendable seq={} error={}", e.seq,
                   log::quoted(mid.error().message));
        (void)outbox.remove(e.seq);
        last_sent_seq = e.seq;
        continue;
      }
      if (!mid) {
        return;  // link went down: on_connect starts again from the oldest entry
      }
      in_flight.insert_or_assign(e.msg_id, std::chrono::steady_clock::now());
      last_sent_seq = e.seq;
      ++published;
    }
  }

  void on_message(const mqtt::Publish& message) override {
    if (message.topic != proto::down_cmd_topic(identity.device_id)) {
      return;
    }
    auto command = gate.accept(message.payload, clock.now_ms() / 1000);
    if (!command) {
      return;  // counted and logged by the gate
    }
    if (command->type == "ack") {
      on_ack(*command);
    } else if (command->type == "keys") {
      // Applied by the gate before it let the command through.
    } else if (!command_handler || !command_handler(*command)) {
      log->warn("command.unsupported type={} seq={}", log::quoted(command->type), command->seq);
    }
  }

  void on_ack(const proto::Command& command) {
    auto ack = proto::parse_ack(command.body);
    if (!ack) {
      log->warn("command.rejected type=ack reason={}", log::quoted(ack.error().message));
      return;
    }
    auto removed = outbox.acknowledge(ack->ids);
    if (!removed) {
      log->error("outbox.ack_failed error={}", log::quoted(removed.error().message));
      return;
    }
    for (const auto& id : ack->ids) {
      in_flight.erase(id);
    }
    log->debug("uplink.acked ids={} removed={}", ack->ids.size(), *removed);
    pump();
  }

  // Acks can be lost (the control plane died after its commit, or before it), and so can
  // messages (a broker session lost): an entry unacknowledged for resend_after goes out again,
  // with everything after it, even while newer entries are acknowledged.
  void arm_resend() {
    // Half the timeout, in milliseconds: whole seconds would make a 0 s timer of a 1 s timeout.
    resend_timer->expires_after(
        std::chrono::duration_cast<std::chrono::milliseconds>(options.resend_after) / 2);
    resend_timer->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self) {
        return;
      }
      const auto now = std::chrono::steady_clock::now();
      const bool overdue = std::any_of(
          self->in_flight.begin(), self->in_flight.end(),
          [&](const auto& entry) { return now - entry.second >= self->options.resend_after; });
      if (overdue) {
        self->log->info("uplink.resend unacknowledged={}", self->in_flight.size());
        self->rewind();
        self->pump();
      }
      self->arm_resend();
    });
  }
};

Uplink::Uplink(asio::io_context& io, const Identity& identity, SessionCounter& sessions,
               Outbox& outbox, CommandGate& gate, UplinkOptions options,
               std::function<std::string(std::uint64_t)> hello_envelope)
    : impl_(std::make_shared<Impl>(io, identity, sessions, outbox, gate, options,
                                   std::move(hello_envelope))) {}

Uplink::~Uplink() = default;

void Uplink::set_command_handler(std::function<bool(const proto::Command&)> handler) {
  impl_->command_handler = std::move(handler);
}

Result<void> Uplink::start(Transport transport) {
  auto impl = impl_;
  auto url = net::parse_mqtt_url(transport.mqtt_url);
  if (!url) {
    return tl::unexpected(std::move(url.error()));
  }
  if (url->tls != transport.tls.has_value()) {
    return fail(Errc::invalid_input, url->tls ? "mqtt: mqtts:// needs a tls ca_file"
                                              : "mqtt: tls options need an mqtts:// url");
  }
  impl->shared = std::make_unique<mqtt::ClientShared>(mqtt::ClientShared{{}, impl->counters});
  impl->shared->host = url->host;
  impl->shared->port = url->port;
  impl->shared->max_packet_bytes = kMaxDownPacketBytes;
  // hello, status and the offline status of a stop go out beside the outbox's window.
  impl->shared->max_in_flight = impl->options.max_in_flight + 4;
  impl->shared->max_queued_bytes = kMaxQueuedBytes;
  impl->shared->read_buffer.resize(std::size_t{16} * 1024);  // one TLS record
  if (transport.tls) {
    if (auto loaded = impl->load_tls(*transport.tls); !loaded) {
      return loaded;
    }
  }
  const auto keepalive =
      static_cast<std::uint16_t>(std::clamp(impl->options.keepalive_s, 1, 65535));
  impl->mqtt = std::make_unique<mqtt::Client>(impl->io.get_executor(), *impl->shared, *impl,
                                              impl->identity.device_id, keepalive,
                                              proto::down_cmd_topic(impl->identity.device_id),
                                              std::random_device{}(), impl->tls_identity.get());
  impl->resend_timer = std::make_unique<asio::steady_timer>(impl->io);
  impl->arm_resend();
  impl->mqtt->start();
  return {};
}

void Uplink::stop(std::function<void()> done) {
  auto impl = impl_;
  if (!impl->mqtt) {
    done();
    return;
  }
  // A clean stop says "offline" itself (retained), since the broker sends no will then.
  if (impl->mqtt->connected()) {
    (void)impl->mqtt->publish(proto::up_topic(impl->identity.device_id, proto::UpKind::status),
                              impl->status_payload(proto::State::offline, impl->sessions.current()),
                              1, true);
  }
  if (impl->resend_timer) {
    impl->resend_timer->cancel();
  }
  impl->mqtt->stop(std::move(done));
}

Result<void> Uplink::send(const std::string& topic, const std::string& payload,
                          const std::string& msg_id) {
  auto seq = impl_->outbox.append(topic, payload, msg_id);
  if (!seq) {
    return tl::unexpected(seq.error());
  }
  impl_->pump();
  return {};
}

void Uplink::flush() { impl_->pump(); }

Result<void> Uplink::send_hello() {
  if (!impl_->mqtt || !impl_->mqtt->connected()) {
    return fail(Errc::unavailable, "not connected");
  }
  auto session = impl_->sessions.current();
  auto mid = impl_->mqtt->publish(proto::up_topic(impl_->identity.device_id, proto::UpKind::hello),
                                  impl_->hello(session), 1, true);
  if (!mid) {
    return tl::unexpected(mid.error());
  }
  return {};
}

Result<void> Uplink::publish_now(const std::string& topic, const std::string& payload) {
  if (!impl_->mqtt || !impl_->mqtt->connected()) {
    return fail(Errc::unavailable, "not connected");
  }
  auto mid = impl_->mqtt->publish(topic, payload, 1, false);
  if (!mid) {
    return tl::unexpected(mid.error());
  }
  return {};
}

Result<void> Uplink::reconnect_with_tls(const net::MqttTls& tls) {
  if (!impl_->mqtt) {
    return fail(Errc::unavailable, "not started");
  }
  if (!impl_->tls_context) {
    return fail(Errc::invalid_input, "mqtt: reconnect_with_tls on a plain mqtt:// link");
  }
  if (auto loaded = impl_->load_tls(tls); !loaded) {
    impl_->log->error("mqtt.renew_failed reason={}", log::quoted(loaded.error().message));
    return loaded;
  }
  impl_->log->info("mqtt.tls_renewed host={} port={}", impl_->shared->host, impl_->shared->port);
  return {};
}

bool Uplink::connected() const { return impl_->mqtt && impl_->mqtt->connected(); }

std::uint64_t Uplink::published() const { return impl_->published; }

}  // namespace hecs::agent::uplink
