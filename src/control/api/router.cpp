#include "control/api/router.h"

#include <algorithm>

namespace hecs::control::api {
namespace {

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    path.remove_prefix(slash == std::string_view::npos ? path.size() : slash);
  }
  return out;
}

bool is_parameter(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// How well `pattern` matches: the number of literal segments, or -1 for no match.
int score(std::string_view pattern, const std::vector<std::string_view>& path,
          std::vector<std::pair<std::string, std::string>>* params) {
  auto want = segments(pattern);
  if (want.size() != path.size()) {
    return -1;
  }
  int literal = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (is_parameter(want[i])) {
      if (path[i].empty()) {
        return -1;
      }
      if (params != nullptr) {
        params->emplace_back(std::string(want[i].substr(1, want[i].size() - 2)),
                             std::string(path[i]));
      }
    } else if (want[i] == path[i]) {
      ++literal;
    } else {
      return -1;
    }
  }
  return literal;
}

}  // namespace

const std::string& Call::param(std::string_view name) const {
  static const std::string kEmpty;
  for (const auto& [key, value] : params) {
    if (key == name) {
      return value;
    }
  }
  return kEmpty;
}

bool is_mutating(std::string_view method) {
  return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

void Router::add(Route route) { routes_.push_back(std::move(route)); }

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  // A trailing slash or an empty segment ("//") is another path, not this one.
  if (path.empty() || path.back() == '/' || path.find("//") != std::string_view::npos) {
    return m;
  }
  const auto parts = segments(path);
  const std::string_view want = method == "HEAD" ? "GET" : method;
  int best = -1;
  int best_any = -1;
  std::vector<std::string_view> allowed;
  for (const auto& route : routes_) {
    int s = score(route.pattern, parts, nullptr);
    if (s < 0) {
      continue;
    }
    if (s > best_any) {
      best_any = s;
      allowed.clear();
      m.open_path = false;
    }
    if (s == best_any) {
      allowed.push_back(route.method);
      m.open_path = m.open_path || route.access.kind == Access::Kind::open;
    }
    if (route.method == want && s > best) {
      best = s;
      m.route = &route;
    }
  }
  if (m.route != nullptr) {
    score(m.route->pattern, parts, &m.params);
    return m;
  }
  std::sort(allowed.begin(), allowed.end());
  allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
  for (auto a : allowed) {
    m.allow += m.allow.empty() ? std::string(a) : ", " + std::string(a);
  }
  return m;
}

}  // namespace hecs::control::api
