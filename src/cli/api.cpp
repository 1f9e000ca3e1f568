#include "cli/api.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/json_view.h"
#include "cli/text.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

// A server that keeps inventing cursors must not keep us paging forever.
constexpr int kMaxPages = 100000;
constexpr std::size_t kMaxProblemText = 300;

std::string_view reason_phrase(long status) {  // NOLINT(google-runtime-int)
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return status >= 300 && status < 400 ? "Unexpected redirect" : "Request failed";
  }
}

Errc errc_for_status(long status) {  // NOLINT(google-runtime-int)
  switch (status) {
    case 400:
    case 422:
      return Errc::invalid_input;
    case 401:
      return Errc::unauthorized;
    case 403:
      return Errc::forbidden;
    case 404:
      return Errc::not_found;
    case 409:
      return Errc::conflict;
    case 408:
    case 504:
      return Errc::timeout;
    default:
      return status >= 500 || status == 429 ? Errc::unavailable : Errc::internal;
  }
}

std::string clip(std::string_view text) {
  std::string escaped = escape_for_terminal(text);
  if (escaped.size() > kMaxProblemText) {
    std::size_t cut = kMaxProblemText;
    while (cut > 0 && (static_cast<unsigned char>(escaped[cut]) & 0xC0u) == 0x80u) {
      --cut;  // do not split a UTF-8 sequence
    }
    escaped = escaped.substr(0, cut) + "...";
  }
  return escaped;
}

}  // namespace

std::string devices_target(const DeviceQuery& query) {
  std::string target = "/api/v1/devices";
  char sep = '?';
  auto add = [&](std::string_view key, std::string_view value) {
    target += fmt::format("{}{}={}", sep, key, url_encode(value));
    sep = '&';
  };
  if (query.limit > 0) {
    add("limit", std::to_string(query.limit));
  }
  if (!query.cursor.empty()) {
    add("cursor", query.cursor);
  }
  if (query.online) {
    add("online", *query.online ? "true" : "false");
  }
  if (!query.text.empty()) {
    add("q", query.text);
  }
  return target;
}

std::string describe_http_error(long status, std::string_view body) {  // NOLINT
  boost::system::error_code ec;
  json::value problem = json::parse(body, ec);
  std::optional<std::string_view> title, detail;
  if (!ec) {
    title = get_string(problem, "title");
    detail = get_string(problem, "detail");
  }
  std::string line = title && !title->empty() ? clip(*title) : std::string(reason_phrase(status));
  if (detail && !detail->empty()) {
    line += ": " + clip(*detail);
  }
  return fmt::format("{} (HTTP {})", line, status);
}

