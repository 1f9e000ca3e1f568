#include "common/mqtt/threaded_client.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <random>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <fmt/format.h>

#include "common/log.h"
#include "common/mqtt/client.h"
#include "common/mqtt/tls.h"

namespace hecs::mqtt {
namespace asio = boost::asio;

// Everything but `connected` is touched on `strand` only, once start() ran.
struct ThreadedClient::Impl : ClientEvents {
  Impl(asio::io_context& io, ThreadedOptions opts)
      : strand(asio::make_strand(io)), options(std::move(opts)), shared{{}, counters} {}

  asio::strand<asio::io_context::executor_type> strand;
  ThreadedOptions options;
  ClientCounters counters;
  ClientShared shared;
  std::unique_ptr<tls::Context> context;
  std::unique_ptr<tls::Identity> identity;
  std::unique_ptr<Client> client;
  std::atomic<ThreadedClient*> owner{nullptr};  // null once the owner is gone
  std::atomic<bool> connected{false};
  std::atomic<std::uint64_t> failed_publishes{0};
  // Messages beyond the in-flight window or the write queue wait here, in order, until PUBACKs
  // make room (libmosquitto queued them likewise); at most options.max_queued_bytes of them.
  struct Pending {
    std::string topic, payload;
    int qos = 0;
    bool retain = false;
    std::function<void(Result<int>)> done;
  };
  std::deque<Pending> backlog;
  std::size_t backlog_bytes = 0;

  // The files read on any thread; use() applies them on the strand (or before start).
  Result<tls::Loaded> read(const net::MqttTls& files) const {
    return tls::load_files(
        files.ca_file, files.cert_file, files.key_file,
        options.tls_common_name.empty() ? options.client_id : options.tls_common_name);
  }
  void use(tls::Loaded loaded) {
    context = std::make_unique<tls::Context>(std::move(loaded.context));
    shared.tls = context.get();
    auto made = std::make_unique<tls::Identity>(std::move(loaded.identity));
    if (client) {
      // Sessions made with the old identity hold their own references to it.
      client->reconnect_with(*made ? made.get() : nullptr);
    }
    identity = std::move(made);
  }

  std::optional<Will> will() override { return std::nullopt; }
  void on_connected() override {
    connected = true;
    if (auto* o = owner.load(); o != nullptr && o->on_connect) {
      o->on_connect();
    }
  }
  void on_disconnected() override {
    connected = false;
    // The broker session is gone or will resend what it holds; ours would go out on a new
    // connection after messages sent then. Callers own durability (acks are sent again).
    while (!backlog.empty()) {
      finish(backlog.front(), fail(Errc::unavailable, "mqtt publish: link lost"));
      backlog_bytes -= backlog.front().topic.size() + backlog.front().payload.size();
      backlog.pop_front();
    }
    if (auto* o = owner.load(); o != nullptr && o->on_disconnect) {
      o->on_disconnect();
    }
  }
  void on_message(const Publish& m) override {
    if (auto* o = owner.load(); o != nullptr && o->on_message) {
      o->on_message(Message{std::string(m.topic), std::string(m.payload), m.qos, m.retain});
    }
  }
  void on_published(std::uint16_t packet_id) override {
    if (auto* o = owner.load(); o != nullptr && o->on_published) {
      o->on_published(packet_id);
    }
    drain();
  }

  void drain() {
    while (!backlog.empty()) {
      auto& next = backlog.front();
      auto id = client->publish(next.topic, next.payload, next.qos, next.retain);
      if (!id && id.error().code == Errc::unavailable && client->connected()) {
        return;  // still no room: the next PUBACK tries again
      }
      finish(next, id ? Result<int>(static_cast<int>(*id))
                      : Result<int>(fail(std::move(id.error()), "mqtt publish")));
      backlog_bytes -= next.topic.size() + next.payload.size();
      backlog.pop_front();
    }
  }

  void finish(Pending& pending, Result<int> result) {
    if (!result) {
      count_failure(pending.topic, result.error().message);
    }
    if (pending.done) {
      pending.done(std::move(result));
    }
  }

  void count_failure(const std::string& topic, const std::string& reason) {
    ++failed_publishes;
    log::get("mqtt")->warn("mqtt.publish_failed topic={} reason={}", log::quoted(topic),
                           log::quoted(reason));
  }

