#include "common/net/mqtt.h"

#include <atomic>
#include <cstring>
#include <mutex>
#include <random>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <fmt/format.h>
#include <mosquitto.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"

namespace hecs::net {
namespace asio = boost::asio;

Result<MqttUrl> parse_mqtt_url(std::string_view url) {
  std::string_view rest = url;
  if (rest.starts_with("mqtt://")) {
    rest.remove_prefix(7);
  } else if (rest.find("://") != std::string_view::npos) {
    return fail(Errc::invalid_input, fmt::format("unsupported MQTT URL scheme in {}", url));
  }
  if (!rest.empty() && rest.back() == '/') {
    rest.remove_suffix(1);
  }
  MqttUrl out;
  auto colon = rest.rfind(':');
  if (colon == std::string_view::npos) {
    out.host = std::string(rest);
  } else {
    out.host = std::string(rest.substr(0, colon));
    auto port_text = rest.substr(colon + 1);
    unsigned port = 0;
    if (port_text.empty() || port_text.size() > 5) {
      return fail(Errc::invalid_input, fmt::format("bad port in MQTT URL {}", url));
    }
    for (char c : port_text) {
      if (c < '0' || c > '9') {
        return fail(Errc::invalid_input, fmt::format("bad port in MQTT URL {}", url));
      }
      port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port == 0 || port > 65535) {
      return fail(Errc::invalid_input, fmt::format("bad port in MQTT URL {}", url));
    }
    out.port = static_cast<std::uint16_t>(port);
  }
  if (out.host.empty() || out.host.find_first_of("/ @?#") != std::string::npos) {
    return fail(Errc::invalid_input, fmt::format("bad host in MQTT URL {}", url));
  }
  return out;
}

namespace {
void lib_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}
}  // namespace

