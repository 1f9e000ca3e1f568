// Fuzz target for the REST API's request routing and JSON body reading (issue 5, point 7;
// S34): whatever method, path and body a client sends, Router::match and Body return a value
// and never crash, and what they accept keeps their promises.
//
// Input: the first line is "METHOD PATH", the rest is the body.
// Built twice by CMakeLists.txt: by clang with libFuzzer (api_fuzz) and by g++ with
// replay_main.cpp (fuzz_replay_api, which runs the stored corpus in every unit test run).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "control/api/router.h"
#include "control/api/routes.h"

namespace {

using hecs::control::api::Body;
using hecs::control::api::Call;
using hecs::control::api::needs;
using hecs::control::api::open_access;
using hecs::control::api::Route;
using hecs::control::api::Router;

[[noreturn]] void invariant_broken() { std::abort(); }

hecs::net::Response nothing(Call&) { return {}; }

// The shapes of the API's routes: literals, {id} at several depths, a literal beside a
// parameter, several methods on one path.
const Router& router() {
  static const Router r = [] {
    Router out;
    const auto viewer = needs(hecs::control::auth::Role::viewer);
    for (auto [method, pattern] : {std::pair<std::string_view, std::string_view>{"GET", "/healthz"},
                                   {"GET", "/api/v1/devices"},
                                   {"GET", "/api/v1/devices/{id}"},
                                   {"GET", "/api/v1/devices/{id}/telemetry"},
                                   {"POST", "/api/v1/devices/{id}/accept"},
                                   {"GET", "/api/v1/keys"},
                                   {"POST", "/api/v1/keys"},
                                   {"DELETE", "/api/v1/keys/{id}"},
                                   {"POST", "/api/v1/keys/{id}/rotate"},
                                   {"GET", "/api/v1/audit/checkpoints"},
                                   {"POST", "/api/v1/audit/checkpoints"},
                                   {"GET", "/api/v1/audit/{id}"},
                                   {"PATCH", "/api/v1/users/{id}"}}) {
      out.add({method,
               pattern,
               method == "GET" ? open_access() : viewer,
               "fuzz.route",
               nothing,
               {"", "", ""}});
    }
    return out;
  }();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string_view line = input.substr(0, newline);
  const std::string body(newline == std::string_view::npos ? "" : input.substr(newline + 1));
  const auto space = line.find(' ');
  const std::string method(line.substr(0, space));
  const std::string path(space == std::string_view::npos ? "" : line.substr(space + 1));

  auto m = router().match(method, path);
  if (m.route != nullptr) {
    // A match has one parameter per {…} of its pattern, none empty, and no allow list.
    std::size_t braces = 0;
    for (char c : m.route->pattern) {
      braces += c == '{' ? 1 : 0;
    }
    if (m.params.size() != braces || !m.allow.empty()) {
      invariant_broken();
    }
    for (const auto& [name, value] : m.params) {
      if (name.empty() || value.empty() || value.find('/') != std::string::npos) {
        invariant_broken();
      }
    }
  } else if (!m.params.empty()) {
    invariant_broken();
  }

  auto parsed = Body::parse(body, {"name", "role", "expires_in_s", "disabled", "owner"});
  if (parsed) {
    for (const auto& member : parsed->raw()) {
      std::string_view key = member.key();
      if (key != "name" && key != "role" && key != "expires_in_s" && key != "disabled" &&
          key != "owner") {
        invariant_broken();  // mass assignment: nothing outside the allowed list gets through
      }
    }
    auto name = parsed->text("name", 64);
    if (name && *name) {
      if ((*name)->size() > 64) {
        invariant_broken();
      }
      (void)hecs::control::api::check_name("name", **name);
    }
    auto n = parsed->integer("expires_in_s", 60, 1000);
    if (n && *n && (**n < 60 || **n > 1000)) {
      invariant_broken();
    }
    (void)parsed->boolean("disabled");
    (void)parsed->object("owner", {"username", "password"});
  }
  return 0;
}