  void publish_here(Pending message) {
    if (backlog.empty()) {
      auto id = client->publish(message.topic, message.payload, message.qos, message.retain);
      if (id || id.error().code != Errc::unavailable || !client->connected()) {
        finish(message, id ? Result<int>(static_cast<int>(*id))
                           : Result<int>(fail(std::move(id.error()), "mqtt publish")));
        return;
      }
    }
    const auto bytes = message.topic.size() + message.payload.size();
    if (backlog_bytes + bytes > options.max_queued_bytes) {
      finish(message, fail(Errc::unavailable, "mqtt publish: queue full"));
      return;
    }
    backlog_bytes += bytes;
    backlog.push_back(std::move(message));
  }
};

ThreadedClient::ThreadedClient(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {
  impl_->owner = this;
}

ThreadedClient::~ThreadedClient() {
  impl_->owner = nullptr;
  // The client's own handlers point to it: it stays alive, through this handler, until it has
  // stopped and they have run (or, with the loop already stopped, until the io_context drops it).
  try {
    asio::post(impl_->strand, [impl = impl_] { impl->client->stop([impl] {}); });
  } catch (const std::exception& e) {  // out of memory: nothing better to do than say so
    log::get("mqtt")->error("bug.escaped_exception where=~ThreadedClient what={}",
                            log::quoted(e.what()));
  }
}

Result<std::unique_ptr<ThreadedClient>> ThreadedClient::create(asio::io_context& io,
                                                               ThreadedOptions options) {
  auto url = net::parse_mqtt_url(options.url);
  if (!url) {
    return fail(std::move(url.error()), "mqtt");
  }
  if (options.client_id.empty() || options.client_id.size() > 128) {
    return fail(Errc::invalid_input, "mqtt: client id must have 1 to 128 characters");
  }
  if (url->tls != options.tls.has_value()) {
    return fail(Errc::invalid_input, url->tls ? "mqtt: mqtts:// needs a tls ca_file"
                                              : "mqtt: tls options need an mqtts:// url");
  }
  if (options.max_in_flight < 1 || options.max_in_flight > 60000) {
    return fail(Errc::invalid_input, "mqtt: max_in_flight must be 1..60000");
  }
  auto impl = std::make_shared<Impl>(io, std::move(options));
  auto& o = impl->options;
  impl->shared.host = url->host;
  impl->shared.port = url->port;
  impl->shared.max_packet_bytes = o.max_packet_bytes;
  impl->shared.max_in_flight = o.max_in_flight;
  impl->shared.max_queued_bytes = o.max_queued_bytes;
  impl->shared.min_backoff = o.min_backoff;
  impl->shared.max_backoff = std::max(o.min_backoff, o.max_backoff);
  if (o.tls) {
    auto loaded = impl->read(*o.tls);
    if (!loaded) {
      return tl::unexpected(std::move(loaded.error()));
    }
    impl->use(std::move(*loaded));
  }
  impl->client = std::make_unique<Client>(
      impl->strand, impl->shared, *impl, o.client_id,
      static_cast<std::uint16_t>(std::clamp(o.keepalive_s, 1, 65535)), o.subscription,
      std::random_device{}(), impl->identity && *impl->identity ? impl->identity.get() : nullptr);
  impl->client->set_clean_session(o.clean_session);
  return std::unique_ptr<ThreadedClient>(new ThreadedClient(std::move(impl)));
}

void ThreadedClient::start() {
  asio::post(impl_->strand, [impl = impl_] { impl->client->start(); });
}

void ThreadedClient::stop(std::function<void()> done) {
  asio::post(impl_->strand, [impl = impl_, done = std::move(done)]() mutable {
    impl->connected = false;
    impl->client->stop([done = std::move(done)] {
      if (done) {
        done();
      }
    });
  });
}

bool ThreadedClient::connected() const { return impl_->connected; }

Result<void> ThreadedClient::publish(std::string topic, std::string payload, int qos, bool retain,
                                     std::function<void(Result<int>)> done) {
  if (!impl_->connected) {
    return fail(Errc::unavailable, "mqtt publish: not connected");
  }
  // Always posted, even from the strand itself: a message published from a callback must not
  // overtake those queued before it by other threads.
  asio::post(impl_->strand,
             [impl = impl_, message = Impl::Pending{std::move(topic), std::move(payload), qos,
                                                    retain, std::move(done)}]() mutable {
               impl->publish_here(std::move(message));
             });
  return {};
}

std::uint64_t ThreadedClient::failed_publishes() const { return impl_->failed_publishes; }

Result<void> ThreadedClient::reconnect_with_tls(const net::MqttTls& tls) {
  if (!impl_->options.tls) {
    return fail(Errc::invalid_input, "mqtt: reconnect_with_tls on a plain mqtt:// client");
  }
  // Read once, on the caller's thread, so bad files are reported to the caller; applied on the
  // strand.
  auto loaded = impl_->read(tls);
  if (!loaded) {
    return tl::unexpected(std::move(loaded.error()));
  }
  auto files = std::make_shared<tls::Loaded>(std::move(*loaded));
  asio::post(impl_->strand, [impl = impl_, files] {
    impl->use(std::move(*files));
    log::get("mqtt")->info("mqtt.tls_renewed host={} port={}", impl->shared.host,
                           impl->shared.port);
  });
  return {};
}

}  // namespace hecs::mqtt
