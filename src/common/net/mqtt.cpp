#include "common/net/mqtt.h"

#include <atomic>
#include <cstring>
#include <mutex>
#include <random>
#include <system_error>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <fmt/format.h>
#include <mosquitto.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"

namespace hecs::net {
namespace asio = boost::asio;

namespace {
void lib_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

Result<void> check_tls_files(const MqttTls& tls) {
  const std::pair<const char*, const std::string*> files[] = {
      {"ca_file", &tls.ca_file}, {"cert_file", &tls.cert_file}, {"key_file", &tls.key_file}};
  if (tls.ca_file.empty()) {
    return fail(Errc::invalid_input, "mqtt: mqtts:// needs a tls ca_file");
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return fail(Errc::invalid_input, "mqtt: tls cert_file and key_file go together");
  }
  for (const auto& [name, path] : files) {
    if (!path->empty() && ::access(path->c_str(), R_OK) != 0) {
      return fail(Errc::invalid_input, fmt::format("mqtt: tls {} {} is not readable: {}", name,
                                                   *path, std::system_category().message(errno)));
    }
  }
  return {};
}
}  // namespace

// All state lives here and is touched only on `strand`, except the atomics, `mosq` under
// `handle_mutex` (publish() from other threads) and libmosquitto's own thread-safe publish.
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
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  Impl(Impl&&) = delete;
  Impl& operator=(Impl&&) = delete;

  asio::strand<asio::io_context::executor_type> strand;
  asio::posix::stream_descriptor sd;  // libmosquitto's socket or a dup() of it (see options)
  asio::steady_timer misc_timer;
  asio::steady_timer retry_timer;
  MqttOptions options;
  const MqttUrl url;
  mosquitto* mosq = nullptr;  // replaced only on the strand, under handle_mutex
  std::mutex handle_mutex;
  bool handle_has_host = false;  // connect_async was called on this handle
  std::mt19937_64 rng;
  log::Logger log;

  MqttClient* owner = nullptr;
  std::atomic<bool> is_connected{false};
  bool started = false;
  bool stopping = false;
  bool socket_attached = false;
  bool write_armed = false;
  std::uint64_t generation = 0;  // bumps on every socket change: stale handlers see a mismatch
  std::chrono::milliseconds backoff{0};
  std::vector<std::pair<std::string, int>> subscriptions;
  std::function<void()> stop_done;
  std::mutex error_mutex;
  std::string library_error;  // libmosquitto's last error line (OpenSSL's reason with TLS)

  // A fresh libmosquitto handle with our options; the old one, if any, is destroyed.
  Result<void> make_handle() {
    mosquitto* m = mosquitto_new(options.client_id.c_str(), options.clean_session, this);
    if (m == nullptr) {
      return fail(Errc::internal, "mqtt: mosquitto_new failed");
    }
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    // publish() may be called from any thread (the control plane acks from its workers). In
    // threaded mode libmosquitto only queues the packet under its own locks; the write happens
    // on our strand (arm_write), never on the caller's thread.
    mosquitto_threaded_set(m, true);
    mosquitto_connect_callback_set(m, &Impl::on_connect_cb);
    mosquitto_message_callback_set(m, &Impl::on_message_cb);
    mosquitto_publish_callback_set(m, &Impl::on_publish_cb);
    mosquitto_log_callback_set(m, &Impl::on_log_cb);
    // At most this many QoS 1 messages await a PUBACK; more wait in libmosquitto's queue, which
    // callers bound themselves (the agent's in-flight window, the control plane's acks).
    mosquitto_max_inflight_messages_set(m, 1000);
    if (url.tls) {
      const MqttTls& t = *options.tls;
      auto opt = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
      // "tlsv1.2" is a floor in libmosquitto: TLS 1.3 is still negotiated when both ends
      // have it. tls_insecure false keeps the hostname check on.
      int rc = mosquitto_tls_set(m, t.ca_file.c_str(), nullptr, opt(t.cert_file), opt(t.key_file),
                                 nullptr);
      if (rc == MOSQ_ERR_SUCCESS) {
        rc = mosquitto_tls_opts_set(m, SSL_VERIFY_PEER, "tlsv1.2", nullptr);
      }
      if (rc == MOSQ_ERR_SUCCESS) {
        rc = mosquitto_tls_insecure_set(m, false);
      }
      if (rc != MOSQ_ERR_SUCCESS) {
        mosquitto_destroy(m);
        return fail(Errc::invalid_input, fmt::format("mqtt: tls: {}", mosquitto_strerror(rc)));
      }
    }
    std::lock_guard lock(handle_mutex);
    if (mosq != nullptr) {
      mosquitto_destroy(mosq);
    }
    mosq = m;
    handle_has_host = false;
    return {};
  }

