#include <algorithm>
#include <atomic>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "common/log.h"
#include "control/devices/devices.h"
#include "proto/proto.h"

namespace hecs::control::devices {
namespace asio = boost::asio;
using store::IngestItem;

// Sessions are stored as signed 64-bit integers (SQL BIGINT): larger ones are refused here, per
// message, so one hostile device cannot fail a batch that holds other devices' messages.
constexpr std::uint64_t kMaxSession = std::numeric_limits<std::int64_t>::max();

struct Ingest::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, asio::thread_pool& workers_, store::DeviceStore& devices_,
       metrics::Registry& metrics_, const Clock& clock_, IngestOptions options_)
      : timer(io),
        workers(workers_),
        devices(devices_),
        metrics(metrics_),
        clock(clock_),
        options(std::move(options_)),
        log(log::get("control.ingest")) {
    batches = &metrics.counter("hecs_ingest_batches_total", "Ingest transactions committed");
    stored = &metrics.counter("hecs_ingest_messages_stored_total", "Messages written to the store");
    duplicates = &metrics.counter("hecs_ingest_duplicates_total",
                                  "Telemetry messages already stored under the same id");
    stale =
        &metrics.counter("hecs_ingest_stale_total", "hello/status of an older session, ignored");
    dropped = &metrics.counter("hecs_ingest_dropped_total",
                               "Messages dropped because the backlog was full");
    failures = &metrics.counter("hecs_ingest_store_errors_total", "Failed ingest transactions");
  }

  asio::steady_timer timer;
  asio::thread_pool& workers;
  store::DeviceStore& devices;
  metrics::Registry& metrics;
  const Clock& clock;
  IngestOptions options;
  log::Logger log;
  metrics::Counter* batches;
  metrics::Counter* stored;
  metrics::Counter* duplicates;
  metrics::Counter* stale;
  metrics::Counter* dropped;
  metrics::Counter* failures;

  mutable std::mutex mutex;
  std::deque<IngestItem> queue;
  bool writing = false;
  // Device id → tenant id; only touched by the one write in progress (`writing`).
  static constexpr std::size_t kMaxCachedTenants = 200000;
  std::unordered_map<std::string, std::string> tenants;
  std::atomic<bool> stopped{false};

  void reject(std::string_view reason, const std::string& topic, const std::string& why) {
    metrics
        .counter("hecs_mqtt_messages_rejected_total", "Up-messages rejected, by reason",
                 {{"reason", std::string(reason)}})
        .inc();
    log->warn("message.rejected topic={} reason={} detail={}", log::quoted(topic), reason,
              log::quoted(why));
  }

  // A message refused for good is acknowledged too: resending it can never succeed, and an
  // unacknowledged entry would hold a place in the agent's in-flight window for ever.
  void settle_refused(const std::string& device_id, const std::string& message_id) {
    if (options.on_committed) {
      options.on_committed(device_id, {message_id});
    }
  }

  void on_message(const std::string& topic, const std::string& payload) {
    auto up = proto::parse_up_topic(topic);
    if (!up) {
      reject("topic", topic, up.error().message);
      return;
    }
    if (payload.empty()) {
      return;  // a retained message being cleared: nothing to store
    }
    if (options.is_revoked && options.is_revoked(up->device_id)) {
      // Messages already in flight when the broker's ACL was reloaded (S20).
      reject("revoked", topic, "device revoked");
      return;
    }
    metrics
        .counter("hecs_mqtt_messages_received_total", "Up-messages received, by kind",
                 {{"kind", std::string(proto::up_kind_name(up->kind))}})
        .inc();
    if (payload.size() > options.max_message_bytes) {
      reject("too_large", topic, fmt::format("{} bytes", payload.size()));
      return;
    }
    auto env = proto::parse_envelope(payload, options.max_message_bytes);
    if (!env) {
      reject("envelope", topic, env.error().message);
      return;
    }
    if (env->type != proto::up_kind_name(up->kind)) {
      reject("type_mismatch", topic,
             fmt::format("type {} on a {} topic", env->type, proto::up_kind_name(up->kind)));
      if (up->kind == proto::UpKind::telemetry) {
        settle_refused(up->device_id, env->id);
      }
      return;
    }
    IngestItem item;  // its tenant is set when its batch is written
    item.device_id = up->device_id;
    item.message_id = env->id;
    item.ts = env->ts;
    item.received_at = clock.now_ms();
    switch (up->kind) {
      case proto::UpKind::hello: {
        auto hello = proto::parse_hello(env->body);
        if (!hello) {
          reject("body", topic, hello.error().message);
          return;
        }
        if (hello->session > kMaxSession) {
          reject("body", topic, "body.session: out of range");
          return;
        }
        item.kind = IngestItem::Kind::hello;
        item.session = hello->session;
        item.hostname = hello->hostname;
        item.agent_version = hello->agent_version;
        item.body = boost::json::serialize(proto::to_json(*hello));
        break;
      }
      case proto::UpKind::status: {
        auto status = proto::parse_status(env->body);
        if (!status) {
          reject("body", topic, status.error().message);
          return;
        }
        if (status->session > kMaxSession) {
          reject("body", topic, "body.session: out of range");
          return;
        }
        item.kind = IngestItem::Kind::status;
        item.session = status->session;
        item.online = status->state == proto::State::online;
        break;
      }
      case proto::UpKind::telemetry: {
        auto telemetry = proto::parse_telemetry(env->body);
        if (!telemetry) {
          reject("body", topic, telemetry.error().message);
          settle_refused(up->device_id, env->id);
          return;
        }
        item.kind = IngestItem::Kind::telemetry;
        item.body = boost::json::serialize(proto::to_json(*telemetry));
        break;
      }
      case proto::UpKind::result:
      case proto::UpKind::event:
        // Results and events have their own consumers (app.cpp); none should come here.
        reject("unsupported", topic, "not a device-state message");
        return;
    }
    std::lock_guard lock(mutex);
    if (queue.size() >= options.max_backlog) {
      // Drop the oldest telemetry first; hello and status carry state that must not be lost.
      auto it = std::find_if(queue.begin(), queue.end(), [](const IngestItem& i) {
        return i.kind == IngestItem::Kind::telemetry;
      });
      if (it != queue.end()) {
        queue.erase(it);
      } else {
        queue.pop_front();
      }
      dropped->inc();
    }
    queue.push_back(std::move(item));
  }

  void arm_timer() {
    timer.expires_after(options.flush_interval);
    timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopped) {
        return;
      }
      self->flush();
      if (self->options.events != nullptr) {
        self->options.events->sweep(self->options.events_idle);
      }
      self->arm_timer();
    });
  }

  void flush() {
    std::vector<IngestItem> batch;
    {
      std::lock_guard lock(mutex);
      if (writing || queue.empty()) {
        return;
      }
      std::size_t n = std::min(queue.size(), options.max_batch);
      batch.assign(std::make_move_iterator(queue.begin()),
                   std::make_move_iterator(queue.begin() + static_cast<long>(n)));
      queue.erase(queue.begin(), queue.begin() + static_cast<long>(n));
      writing = true;
    }
    asio::post(workers, [self = shared_from_this(), batch = std::move(batch)]() mutable {
      self->write(std::move(batch));
    });
  }

  // Each item joins the tenant its device was enrolled into; a device without a row (plain
  // MQTT without enrolment) joins the default tenant. A device's tenant never changes, so
  // known ones are cached; unknown ones are looked up again, as enrolment may add them.
  void assign_tenants(std::vector<IngestItem>& batch) {
    std::vector<std::string> unknown;
    for (const auto& item : batch) {
      if (!tenants.contains(item.device_id)) {
        unknown.push_back(item.device_id);
      }
    }
    if (!unknown.empty()) {
      std::sort(unknown.begin(), unknown.end());
      unknown.erase(std::unique(unknown.begin(), unknown.end()), unknown.end());
      if (tenants.size() + unknown.size() > kMaxCachedTenants) {
        tenants.clear();
      }
      auto found = devices.tenants_of(unknown);
      if (found) {
        tenants.insert(found->begin(), found->end());
      }  // else: the write below fails the same way and retries the batch
    }
    for (auto& item : batch) {
      auto it = tenants.find(item.device_id);
      item.tenant_id = it != tenants.end() ? it->second : options.tenant_id;
    }
  }

  void write(std::vector<IngestItem> batch) {
    assign_tenants(batch);
    auto result = devices.ingest(batch);
    if (result && options.on_committed) {
      std::map<std::string, std::vector<std::string>> committed;
      for (const auto& item : batch) {
        if (item.kind == IngestItem::Kind::telemetry) {
          committed[item.device_id].push_back(item.message_id);
        }
      }
      for (auto& [device, ids] : committed) {
        options.on_committed(device, std::move(ids));
      }
    }
    if (result && options.events != nullptr) {
      std::vector<std::string> changed;
      for (const auto& item : batch) {
        if (item.kind != IngestItem::Kind::telemetry &&
            std::find(changed.begin(), changed.end(), item.tenant_id) == changed.end()) {
          changed.push_back(item.tenant_id);
        }
      }
      if (!changed.empty()) {
        // On its own worker task: the streams woken read the store, which must not hold up
        // the next batch.
        asio::post(workers, [events = options.events, changed = std::move(changed)] {
          events->notify(changed);
        });
      }
    }
    bool more = false;
    {
      std::lock_guard lock(mutex);
      writing = false;
      settle(result, batch);
      // A full batch waiting: write it now rather than on the next tick, so a backlog drains
      // at the writer's own speed (the writer sat idle between ticks; bench/ingest.sh drain).
      more = result && queue.size() >= options.max_batch && !stopped;
    }
    if (more) {
      flush();
    }
  }

  // Counts and logs a written batch; on a retryable failure puts it back at the front.
  // Called with the mutex held.
  void settle(const Result<store::IngestStats>& result, std::vector<IngestItem>& batch) {
    if (result) {
      batches->inc();
      stored->inc(result->applied);
      duplicates->inc(result->duplicates);
      stale->inc(result->stale);
      log->debug("ingest.batch size={} duplicates={} stale={}", batch.size(), result->duplicates,
                 result->stale);
    } else {
      failures->inc();
      log->error("ingest.failed size={} error={}", batch.size(),
                 log::quoted(result.error().message));
      if (result.error().code == Errc::unavailable) {
        // Database busy, disk full: keep the batch at the front and try again on the next tick.
        queue.insert(queue.begin(), std::make_move_iterator(batch.begin()),
                     std::make_move_iterator(batch.end()));
      }
    }
  }
};

