// GET /api/v1/devices/events: the tenant's devices as server-sent events (docs/api.md, "Device
// events"). The stream starts with the tenant's counts; then, woken by devices::Events after
// ingest or an enrolment decision committed, it reads the devices whose changed_at moved since
// its last read and sends each whose online state, hostname or enrolment state differs from
// what it last sent, then fresh counts. A client that reads slowly is only read for when it
// asks for more, so several changes of a device in between are sent once, as they are now.
#include <map>
#include <tuple>

#include "control/api/hub_stream.h"
#include "control/api/routes.h"
#include "control/devices/events.h"

namespace hecs::control::api {
namespace json = boost::json;

namespace {

constexpr std::size_t kRowsPerPiece = 1000;
// Devices are read again from a little before the last read: a change committed in the same
// millisecond, or stamped by another thread's clock read just before ours, is not missed
// (duplicates are filtered by what was last sent).
constexpr std::int64_t kOverlapMs = 2000;

class DeviceEventStream final : public HubStream {
 public:
  // Holds one of the hub's stream slots (acquired by the caller) until destroyed.
  DeviceEventStream(State& state, devices::Events& hub, std::string tenant)
      : HubStream(hub, std::move(tenant)), state_(state) {}
  ~DeviceEventStream() override { hub_.release(); }
  DeviceEventStream(const DeviceEventStream&) = delete;
  DeviceEventStream& operator=(const DeviceEventStream&) = delete;

 private:
  using Sent = std::tuple<bool, std::string, std::string>;  // online, hostname, state

  std::string counts_event() {
    auto counts = state_.deps.devices.counts(tenant_);
    if (!counts) {
      return {};
    }
    return sse_event("counts", json::object{{"online", counts->online},
                                            {"offline", counts->offline},
                                            {"pending", counts->pending},
                                            {"total", counts->total}});
  }

  // The devices the first read from the overlap would find, as they are now: the counts sent
  // first already include them, so they are not sent again unless they change.
  void remember_recent() {
    std::int64_t after_at = since_ - kOverlapMs;
    std::string after_id;
    for (;;) {
      auto rows = state_.deps.devices.changed_since(tenant_, after_at, after_id, kRowsPerPiece);
      if (!rows) {
        return;  // they may be sent once: harmless
      }
      for (const auto& r : *rows) {
        after_at = r.changed_at;
        after_id = r.id;
        sent_[r.id] = Sent{r.online, r.hostname, r.state};
      }
      if (rows->size() < kRowsPerPiece) {
        return;
      }
    }
  }

  bool ready() const override { return !started_ || more_; }

  // What changed since the last piece.
  std::string collect() override {
    const auto now = state_.deps.clock.now_ms();
    if (!started_) {
      started_ = true;
      since_ = now;
      remember_recent();
      return counts_event();
    }
    if (!more_) {
      after_at_ = since_ - kOverlapMs;
      after_id_.clear();
      read_at_ = now;
    }
    auto rows = state_.deps.devices.changed_since(tenant_, after_at_, after_id_, kRowsPerPiece);
    if (!rows) {
      more_ = false;  // read again on the next wake-up, from the same point
      return {};
    }
    std::string text;
    for (const auto& r : *rows) {
      after_at_ = r.changed_at;
      after_id_ = r.id;
      Sent now_state{r.online, r.hostname, r.state};
      auto [it, added] = sent_.try_emplace(r.id, now_state);
      if (!added) {
        if (it->second == now_state) {
          continue;
        }
        it->second = now_state;
      }
      changed_ = true;
      text += sse_event("device", json::object{{"id", r.id},
                                               {"hostname", r.hostname},
                                               {"online", r.online},
                                               {"state", r.state},
                                               {"last_seen", format_time(r.last_seen)}});
    }
    more_ = rows->size() == kRowsPerPiece;
    if (!more_) {
      since_ = read_at_;
      if (changed_) {
        changed_ = false;
        text += counts_event();
      }
    }
    return text;
  }

  State& state_;
  const std::string& tenant_ = key_;
  bool started_ = false, more_ = false, changed_ = false;
  std::int64_t since_ = 0;     // the clock when the last complete read began
  std::int64_t read_at_ = 0;   // the clock when the read in progress began
  std::int64_t after_at_ = 0;  // the read in progress: after this (changed_at, id)
  std::string after_id_;
  std::map<std::string, Sent> sent_;  // device id → what was last sent of it
};

}  // namespace

void add_device_event_route(Router& router, State& state) {
  router.add({"GET",
              "/api/v1/devices/events",
              needs(auth::Role::viewer),
              "devices.events",
              [&state](Call& call) {
                auto* hub = state.deps.device_events;
                if (hub == nullptr) {
                  return problem_from(Error{Errc::unavailable, "device events are not served"});
                }
                if (!hub->acquire(state.deps.max_device_streams)) {
                  auto r = problem_from(
                      Error{Errc::unavailable, "too many device event streams are open"});
                  r.headers.emplace_back("Retry-After", "5");
                  return r;
                }
                net::Response r;
                r.content_type = "text/event-stream";
                r.headers.emplace_back("Cache-Control", "no-store");
                r.stream = std::make_shared<DeviceEventStream>(state, *hub, call.who->tenant_id);
                return r;
              },
              {"The tenant's device changes and counts as server-sent events", "", ""}});
}

}  // namespace hecs::control::api
