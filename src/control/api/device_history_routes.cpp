// A device's history for its page in the admin panel (docs/api.md): online changes
// (GET /api/v1/devices/{id}/presence) and telemetry summed into chart buckets
// (GET /api/v1/devices/{id}/telemetry/series).
#include <charconv>
#include <optional>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "control/api/routes.h"
#include "control/api/telemetry_series.h"

namespace hecs::control::api {
namespace json = boost::json;

namespace {

constexpr std::int64_t kHour = std::int64_t{3600} * 1000;
constexpr std::int64_t kDay = 24 * kHour;
constexpr std::int64_t kMinStep = 10'000;
constexpr std::int64_t kMaxStep = kDay;
constexpr std::int64_t kDefaultStep = 60'000;
constexpr std::int64_t kMaxBuckets = 1500;
constexpr std::size_t kMaxChanges = 1000;
constexpr std::size_t kRowsPerRead = 500;
constexpr std::int64_t kRateLookback = 10 * 60 * 1000;  // how far back the base of the rates may be

net::Response bad_request(const std::string& detail) {
  return net::problem(400, "invalid_input", "invalid request", detail);
}

// A non-negative integer query value, or nullopt.
std::optional<std::int64_t> non_negative(const std::string& value) {
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || p != value.data() + value.size() || n < 0) {
    return std::nullopt;
  }
  return n;
}

// One 404 for a malformed id, another tenant's device and a missing one alike; nullopt when
// the device is the caller's.
std::optional<net::Response> check_device(State& state, const Call& call) {
  const std::string& id = call.param("id");
  if (!is_uuid(id)) {
    return net::problem(404, "not_found", "not found", "no device with this id");
  }
  auto device = state.deps.devices.get(call.who->tenant_id, id);
  if (!device) {
    if (device.error().code == Errc::not_found) {
      return net::problem(404, "not_found", "not found", "no device with this id");
    }
    return problem_from(device.error());
  }
  return std::nullopt;
}

net::Response presence(State& state, Call& call) {
  const std::int64_t now = state.deps.clock.now_ms();
  std::int64_t since = now - kDay;
  for (const auto& [key, value] : call.req.query) {
    if (key != "since") {
      return bad_request(fmt::format("unknown query parameter '{}'", key.substr(0, 64)));
    }
    auto n = non_negative(value);
    if (!n) {
      return bad_request("since must be unix milliseconds");
    }
    since = *n;
  }
  if (since > now) {
    return bad_request("since is in the future");
  }
  if (auto refused = check_device(state, call)) {
    return std::move(*refused);
  }
  auto history =
      state.deps.telemetry.presence(call.who->tenant_id, call.param("id"), since, kMaxChanges);
  if (!history) {
    return problem_from(history.error());
  }
  json::array items;
  for (const auto& change : history->items) {
    items.push_back(json::object{{"ts", format_time(change.ts)}, {"online", change.online}});
  }
  json::object body;
  body["since"] = format_time(since);
  body["online_at_since"] =
      history->online_at_since ? json::value(*history->online_at_since) : json::value(nullptr);
  body["items"] = std::move(items);
  body["more"] = history->more;
  return json_response(body);
}

net::Response series(State& state, Call& call) {
  const std::int64_t now = state.deps.clock.now_ms();
  const std::int64_t window = state.deps.telemetry_window_ms;
  std::int64_t since = now - kHour;
  std::int64_t step = kDefaultStep;
  for (const auto& [key, value] : call.req.query) {
    if (key != "since" && key != "step") {
      return bad_request(fmt::format("unknown query parameter '{}'", key.substr(0, 64)));
    }
    auto n = non_negative(value);
    if (!n) {
      return bad_request(fmt::format("{} must be a non-negative integer of milliseconds", key));
    }
    (key == "since" ? since : step) = *n;
  }
  if (step < kMinStep || step > kMaxStep) {
    return bad_request(fmt::format("step must be {}..{} ms", kMinStep, kMaxStep));
  }
  if (since > now) {
    return bad_request("since is in the future");
  }
  if (since < now - window) {
    return bad_request(
        fmt::format("since must be within the raw telemetry window ({} h)", window / kHour));
  }
  const std::int64_t first = since / step * step;
  const std::int64_t count = now / step - since / step + 1;
  if (count > kMaxBuckets) {
    return bad_request(fmt::format("{} buckets asked, at most {}: raise step", count, kMaxBuckets));
  }
  if (auto refused = check_device(state, call)) {
    return std::move(*refused);
  }
  TelemetrySeries buckets(first, step, static_cast<std::size_t>(count));
  // From a little before the first bucket: the sample before it is the base of its rates, so
  // that a refresh of the newest bucket alone has them too.
  const std::int64_t from = std::max<std::int64_t>(0, first - std::max(step, kRateLookback));
  auto scanned = state.deps.telemetry.scan(
      call.who->tenant_id, call.param("id"), from, now + 1, kRowsPerRead,
      [&buckets](const store::TelemetryPoint& point) -> Result<void> {
        boost::system::error_code ec;
        auto body = json::parse(point.body, ec);
        if (!ec && body.is_object()) {  // stored bodies passed their schema; skip any other
          buckets.add(point.ts, body.get_object());
        }
        return {};
      });
  if (!scanned) {
    return problem_from(scanned.error());
  }
  json::object body;
  body["since"] = format_time(first);
  body["step"] = step;
  body["items"] = buckets.items();
  return json_response(body);
}

}  // namespace

void add_device_history_routes(Router& router, State& state) {
  router.add({"GET",
              "/api/v1/devices/{id}/presence",
              needs(auth::Role::viewer),
              "devices.presence",
              [&state](Call& call) { return presence(state, call); },
              {"A device's online changes", "", "PresenceHistory", 200, {"since"}}});
  router.add(
      {"GET",
       "/api/v1/devices/{id}/telemetry/series",
       needs(auth::Role::viewer),
       "devices.telemetry_series",
       [&state](Call& call) { return series(state, call); },
       {"A device's telemetry in chart buckets", "", "TelemetrySeries", 200, {"since", "step"}}});
}

}  // namespace hecs::control::api