  SSL* ssl() const { return static_cast<SSL*>(mosquitto_ssl_get(mosq)); }
  // The TLS handshake runs inside libmosquitto's loop_read (SSL_connect) until it finishes.
  bool handshaking() const {
    SSL* s = ssl();
    return s != nullptr && SSL_in_init(s) != 0;
  }
  bool wants_write() const {
    // During the handshake ask OpenSSL itself: libmosquitto's want_write flag stays set after
    // one SSL_ERROR_WANT_WRITE, which would make us spin on a writable socket.
    if (handshaking()) {
      return SSL_want_write(ssl()) != 0;
    }
    return mosquitto_want_write(mosq);
  }

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
                 log::quoted(ec ? ec.message() : std::system_category().message(errno)));
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
                    if (!ec) {
                      self->read_step(gen);
                    }
                  }));
  }

  void read_step(std::uint64_t gen) {
    if (gen != generation || mosq == nullptr) {
      return;
    }
    int rc = mosquitto_loop_read(mosq, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
      link_lost(rc);
      return;
    }
    if (gen != generation) {
      return;
    }
    arm_write();
    // OpenSSL may already hold the decrypted rest of a record: the socket will not become
    // readable for those bytes, so read again now (posted, so other handlers get a turn).
    // libmosquitto 2.0.11's loop_read drains them itself; this keeps us safe should a version
    // or an early return of its loop leave some.
    SSL* s = ssl();
    if (s != nullptr && !handshaking() && SSL_pending(s) > 0) {
      auto self = shared_from_this();
      asio::post(strand, [self, gen] { self->read_step(gen); });
      return;
    }
    arm_read();
  }

  void arm_write() {
    if (!socket_attached || write_armed || !wants_write()) {
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
                    // Mid-handshake, loop_read is what calls SSL_connect again.
                    int rc = self->handshaking() ? mosquitto_loop_read(self->mosq, 1)
                                                 : mosquitto_loop_write(self->mosq, 1);
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

  std::string take_library_error() {
    std::lock_guard lock(error_mutex);
    return std::exchange(library_error, {});
  }

  void link_lost(int rc) {
    int err = errno;
    bool was = is_connected.exchange(false);
    detach_socket();
    if (was && owner != nullptr && owner->on_disconnect) {
      owner->on_disconnect(rc);
    }
    if (stopping) {
      finish_stop();
      return;
    }
    auto library = take_library_error();
    auto reason =
        rc == MOSQ_ERR_ERRNO ? std::system_category().message(err) : mosquitto_strerror(rc);
    if (url.tls && (!was || rc == MOSQ_ERR_TLS)) {
      // Lost before CONNACK: the broker refused us at TLS level (revoked, expired or unknown
      // certificate; its alert may be lost when our CONNECT hits the closed socket first) or
      // its certificate did not verify. An operator must act; we keep trying with backoff.
      log->warn("mqtt.tls_refused host={} port={} reason={}", url.host, url.port,
                log::quoted(library.empty() ? "closed during tls setup: " + reason : library));
    } else {
      log->info("mqtt.link_lost host={} port={} reason={}", url.host, url.port,
                log::quoted(reason));
    }
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
      if (ec || self->stopping || self->socket_attached) {
        return;
      }
      self->connect_once();
    }));
  }

  void connect_once() {
    if (options.will) {
      if (auto will = options.will()) {
        mosquitto_will_set(mosq, will->topic.c_str(), static_cast<int>(will->payload.size()),
                           will->payload.data(), will->qos, will->retain);
      }
    }
    take_library_error();
    int rc = handle_has_host
                 ? mosquitto_reconnect_async(mosq)
                 : mosquitto_connect_async(mosq, url.host.c_str(), url.port, options.keepalive_s);
    int err = errno;
    handle_has_host = true;
    if (rc != MOSQ_ERR_SUCCESS) {
      // A library error here is TLS: unreadable files, or the broker's certificate did not
      // verify (SSL_connect can fail inside connect_async on a fast link).
      auto library = take_library_error();
      if (url.tls && !library.empty()) {
        log->warn("mqtt.tls_refused host={} port={} reason={}", url.host, url.port,
                  log::quoted(library));
      } else {
        log->debug("mqtt.connect_failed host={} port={} reason={}", url.host, url.port,
                   log::quoted(rc == MOSQ_ERR_ERRNO ? std::system_category().message(err)
                                                    : mosquitto_strerror(rc)));
      }
      schedule_retry();
      return;
    }
    if (SSL* s = ssl()) {
      SSL_set_ex_data(s, ssl_index(), this);
      SSL_set_info_callback(s, &Impl::on_ssl_info);
    }
    attach_socket();
  }

  // Certificate renewal (reconnect_with_tls): a new handle with the new files, then connect.
  void renew(MqttTls tls) {
    bool was = is_connected.exchange(false);
    if (socket_attached && was) {
      mosquitto_disconnect(mosq);
      mosquitto_loop_write(mosq, 1);  // flush DISCONNECT now
    }
    detach_socket();
    retry_timer.cancel();
    misc_timer.cancel();
    if (was && owner != nullptr && owner->on_disconnect) {
      owner->on_disconnect(0);
    }
    auto old = std::exchange(options.tls, std::move(tls));
    if (auto made = make_handle(); !made) {
      log->error("mqtt.renew_failed reason={}", log::quoted(made.error().message));
      options.tls = std::move(old);  // the old handle stays
    } else {
      log->info("mqtt.tls_renewed host={} port={}", url.host, url.port);
    }
    backoff = std::chrono::milliseconds(0);
    if (started && !stopping) {
      connect_once();
    }
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
    self->log->info("mqtt.connected host={} port={} tls={}", self->url.host, self->url.port,
                    self->url.tls);
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
  // Errors only: OpenSSL's reason for a refused handshake arrives here ("OpenSSL Error[0]:
  // ... alert certificate revoked"), and link_lost names it.
  static void on_log_cb(mosquitto*, void* obj, int level, const char* text) {
    if (level != MOSQ_LOG_ERR || text == nullptr) {
      return;
    }
    static_cast<Impl*>(obj)->note_error(text);
  }
  // With TLS 1.3 the broker judges our certificate after our side of the handshake is done:
  // its verdict comes as an alert on a later read, which libmosquitto does not log.
  static void on_ssl_info(const SSL* ssl, int where, int value) {
    if ((where & SSL_CB_READ_ALERT) != SSL_CB_READ_ALERT || (value & 0xff) == SSL_AD_CLOSE_NOTIFY) {
      return;
    }
    if (auto* self = static_cast<Impl*>(SSL_get_ex_data(ssl, ssl_index()))) {
      self->note_error(fmt::format("broker sent TLS alert: {}", SSL_alert_desc_string_long(value)));
    }
  }
  static int ssl_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
  }
  void note_error(const std::string& text) {
    std::lock_guard lock(error_mutex);
    if (library_error.empty()) {  // the first line names the cause
      library_error = text;
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
  if (url->tls) {
    if (!options.tls) {
      return fail(Errc::invalid_input, "mqtt: mqtts:// needs a tls ca_file");
    }
    if (auto ok = check_tls_files(*options.tls); !ok) {
      return tl::unexpected(ok.error());
    }
  } else if (options.tls) {
    return fail(Errc::invalid_input, "mqtt: tls options need an mqtts:// url");
  }
  auto impl = std::make_unique<Impl>(io, std::move(options), std::move(*url));
  if (auto made = impl->make_handle(); !made) {
    return tl::unexpected(made.error());
  }
  return std::unique_ptr<MqttClient>(new MqttClient(std::move(impl)));
}

void MqttClient::start() {
  auto impl = impl_;
  asio::post(impl->strand, [impl] {
    impl->started = true;
    impl->stopping = false;
    impl->connect_once();
  });
}

void MqttClient::stop(std::function<void()> done) {
  auto impl = impl_;
  asio::post(impl->strand, [impl, done = std::move(done)]() mutable {
    impl->stopping = true;
    impl->started = false;
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
  int rc = MOSQ_ERR_SUCCESS;
  {
    std::lock_guard lock(impl_->handle_mutex);
    rc = mosquitto_publish(impl_->mosq, &mid, topic.c_str(), static_cast<int>(payload.size()),
                           payload.data(), qos, retain);
  }
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

Result<void> MqttClient::reconnect_with_tls(MqttTls tls) {
  if (!impl_->url.tls) {
    return fail(Errc::invalid_input, "mqtt: reconnect_with_tls on a plain mqtt:// client");
  }
  if (auto ok = check_tls_files(tls); !ok) {
    return ok;
  }
  auto impl = impl_;
  asio::post(impl->strand, [impl, tls = std::move(tls)]() mutable { impl->renew(std::move(tls)); });
  return {};
}

}  // namespace hecs::net
