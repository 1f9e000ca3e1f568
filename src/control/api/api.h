// The REST API of hecs-control (DESIGN §8): the route table, authentication, roles, CSRF,
// the audit of every mutating call, RFC 9457 problems. It sees plain net::Request /
// net::Response only; handlers block on the stores and run on the worker pool (net::HttpServer
// does that).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/metrics/metrics.h"
#include "common/net/http_types.h"
#include "control/auth/auth.h"
#include "control/ca/ca.h"
#include "control/checkpoints/checkpoints.h"
#include "control/devices/events.h"
#include "control/store/store.h"
#include "control/tasks/tasks.h"

namespace hecs::control::api {

struct Deps {
  store::IdentityStore& identities;
  store::DeviceStore& devices;
  store::TelemetryStore& telemetry;
  store::EnrollmentStore& enrollments;
  store::AuditStore& audit;
  ca::Enrolment& enrolment;
  metrics::Registry& metrics;
  const Clock& clock;
  std::function<bool()> ready;  // /readyz: database and broker reachable
  // How long raw telemetry is kept (telemetry_window_hours): the oldest `since` of a series.
  std::int64_t telemetry_window_ms = std::int64_t{48} * 3600 * 1000;
  bool tls = true;  // served over HTTPS: cookies are Secure and __Host-
  auth::SessionPolicy sessions{};
  auth::LoginThrottle::Limits login_limits{};
  checkpoints::Signer* checkpoints = nullptr;  // none: checkpoint routes answer 503
  // After a tenant was disabled or enabled: the caller denies or allows its devices again at
  // the broker and in ingest (on a worker thread, after the change is committed).
  std::function<void()> on_tenants_changed{};
  // Tasks (docs/tasks.md); none: the task routes answer 503.
  tasks::Service* tasks = nullptr;
  store::TaskStore* task_store = nullptr;
  store::GroupStore* groups = nullptr;
  store::ScheduleStore* schedules = nullptr;
  // Live device events (GET /api/v1/devices/events); none: that route answers 503. At most
  // max_device_streams of them are open at once; beyond, 503 with Retry-After.
  devices::Events* device_events = nullptr;
  std::size_t max_device_streams = 256;
  // Answers GET/HEAD of any path outside /api/ that is no route (/healthz, /metrics…): the
  // admin panel's files (control/web). None: those paths are 404.
  std::function<net::Response(const net::Request&)> web{};
};

class Router;

class Api {
 public:
  explicit Api(Deps deps);  // everything in deps outlives us
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  net::Response handle(const net::Request& request);
  const Router& router() const { return *router_; }
  Router& router() { return *router_; }  // tests register routes of their own

  // What the route handlers share (routes.h). Public so the handler files can reach it.
  struct State;

 private:
  net::Response dispatch(const net::Request& request, const std::string& request_id);
  std::unique_ptr<State> state_;
  std::unique_ptr<Router> router_;
};

// An Error as a problem response: the one place where Errc becomes an HTTP status.
net::Response problem_from(const Error& error);

// A POST /api/v1/tasks body, read strictly (unknown members refused); Errc::invalid_input
// naming the member. The scheduler reads stored schedule tasks with it too.
Result<tasks::TaskRequest> parse_task_request(const std::string& body);

// Opaque page cursors: base64url of the last id of the previous page.
std::string encode_cursor(const std::string& last_id);
Result<std::string> decode_cursor(const std::string& cursor);
// Any text encode_cursor made, from at most max_chars characters; Errc::invalid_input.
Result<std::string> decode_cursor_text(const std::string& cursor, std::size_t max_chars);

}  // namespace hecs::control::api