// All state lives here and is touched only on `strand` (except the atomics and libmosquitto's
// own thread-safe publish).
struct MqttClient::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, MqttOptions opts, MqttUrl u)
      : strand(asio::make_strand(io)),
        sd(strand),
        misc_timer(strand),
        retry_timer(strand),
        options(std::move(opts)),
        url(std::move(u)),
        rng(std::random_device{}()),
        log(log::get("net.mqtt")) {}

  ~Impl() {
    if (mosq != nullptr) {
      mosquitto_destroy(mosq);
    }
  }

  asio::strand<asio::io_context::executor_type> strand;
  asio::posix::stream_descriptor sd;  // libmosquitto's socket or a dup() of it (see options)
  asio::steady_timer misc_timer;
  asio::steady_timer retry_timer;
  MqttOptions options;
  MqttUrl url;
  mosquitto* mosq = nullptr;
  std::mt19937_64 rng;
  log::Logger log;

  MqttClient* owner = nullptr;
  std::atomic<bool> is_connected{false};
  bool stopping = false;
  bool socket_attached = false;
  bool write_armed = false;
  std::uint64_t generation = 0;  // bumps on every socket change: stale handlers see a mismatch
  std::chrono::milliseconds backoff{0};
  std::vector<std::pair<std::string, int>> subscriptions;
  std::function<void()> stop_done;

  void attach_socket() {
    int fd = mosquitto_socket(mosq);
    if (fd < 0) {
      return;
    }
    ++generation;
    // One registration serves both the read and the write waits (Asio keeps them apart).
    int ours = options.single_threaded_loop ? fd : ::dup(fd);
    boost::system::error_code ec;
    if (ours >= 0) {
      sd.assign(ours, ec);
    }
    if (ours < 0 || ec) {
      log->error("mqtt.attach_failed error={}",
                 log::quoted(ec ? ec.message() : std::strerror(errno)));
      if (ours >= 0 && ours != fd && !sd.is_open()) {
        ::close(ours);
      }
      socket_attached = true;  // so that link_lost closes what was opened
      link_lost(MOSQ_ERR_ERRNO);
      return;
    }
    socket_attached = true;
    write_armed = false;
    arm_read();
    arm_write();
    arm_misc();
  }

  void detach_socket() {
    if (!socket_attached) {
      return;
    }
    ++generation;
    socket_attached = false;
    write_armed = false;
    if (options.single_threaded_loop) {
      sd.release();  // libmosquitto's own fd: it closes it
    } else {
      boost::system::error_code ec;
      sd.close(ec);  // our dup
    }
  }

  void arm_read() {
    auto self = shared_from_this();
    auto gen = generation;
    sd.async_wait(asio::posix::stream_descriptor::wait_read,
                  asio::bind_executor(strand, [self, gen](boost::system::error_code ec) {
                    if (ec || gen != self->generation || self->mosq == nullptr) {
                      return;
                    }
                    int rc = mosquitto_loop_read(self->mosq, 1);
                    if (rc != MOSQ_ERR_SUCCESS) {
                      self->link_lost(rc);
                      return;
                    }
                    if (gen == self->generation) {
                      self->arm_read();
                      self->arm_write();
                    }
                  }));
  }

  void arm_write() {
    if (!socket_attached || write_armed || !mosquitto_want_write(mosq)) {
      return;
    }
    write_armed = true;
    auto self = shared_from_this();
    auto gen = generation;
    sd.async_wait(asio::posix::stream_descriptor::wait_write,
                  asio::bind_executor(strand, [self, gen](boost::system::error_code ec) {
                    if (ec || gen != self->generation || self->mosq == nullptr) {
                      return;
                    }
                    self->write_armed = false;
                    int rc = mosquitto_loop_write(self->mosq, 1);
                    if (rc != MOSQ_ERR_SUCCESS) {
                      self->link_lost(rc);
                      return;
                    }
                    self->arm_write();
                  }));
  }

  void arm_misc() {
    auto self = shared_from_this();
    auto gen = generation;
    misc_timer.expires_after(std::chrono::milliseconds(500));
    misc_timer.async_wait(asio::bind_executor(strand, [self, gen](boost::system::error_code ec) {
      if (ec || gen != self->generation || self->mosq == nullptr) {
        return;
      }
      int rc = mosquitto_loop_misc(self->mosq);  // keepalive pings, retries
      if (rc != MOSQ_ERR_SUCCESS) {
        self->link_lost(rc);
        return;
      }
      self->arm_write();
      self->arm_misc();
    }));
  }

  void link_lost(int rc) {
    bool was = is_connected.exchange(false);
    detach_socket();
    if (was && owner != nullptr && owner->on_disconnect) {
      owner->on_disconnect(rc);
    }
    if (stopping) {
      finish_stop();
      return;
    }
    log->info("mqtt.link_lost host={} port={} reason={}", url.host, url.port,
              log::quoted(mosquitto_strerror(rc)));
    schedule_retry();
  }

  void schedule_retry() {
    backoff =
        backoff.count() == 0 ? options.min_backoff : std::min(backoff * 2, options.max_backoff);
    // Full jitter between half and the whole delay, so a fleet does not reconnect in lockstep.
    std::uniform_int_distribution<long> dist(backoff.count() / 2, backoff.count());
    auto delay = std::chrono::milliseconds(dist(rng));
    auto self = shared_from_this();
    retry_timer.expires_after(delay);
    retry_timer.async_wait(asio::bind_executor(strand, [self](boost::system::error_code ec) {
      if (ec || self->stopping) {
        return;
      }
      self->connect_once(true);
    }));
  }

  void connect_once(bool reconnect) {
    if (options.will) {
      if (auto will = options.will()) {
        mosquitto_will_set(mosq, will->topic.c_str(), static_cast<int>(will->payload.size()),
                           will->payload.data(), will->qos, will->retain);
      }
    }
    int rc = reconnect
                 ? mosquitto_reconnect_async(mosq)
                 : mosquitto_connect_async(mosq, url.host.c_str(), url.port, options.keepalive_s);
    if (rc != MOSQ_ERR_SUCCESS) {
      log->debug("mqtt.connect_failed host={} port={} reason={}", url.host, url.port,
                 log::quoted(rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc)));
      schedule_retry();
      return;
    }
    attach_socket();
  }

  void finish_stop() {
    detach_socket();
    misc_timer.cancel();
    retry_timer.cancel();
    if (stop_done) {
      auto done = std::move(stop_done);
      stop_done = nullptr;
      done();
    }
  }

  // libmosquitto callbacks, called from inside loop_read/loop_write/loop_misc on our strand.
  static void on_connect_cb(mosquitto*, void* obj, int rc) {
    auto* self = static_cast<Impl*>(obj);
    if (rc != 0) {
      self->log->warn("mqtt.connect_refused reason={}", log::quoted(mosquitto_connack_string(rc)));
      return;  // the broker closes the link; link_lost schedules the retry
    }
    self->backoff = std::chrono::milliseconds(0);
    self->is_connected = true;
    for (const auto& [pattern, qos] : self->subscriptions) {
      mosquitto_subscribe(self->mosq, nullptr, pattern.c_str(), qos);
    }
    self->log->info("mqtt.connected host={} port={}", self->url.host, self->url.port);
    if (self->owner != nullptr && self->owner->on_connect) {
      self->owner->on_connect();
    }
  }
  static void on_message_cb(mosquitto*, void* obj, const mosquitto_message* m) {
    auto* self = static_cast<Impl*>(obj);
    if (self->owner == nullptr || !self->owner->on_message) {
      return;
    }
    MqttMessage msg;
    msg.topic = m->topic != nullptr ? m->topic : "";
    if (m->payload != nullptr && m->payloadlen > 0) {
      msg.payload.assign(static_cast<const char*>(m->payload),
                         static_cast<std::size_t>(m->payloadlen));
    }
    msg.qos = m->qos;
    msg.retain = m->retain;
    self->owner->on_message(msg);
  }
  static void on_publish_cb(mosquitto*, void* obj, int mid) {
    auto* self = static_cast<Impl*>(obj);
    if (self->owner != nullptr && self->owner->on_published) {
      self->owner->on_published(mid);
    }
  }
};

