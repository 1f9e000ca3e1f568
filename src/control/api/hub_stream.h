// HubStream: the server-sent event streams' common part (device_events.cpp, task_events.cpp).
// A piece is collected at once while the stream has one ready (its first, or the rest of a long
// read); otherwise the stream waits on its ChangeHub key until a writer moves it, and then
// collects. The hub also wakes it when idle: an empty piece, which the server sends as a
// keepalive comment.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include "common/change_hub.h"
#include "common/net/http.h"

namespace hecs::control::api {

// One server-sent event.
inline std::string sse_event(std::string_view name, const boost::json::value& data) {
  return fmt::format("event: {}\ndata: {}\n\n", name, boost::json::serialize(data));
}

class HubStream : public net::BodyStream, public std::enable_shared_from_this<HubStream> {
 public:
  HubStream(ChangeHub& hub, std::string key) : hub_(hub), key_(std::move(key)) {}
  HubStream(const HubStream&) = delete;
  HubStream& operator=(const HubStream&) = delete;

  void pull(std::function<void(std::optional<std::string>)> deliver) final {
    std::unique_lock lock(mutex_);
    if (closed_ || finished()) {
      lock.unlock();
      deliver(std::nullopt);
      return;
    }
    if (ready()) {
      auto text = next();
      lock.unlock();
      deliver(std::move(text));
      return;
    }
    const auto seen = seen_;
    lock.unlock();
    auto handle = hub_.wait(key_, seen, [weak = weak_from_this(), deliver](bool changed) {
      auto self = weak.lock();
      if (!self) {
        deliver(std::nullopt);
        return;
      }
      std::unique_lock inner(self->mutex_);
      self->handle_ = 0;
      if (self->closed_) {
        inner.unlock();
        deliver(std::nullopt);
        return;
      }
      std::string text = changed ? self->next() : std::string();  // "": a keepalive
      inner.unlock();
      deliver(std::move(text));
    });
    std::lock_guard again(mutex_);
    if (handle != 0 && !closed_) {
      handle_ = handle;
    }
  }

  void close() final {
    std::uint64_t handle = 0;
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      handle = handle_;
      handle_ = 0;
    }
    if (handle != 0) {
      hub_.cancel(handle);
    }
  }

 protected:
  ~HubStream() override = default;

  // The subclass's side, each called with mutex_ held.
  // Whether a piece is to be collected now rather than after the next change.
  virtual bool ready() const = 0;
  // Whether the stream is over (its end was sent): the next pull ends it.
  virtual bool finished() const { return false; }
  // The next piece of text; "" when there is nothing to send.
  virtual std::string collect() = 0;

  ChangeHub& hub_;
  const std::string key_;

 private:
  std::string next() {
    seen_ = hub_.version(key_);  // before reading: a change made meanwhile wakes us again
    return collect();
  }

  std::mutex mutex_;
  bool closed_ = false;
  std::uint64_t handle_ = 0;
  std::uint64_t seen_ = 0;
};

}  // namespace hecs::control::api
