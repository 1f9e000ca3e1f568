// Health, metrics and device routes.
#include <charconv>
#include <variant>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "control/api/routes.h"

namespace hecs::control::api {
namespace json = boost::json;

namespace {

json::value parse_stored(const std::string& text) {
  if (text.empty()) {
    return nullptr;
  }
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  return ec ? json::value(nullptr) : v;
}

net::Response not_a_device() {
  return net::problem(404, "not_found", "not found", "no device with this id");
}

// The caller's device named by {id}, or the answer to give instead: one 404 for a malformed id,
// another tenant's device and a missing one alike.
std::variant<store::Device, net::Response> tenant_device(State& state, const Call& call) {
  const std::string& id = call.param("id");
  if (!is_uuid(id)) {
    return not_a_device();
  }
  auto device = state.deps.devices.get(call.who->tenant_id, id);
  if (!device) {
    return device.error().code == Errc::not_found ? not_a_device() : problem_from(device.error());
  }
  return std::move(*device);
}

}  // namespace

boost::json::object device_json(const store::Device& d) {
  json::object o;
  o["id"] = d.id;
  o["tenant_id"] = d.tenant_id;
  o["hostname"] = d.hostname;
  o["online"] = d.online;
  o["session"] = d.session;
  o["first_seen"] = format_rfc3339_ms(d.first_seen);
  o["last_seen"] = format_rfc3339_ms(d.last_seen);
  o["inventory"] = parse_stored(d.inventory);
  o["telemetry"] = parse_stored(d.telemetry);
  o["telemetry_at"] =
      d.telemetry_ts ? json::value(format_rfc3339_ms(*d.telemetry_ts)) : json::value(nullptr);
  o["state"] = d.state;
  o["tags"] = parse_stored(d.tags);
  o["agent_version"] = d.agent_version;
  return o;
}

void add_health_routes(Router& router, State& state) {
  // Unauthenticated: an explicit list of paths and methods (S25).
  router.add({"GET",
              "/healthz",
              open_access(),
              "health.live",
              [](Call&) {
                return json_response(json::object{{"status", "ok"}});
              },
              {"The process is up", "", "Status"}});
  router.add({"GET",
              "/readyz",
              open_access(),
              "health.ready",
              [&state](Call&) {
                bool ok = state.deps.ready ? state.deps.ready() : true;
                return ok ? json_response(json::object{{"status", "ready"}})
                          : net::problem(503, "unavailable", "not ready",
                                         "database or broker unreachable");
              },
              {"The database and the broker are reachable", "", "Status"}});
  router.add({"GET",
              "/metrics",
              open_access(),
              "metrics.get",
              [&state](Call&) {
                net::Response r;
                r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                r.body = state.deps.metrics.render();
                // Fleet-wide counts without tenant labels: /metrics is unauthenticated, so it
                // names no tenant and no device (issue 5, isolation).
                auto total = state.deps.devices.count(std::nullopt);
                auto online = state.deps.devices.count(true);
                if (total && online) {
                  r.body += fmt::format(
                      "# HELP hecs_devices Devices known to the control plane\n"
                      "# TYPE hecs_devices gauge\nhecs_devices {}\n"
                      "# HELP hecs_devices_online Devices online now\n"
                      "# TYPE hecs_devices_online gauge\nhecs_devices_online {}\n",
                      *total, *online);
                }
                return r;
              },
              {"Prometheus metrics", "", ""}});
}

void add_device_routes(Router& router, State& state) {
  add_device_list_routes(router, state);
  router.add({"GET",
              "/api/v1/devices/{id}",
              needs(auth::Role::viewer),
              "devices.get",
              [&state](Call& call) {
                auto device = tenant_device(state, call);
                if (auto* answer = std::get_if<net::Response>(&device)) {
                  return std::move(*answer);
                }
                return json_response(device_json(std::get<store::Device>(device)));
              },
              {"One device", "", "Device"}});
  router.add(
      {"GET",
       "/api/v1/devices/{id}/telemetry",
       needs(auth::Role::viewer),
       "devices.telemetry",
       [&state](Call& call) {
         auto device = tenant_device(state, call);
         if (auto* answer = std::get_if<net::Response>(&device)) {
           return std::move(*answer);
         }
         const std::string& id = call.param("id");
         // Raw telemetry window: ?since=<unix ms>&limit=N, oldest first.
         std::int64_t now = state.deps.clock.now_ms();
         std::int64_t since = now - std::int64_t{3600} * 1000;
         std::size_t limit = 500;
         for (const auto& [key, value] : call.req.query) {
           std::int64_t n = 0;
           auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
           bool numeric = ec == std::errc() && p == value.data() + value.size() && n >= 0;
           if (key == "since" && numeric) {
             since = n;
           } else if (key == "limit" && numeric && n >= 1 && n <= 5000) {
             limit = static_cast<std::size_t>(n);
           } else {
             return net::problem(400, "invalid_input", "invalid request",
                                 fmt::format("bad query parameter '{}'", key.substr(0, 64)));
           }
         }
         auto points = state.deps.telemetry.window(call.who->tenant_id, id, since, now + 1, limit);
         if (!points) {
           return problem_from(points.error());
         }
         json::array items;
         for (const auto& p : *points) {
           items.push_back(json::object{{"id", p.message_id},
                                        {"ts", format_rfc3339_ms(p.ts)},
                                        {"body", parse_stored(p.body)}});
         }
         return json_response(json::object{{"items", std::move(items)}});
       },
       {"A device's raw telemetry, oldest first", "", "TelemetryPage", 200, {"since", "limit"}}});
}

}  // namespace hecs::control::api
