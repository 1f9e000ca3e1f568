// The tasks context of the control plane (docs/tasks.md): creating a task (target resolved,
// spec checked, runs stored), dispatching its runs as signed "task" commands at the task's
// rate, stopping on its abort criteria, cancelling, expiring, re-sending to devices that come
// back, and storing what devices report (results batched, one transaction per batch, then
// acknowledged).
//
// Threading: every method may be called from any thread; store work runs on the worker pool.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>

#include "common/change_hub.h"
#include "common/clock.h"
#include "common/metrics/metrics.h"
#include "common/result.h"
#include "control/store/store.h"
#include "proto/proto.h"

namespace hecs::control::tasks {

struct Target {
  std::vector<std::string> devices;  // exactly one of devices, group, selector
  std::string group;
  std::string selector;
};

struct TaskRequest {
  Target target;
  proto::TaskSpec spec;  // spec.task and spec.deadline are set by create()
  std::int64_t deadline_s = 86400;
  int max_in_flight = 0;
  int per_minute = 0;
  int abort_percent = -1;
  int abort_min = 1;
  bool confirm = false;
  std::string schedule_id;
};

struct Limits {
  std::size_t confirm_above = 50;  // tasks_confirm_above: targets larger need "confirm"
  std::size_t max_targets = 100000;
  std::chrono::milliseconds tick{250};
  std::chrono::seconds resend_after{60};  // a sent run with no news is sent again
  std::chrono::milliseconds result_flush{20};
  std::chrono::milliseconds result_kick_gap{50};  // dispatch passes caused by results
  std::size_t max_result_batch = 5000;
  std::size_t max_backlog = 200000;
  std::size_t max_message_bytes = 64 * 1024;
};

// Signs and publishes a command; false when it could not be sent now.
using SendFn =
    std::function<bool(const std::string& device, std::string_view type, boost::json::object body)>;
// Acknowledges stored up-messages to a device (their envelope ids).
using AckFn = std::function<void(const std::string& device, std::vector<std::string> ids)>;

// Wakes live event streams (SSE) when a task's runs or output change.
using Events = ChangeHub;  // keyed by task id

class Service {
 public:
  Service(boost::asio::io_context& io, boost::asio::thread_pool& workers, store::TaskStore& tasks,
          store::GroupStore& groups, store::DeviceStore& devices, metrics::Registry& metrics,
          const Clock& clock, SendFn send, AckFn ack, Limits limits);  // all outlive us
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  void start();  // timers: dispatch, results, expiry, event sweep
  void stop();   // writes queued results, stops the timers; blocks until done

  // Resolves the target to device ids (sorted, unique), each an accepted device of the tenant.
  // Errc::invalid_input naming the field for anything unknown or malformed: an id of another
  // tenant reads exactly like one that does not exist.
  Result<std::vector<std::string>> resolve(const std::string& tenant_id, const Target& target);
  const Limits& limits() const;
  // Validates, resolves, stores the task and its runs, and starts dispatching. Blocks (store).
  Result<store::TaskRow> create(const std::string& tenant_id, const std::string& actor,
                                TaskRequest request);
  // Cancels every unfinished run of the task, or one run. Errc::not_found for another tenant's.
  Result<std::size_t> cancel(const std::string& tenant_id, const std::string& task_id,
                             const std::optional<std::string>& device);

  // A device connected (fresh hello): what it has not received yet is sent again.
  void on_hello(const std::string& device_id);
  // An up/result message (any thread; validated, batched, stored, then acknowledged).
  void on_result(const std::string& device_id, const std::string& payload);

  Events& events();
  std::size_t backlog() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Fires the control plane's cron schedules (docs/tasks.md, "Schedules"): each due schedule
// makes its task, as the missed-fire policy says, and moves to its next fire by compare-and-set,
// so that two replicas never fire one time twice.
class Scheduler {
 public:
  // `parse` turns a stored task body (a POST /api/v1/tasks body) into a request.
  using ParseFn = std::function<Result<TaskRequest>(const std::string& body)>;
  Scheduler(store::ScheduleStore& schedules, Service& service, const Clock& clock, ParseFn parse)
      : schedules_(schedules), service_(service), clock_(clock), parse_(std::move(parse)) {}

  // The first fire of `cron` in `timezone` strictly after `after_ms`; nullopt when none within
  // the cron horizon. Errc::invalid_input naming cron or timezone.
  static Result<std::optional<std::int64_t>> next_fire(const std::string& cron,
                                                       const std::string& timezone,
                                                       std::int64_t after_ms);
  // One pass: fires what is due now. Returns the tasks made. Blocks (store).
  std::size_t tick();

  // A fire this late or less is on time, for the policy "skip".
  static constexpr std::int64_t kGraceMs = 60'000;

 private:
  store::ScheduleStore& schedules_;
  Service& service_;
  const Clock& clock_;
  ParseFn parse_;
};

}  // namespace hecs::control::tasks