namespace {

// The error for a non-2xx answer, as call_api() documents it.
Error status_error(const HttpClient& http, const HttpResponse& response) {
  std::string message = describe_http_error(response.status, response.body);
  if (!response.retry_after.empty()) {
    const std::string& after = response.retry_after;
    bool seconds = std::all_of(after.begin(), after.end(),
                               [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    message += seconds ? fmt::format("; retry in {}s", after)
                       : fmt::format("; retry after {}", escape_for_terminal(after));
  }
  if (response.status == 401 && http.sends_session_token()) {
    message += "; the session may have ended: run hecsctl login again";
  }
  return Error{errc_for_status(response.status), std::move(message)};
}

bool is_success(const HttpResponse& response) {
  return response.status >= 200 && response.status <= 299;
}

}  // namespace

Result<json::value> call_api(HttpClient& http, Method method, const std::string& target,
                             const json::value* body, json::value* problem) {
  std::string text = body ? json::serialize(*body) : "{}";
  auto response = method == Method::get     ? http.get(target)
                  : method == Method::del   ? http.del(target)
                  : method == Method::patch ? http.patch(target, text)
                  : method == Method::put   ? http.put(target, text)
                                            : http.post(target, text);
  if (!response) {
    return tl::unexpected<Error>(std::move(response.error()));
  }
  if (!is_success(*response)) {
    if (problem != nullptr) {
      boost::system::error_code ec;
      auto document = json::parse(response->body, ec);
      *problem = !ec && document.is_object() ? std::move(document) : json::value();
    }
    return tl::unexpected(status_error(http, *response));
  }
  if (response->status == 204) {
    return json::value(json::object());
  }
  boost::system::error_code ec;
  json::value document = json::parse(response->body, ec);
  if (ec || !document.is_object()) {
    return fail(Errc::corrupt,
                fmt::format("{} answered {} with {}", escape_for_terminal(http.base_url()),
                            escape_for_terminal(target),
                            ec ? "invalid JSON: " + ec.message()
                               : std::string("JSON that is not an object")));
  }
  return document;
}

Result<std::string> call_text(HttpClient& http, const std::string& target) {
  auto response = http.get(target);
  if (!response) {
    return tl::unexpected<Error>(std::move(response.error()));
  }
  if (!is_success(*response)) {
    return tl::unexpected(status_error(http, *response));
  }
  return std::move(response->body);
}

Result<json::value> call_items(HttpClient& http, const std::string& target) {
  auto answer = call_api(http, Method::get, target);
  if (answer && get_array(*answer, "items") == nullptr) {
    return tl::unexpected(missing_member(http, target, "an \"items\" array"));
  }
  return answer;
}

Error missing_member(const HttpClient& http, std::string_view target, std::string_view what) {
  return Error{Errc::corrupt,
               fmt::format("{} answered {} without {}", escape_for_terminal(http.base_url()),
                           escape_for_terminal(target), what)};
}

Result<json::value> DevicesApi::list_page(const DeviceQuery& query) {
  std::string target = devices_target(query);
  auto page = call_api(http_, Method::get, target);
  if (page && get_array(*page, "items") == nullptr) {
    return tl::unexpected(missing_member(http_, target, "an \"items\" array"));
  }
  return page;
}

Result<json::value> DevicesApi::list_all(DeviceQuery query) {
  json::array items;
  std::set<std::string> seen_cursors;
  for (int pages = 0; pages < kMaxPages; ++pages) {
    auto page = list_page(query);
    if (!page) {
      return page;
    }
    for (const json::value& item : *get_array(*page, "items")) {
      items.push_back(item);
    }
    auto next = get_string(*page, "next_cursor");
    if (!next || next->empty()) {
      std::size_t total = items.size();
      json::object all;
      all["items"] = std::move(items);
      all["total"] = total;
      return json::value(std::move(all));
    }
    if (!seen_cursors.emplace(*next).second) {
      return fail(Errc::corrupt, "the server sent the same next_cursor twice; stopped paging");
    }
    query.cursor = std::string(*next);
  }
  return fail(Errc::corrupt, fmt::format("more than {} pages; stopped paging", kMaxPages));
}

Result<json::value> DevicesApi::show(std::string_view id) {
  return call_api(http_, Method::get, "/api/v1/devices/" + url_encode(id));
}

Result<json::value> DevicesApi::decide(std::string_view id, Decision decision) {
  std::string_view action = decision == Decision::accept   ? "accept"
                            : decision == Decision::reject ? "reject"
                                                           : "revoke";
  std::string target = fmt::format("/api/v1/devices/{}/{}", url_encode(id), action);
  auto decided = call_api(http_, Method::post, target);
  if (decided && !get_string(*decided, "state")) {
    return tl::unexpected(missing_member(http_, target, "a \"state\""));
  }
  return decided;
}

Result<json::value> DevicesApi::set_tags(std::string_view id,
                                         const std::vector<std::string>& tags) {
  json::array items;
  for (const std::string& tag : tags) {
    items.emplace_back(tag);
  }
  json::value body = json::object{{"tags", std::move(items)}};
  std::string target = fmt::format("/api/v1/devices/{}/tags", url_encode(id));
  auto tagged = call_api(http_, Method::put, target, &body);
  if (tagged && get_array(*tagged, "tags") == nullptr) {
    return tl::unexpected(missing_member(http_, target, "a \"tags\" array"));
  }
  return tagged;
}

}  // namespace hecs::cli
