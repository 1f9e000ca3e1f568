// The REST API of hecs-control (DESIGN §8): routes, authentication, RFC 9457 problems. It sees
// plain net::Request / net::Response only; handlers block on the stores and run on the worker
// pool (net::HttpServer does that).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/metrics/metrics.h"
#include "common/net/http_types.h"
#include "control/auth/auth.h"
#include "control/ca/ca.h"
#include "control/store/store.h"

namespace hecs::control::api {

struct Deps {
  store::IdentityStore& identities;
  store::DeviceStore& devices;
  store::TelemetryStore& telemetry;
  store::EnrollmentStore& enrollments;
  ca::Enrolment& enrolment;
  metrics::Registry& metrics;
  const Clock& clock;
  std::function<bool()> ready;  // /readyz: database and broker reachable
};

class Api {
 public:
  explicit Api(Deps deps);  // everything in deps outlives us
  net::Response handle(const net::Request& request);

 private:
  net::Response route(const net::Request& request);
  Deps deps_;
  auth::KeyCache keys_;
};

// An Error as a problem response: the one place where Errc becomes an HTTP status.
net::Response problem_from(const Error& error);

// Opaque page cursors: base64url of the last id of the previous page.
std::string encode_cursor(const std::string& last_id);
Result<std::string> decode_cursor(const std::string& cursor);

}  // namespace hecs::control::api