MqttClient::MqttClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { impl_->owner = this; }

MqttClient::~MqttClient() { impl_->owner = nullptr; }

Result<std::unique_ptr<MqttClient>> MqttClient::create(asio::io_context& io, MqttOptions options) {
  lib_init_once();
  auto url = parse_mqtt_url(options.url);
  if (!url) {
    return fail(url.error(), "mqtt");
  }
  if (options.client_id.empty() || options.client_id.size() > 128) {
    return fail(Errc::invalid_input, "mqtt: client id must have 1 to 128 characters");
  }
  auto impl = std::make_unique<Impl>(io, std::move(options), std::move(*url));
  impl->mosq =
      mosquitto_new(impl->options.client_id.c_str(), impl->options.clean_session, impl.get());
  if (impl->mosq == nullptr) {
    return fail(Errc::internal, "mqtt: mosquitto_new failed");
  }
  mosquitto_int_option(impl->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  // publish() may be called from any thread (the control plane acks from its workers). In
  // threaded mode libmosquitto only queues the packet under its own locks; the write happens on
  // our strand (arm_write), never on the caller's thread.
  mosquitto_threaded_set(impl->mosq, true);
  mosquitto_connect_callback_set(impl->mosq, &Impl::on_connect_cb);
  mosquitto_message_callback_set(impl->mosq, &Impl::on_message_cb);
  mosquitto_publish_callback_set(impl->mosq, &Impl::on_publish_cb);
  // At most this many QoS 1 messages await a PUBACK; more wait in libmosquitto's queue, which
  // callers bound themselves (the agent's in-flight window, the control plane's acks).
  mosquitto_max_inflight_messages_set(impl->mosq, 1000);
  return std::unique_ptr<MqttClient>(new MqttClient(std::move(impl)));
}

void MqttClient::start() {
  auto impl = impl_;
  asio::post(impl->strand, [impl] {
    impl->stopping = false;
    impl->connect_once(false);
  });
}

void MqttClient::stop(std::function<void()> done) {
  auto impl = impl_;
  asio::post(impl->strand, [impl, done = std::move(done)]() mutable {
    impl->stopping = true;
    impl->stop_done = std::move(done);
    if (impl->socket_attached && impl->is_connected) {
      mosquitto_disconnect(impl->mosq);
      mosquitto_loop_write(impl->mosq, 1);  // flush DISCONNECT now
    }
    impl->is_connected = false;
    impl->finish_stop();
  });
}

bool MqttClient::connected() const { return impl_->is_connected; }

Result<int> MqttClient::publish(const std::string& topic, const std::string& payload, int qos,
                                bool retain) {
  if (!impl_->is_connected) {
    return fail(Errc::unavailable, "mqtt: not connected");
  }
  int mid = 0;
  int rc = mosquitto_publish(impl_->mosq, &mid, topic.c_str(), static_cast<int>(payload.size()),
                             payload.data(), qos, retain);
  if (rc != MOSQ_ERR_SUCCESS) {
    return fail(rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST ? Errc::unavailable
                                                                   : Errc::invalid_input,
                fmt::format("mqtt publish: {}", mosquitto_strerror(rc)));
  }
  auto impl = impl_;
  asio::post(impl->strand, [impl] { impl->arm_write(); });
  return mid;
}

void MqttClient::subscribe(std::string pattern, int qos) {
  auto impl = impl_;
  asio::post(impl->strand, [impl, pattern = std::move(pattern), qos] {
    impl->subscriptions.emplace_back(pattern, qos);
    if (impl->is_connected) {
      mosquitto_subscribe(impl->mosq, nullptr, pattern.c_str(), qos);
      impl->arm_write();
    }
  });
}

}  // namespace hecs::net
