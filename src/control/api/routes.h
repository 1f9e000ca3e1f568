// Route handlers of the API split by area; private to src/control/api (api.h is the public
// header). Each answers one path family and returns a finished response.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "common/clock.h"
#include "common/net/http_types.h"
#include "control/ca/ca.h"
#include "control/store/store.h"

namespace hecs::control::api {

net::Response json_response(const boost::json::value& v, int status = 200);
net::Response method_not_allowed(std::string_view allow);
// A JSON object body, nested at most 8 levels; Errc::invalid_input otherwise.
Result<boost::json::object> parse_body_object(const std::string& body);

// /api/v1/enroll and /api/v1/enroll/ca: unauthenticated (S25: only these methods and paths).
net::Response enrol_route(const net::Request& req, ca::Enrolment& enrolment);
// /api/v1/enrollment-tokens[/{id}]
net::Response tokens_route(const net::Request& req, const std::string& tenant_id,
                           ca::Enrolment& enrolment, store::EnrollmentStore& store,
                           const Clock& clock);
// POST /api/v1/devices/{id}/{accept|reject|revoke}
net::Response decision_route(const net::Request& req, const std::string& tenant_id,
                             const std::string& device_id, std::string_view action,
                             ca::Enrolment& enrolment);
// /api/v1/signing-keys, /api/v1/signing-keys/activate
net::Response signing_keys_route(const net::Request& req, ca::Enrolment& enrolment);

}  // namespace hecs::control::api