Ingest::Ingest(asio::io_context& io, asio::thread_pool& workers, store::DeviceStore& devices,
               metrics::Registry& metrics, const Clock& clock, IngestOptions options)
    : impl_(std::make_shared<Impl>(io, workers, devices, metrics, clock, std::move(options))) {}

Ingest::~Ingest() {
  boost::system::error_code ec;
  impl_->timer.cancel();
}

void Ingest::start() { impl_->arm_timer(); }

void Ingest::on_message(const std::string& topic, const std::string& payload) {
  impl_->on_message(topic, payload);
}

void Ingest::stop() {
  impl_->stopped = true;  // the timer's next tick ends it; it is only touched on its executor
  // Drain on this thread: the worker pool may be busy (or have one thread, this one).
  constexpr auto kDeadline = std::chrono::seconds(30);
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (std::chrono::steady_clock::now() < deadline) {
    std::vector<IngestItem> batch;
    {
      std::lock_guard lock(impl_->mutex);
      if (impl_->queue.empty() && !impl_->writing) {
        return;
      }
      if (!impl_->writing) {
        std::size_t n = std::min(impl_->queue.size(), impl_->options.max_batch);
        batch.assign(std::make_move_iterator(impl_->queue.begin()),
                     std::make_move_iterator(impl_->queue.begin() + static_cast<long>(n)));
        impl_->queue.erase(impl_->queue.begin(), impl_->queue.begin() + static_cast<long>(n));
        impl_->writing = true;
      }
    }
    if (batch.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // a batch is being written
      continue;
    }
    auto before = impl_->failures->value();
    impl_->write(std::move(batch));
    if (impl_->failures->value() != before) {
      return;  // the store refuses writes now; what is left is resent by the agents
    }
  }
}

std::size_t Ingest::backlog() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->queue.size();
}

}  // namespace hecs::control::devices
