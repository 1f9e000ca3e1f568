#include "control/devices/acks.h"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <iterator>
#include <list>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/log.h"
#include "proto/proto.h"

namespace hecs::control::devices {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// How often the background thread looks again whether a burst is over.
constexpr std::chrono::milliseconds kBurstRecheck{10};

struct AckQueue::Impl : std::enable_shared_from_this<Impl> {
  struct Entry {
    std::string device_id;
    std::vector<std::string> ids;
    Clock::time_point since;  // of its oldest id
  };

  Impl(asio::io_context& io_, asio::thread_pool& workers_, metrics::Registry& metrics, SendFn send_,
       AckOptions options_, Now now_)
      : io(io_),
        workers(workers_),
        send_fn(std::move(send_)),
        options(options_),
        now(std::move(now_)),
        sent(metrics.counter("hecs_acks_sent_total", "Ack messages sent to agents")),
        overdue(metrics.counter("hecs_acks_overdue_total",
                                "Ack messages sent at normal priority, having waited max_lag")),
        timer(io_) {}

  asio::io_context& io;
  asio::thread_pool& workers;
  SendFn send_fn;
  AckOptions options;
  Now now;
  metrics::Counter& sent;
  metrics::Counter& overdue;
  asio::steady_timer timer;  // used on the io_context's threads only

  std::mutex mutex;
  std::condition_variable wake;      // the background thread: entries or stopping
  std::condition_variable finished;  // stop(): no send_overdue() under way
  std::list<Entry> entries;          // oldest first
  std::unordered_map<std::string, std::list<Entry>::iterator> by_device;
  std::size_t pending_ids = 0;
  int overdue_running = 0;
  // Arrivals in the current window (number since the clock's epoch) and the one before it.
  std::mutex rate_mutex;
  std::int64_t window_at = 0;
  std::size_t in_window = 0, in_previous = 0;
  bool stopping = false;
  std::thread thread;

  Entry pop_front() {  // mutex held, entries not empty
    Entry entry = std::move(entries.front());
    entries.pop_front();
    by_device.erase(entry.device_id);
    pending_ids -= entry.ids.size();
    return entry;
  }

  void send(Entry& entry, bool is_overdue) {
    auto& ids = entry.ids;
    for (std::size_t at = 0; at < ids.size(); at += proto::kMaxAckIds) {
      proto::Ack ack;
      const auto end = std::min(ids.size(), at + proto::kMaxAckIds);
      ack.ids.assign(std::make_move_iterator(ids.begin() + static_cast<long>(at)),
                     std::make_move_iterator(ids.begin() + static_cast<long>(end)));
      if (send_fn(entry.device_id, proto::to_json(ack))) {
        sent.inc();
        if (is_overdue) {
          overdue.inc();
        }
      }
    }
  }

  std::size_t send_overdue() {
    std::vector<Entry> due;
    {
      std::lock_guard lock(mutex);
      if (stopping) {
        return 0;
      }
      const auto limit = now() - options.max_lag;
      while (!entries.empty() && entries.front().since <= limit) {
        due.push_back(pop_front());
      }
      if (due.empty()) {
        return 0;
      }
      ++overdue_running;
    }
    for (auto& entry : due) {
      send(entry, true);
    }
    {
      std::lock_guard lock(mutex);
      --overdue_running;
    }
    finished.notify_all();
    return due.size();
  }

  std::int64_t window_of(Clock::time_point t) const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() /
           std::max<std::int64_t>(options.window.count(), 1);
  }

  void arrived() {
    const auto w = window_of(now());
    std::lock_guard lock(rate_mutex);
    if (w != window_at) {
      in_previous = w == window_at + 1 ? in_window : 0;
      in_window = 0;
      window_at = w;
    }
    ++in_window;
  }

  bool in_burst() {
    const auto w = window_of(now());
    std::lock_guard lock(rate_mutex);
    if (w == window_at) {
      return in_window > options.burst_per_window || in_previous > options.burst_per_window;
    }
    return w == window_at + 1 && in_window > options.burst_per_window;
  }

  void run() {
    pthread_setname_np(pthread_self(), "hecs-acks");
    // Linux applies a nice value given for a thread id to that thread alone.
    if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), options.nice) != 0) {
      log::get("control.acks")
          ->warn("acks.nice_failed nice={} error={}", options.nice,
                 log::quoted(std::error_code(errno, std::generic_category()).message()));
    }
    std::unique_lock lock(mutex);
    for (;;) {
      wake.wait(lock, [this] { return stopping || !entries.empty(); });
      if (stopping) {
        return;
      }
      if (entries.front().since + options.max_lag > now() && in_burst()) {
        wake.wait_for(lock, kBurstRecheck);
        continue;
      }
      Entry entry = pop_front();
      lock.unlock();
      send(entry, false);
      lock.lock();
    }
  }

  void arm_timer() {
    timer.expires_after(std::max(options.max_lag / 4, std::chrono::milliseconds(1)));
    timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) {
        return;
      }
      {
        std::lock_guard lock(self->mutex);
        if (self->stopping) {
          return;
        }
      }
      asio::post(self->workers, [self] { self->send_overdue(); });
      self->arm_timer();
    });
  }
};

AckQueue::AckQueue(asio::io_context& io, asio::thread_pool& workers, metrics::Registry& metrics,
                   SendFn send, AckOptions options, Now now)
    : impl_(
          std::make_shared<Impl>(io, workers, metrics, std::move(send), options, std::move(now))) {}

AckQueue::~AckQueue() { stop(); }

void AckQueue::start() {
  if (impl_->options.background && !impl_->thread.joinable()) {
    impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
  }
  asio::post(impl_->io, [impl = impl_] { impl->arm_timer(); });
}

void AckQueue::add(const std::string& device_id, std::vector<std::string> ids) {
  if (ids.empty()) {
    return;
  }
  auto& s = *impl_;
  {
    std::lock_guard lock(s.mutex);
    if (s.stopping) {
      return;
    }
    s.pending_ids += ids.size();
    if (auto it = s.by_device.find(device_id); it != s.by_device.end()) {
      auto& waiting = it->second->ids;
      waiting.insert(waiting.end(), std::make_move_iterator(ids.begin()),
                     std::make_move_iterator(ids.end()));
      return;  // already queued: one message for both, at the older one's place
    }
    s.entries.push_back(Impl::Entry{device_id, std::move(ids), s.now()});
    s.by_device.emplace(device_id, std::prev(s.entries.end()));
  }
  s.wake.notify_one();
}

void AckQueue::arrived() { impl_->arrived(); }

std::size_t AckQueue::send_overdue() { return impl_->send_overdue(); }

void AckQueue::stop() {
  auto& s = *impl_;
  {
    std::unique_lock lock(s.mutex);
    s.stopping = true;
    s.entries.clear();
    s.by_device.clear();
    s.pending_ids = 0;
    s.finished.wait(lock, [&s] { return s.overdue_running == 0; });
  }
  s.wake.notify_all();
  if (s.thread.joinable()) {
    s.thread.join();
  }
  // The timer's next turn sees `stopping` and ends; cancelling it here would race the io thread.
}

std::size_t AckQueue::pending() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->pending_ids;
}

}  // namespace hecs::control::devices
