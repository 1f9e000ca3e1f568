#include "cli/identity_api.h"

#include <cctype>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/json_view.h"
#include "cli/text.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

constexpr const char* kKeys = "/api/v1/keys";

// The answer when it has a string `member`, else Errc::corrupt naming it.
Result<json::value> with_string(HttpClient& http, Result<json::value> answer,
                                const std::string& target, std::string_view member) {
  if (answer && !get_string(*answer, member)) {
    return tl::unexpected(missing_member(http, target, fmt::format("a \"{}\"", member)));
  }
  return answer;
}

Result<void> no_content(Result<json::value> answer) {
  if (!answer) {
    return tl::unexpected(std::move(answer.error()));
  }
  return {};
}

}  // namespace

bool looks_like_uuid(std::string_view text) {
  if (text.size() != 36) {
    return false;
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : std::isxdigit(static_cast<unsigned char>(text[i])) == 0) {
      return false;
    }
  }
  return true;
}

Result<json::value> AuthApi::login(std::string_view username, std::string_view password) {
  std::string target = "/api/v1/auth/login";
  json::value body =
      json::object{{"username", username}, {"password", password}, {"mode", "token"}};
  auto answer = with_string(http_, call_api(http_, Method::post, target, &body), target, "token");
  if (answer && get_object(*answer, "user") == nullptr) {
    return tl::unexpected(missing_member(http_, target, "a \"user\""));
  }
  return answer;
}

Result<void> AuthApi::logout() {
  return no_content(call_api(http_, Method::post, "/api/v1/auth/logout"));
}

Result<json::value> AuthApi::me() {
  std::string target = "/api/v1/auth/me";
  auto answer = with_string(http_, call_api(http_, Method::get, target), target, "tenant_id");
  return with_string(http_, std::move(answer), target, "role");
}

Result<void> AuthApi::change_password(std::string_view current, std::string_view next) {
  json::value body = json::object{{"current_password", current}, {"new_password", next}};
  return no_content(call_api(http_, Method::post, "/api/v1/auth/password", &body));
}

Result<json::value> AuthApi::list_sessions(bool all) {
  return call_items(http_, all ? "/api/v1/sessions?all=true" : "/api/v1/sessions");
}

Result<json::value> AuthApi::revoke_session(std::string_view id) {
  std::string target = "/api/v1/sessions/" + url_encode(id);
  return with_string(http_, call_api(http_, Method::del, target), target, "id");
}

Result<json::value> ApiKeysApi::list() { return call_items(http_, kKeys); }

Result<json::value> ApiKeysApi::show(std::string_view id) {
  std::string target = std::string(kKeys) + "/" + url_encode(id);
  return with_string(http_, call_api(http_, Method::get, target), target, "id");
}

Result<json::value> ApiKeysApi::create(const NewApiKey& request) {
  json::value body = json::object{
      {"name", request.name}, {"role", request.role}, {"expires_in_s", request.expires_in_s}};
  return with_string(http_, call_api(http_, Method::post, kKeys, &body), kKeys, "key");
}

Result<json::value> ApiKeysApi::revoke(std::string_view id) {
  std::string target = std::string(kKeys) + "/" + url_encode(id);
  return with_string(http_, call_api(http_, Method::del, target), target, "id");
}

Result<json::value> ApiKeysApi::rotate(std::string_view id, std::int64_t overlap_s,
                                       std::optional<std::int64_t> expires_in_s) {
  std::string target = std::string(kKeys) + "/" + url_encode(id) + "/rotate";
  json::object body{{"overlap_s", overlap_s}};
  if (expires_in_s) {
    body["expires_in_s"] = *expires_in_s;
  }
  json::value value(std::move(body));
  return with_string(http_, call_api(http_, Method::post, target, &value), target, "key");
}

Result<json::value> CollectionApi::list() { return call_items(http_, path_); }

Result<json::value> CollectionApi::show(std::string_view id) {
  std::string target = path_ + "/" + url_encode(id);
  return one(call_api(http_, Method::get, target), target);
}

Result<json::value> CollectionApi::create(const json::object& body) {
  json::value value(body);
  return one(call_api(http_, Method::post, path_, &value), path_);
}

Result<json::value> CollectionApi::update(std::string_view id, const json::object& changes) {
  std::string target = path_ + "/" + url_encode(id);
  json::value value(changes);
  return one(call_api(http_, Method::patch, target, &value), target);
}

Result<std::string> CollectionApi::resolve(std::string_view text, std::string_view name_member) {
  if (looks_like_uuid(text)) {
    return std::string(text);
  }
  auto items = list();
  if (!items) {
    return tl::unexpected(std::move(items.error()));
  }
  for (const json::value& item : *get_array(*items, "items")) {
    auto id = get_string(item, "id");
    if (id && get_string(item, name_member) == text) {
      return std::string(*id);
    }
  }
  std::string noun = path_.substr(path_.rfind('/') + 1);
  noun.pop_back();  // "users" -> "user"
  return fail(Errc::not_found, fmt::format("no {} with the id or {} {}", noun, name_member,
                                           escape_for_terminal(text)));
}

Result<json::value> CollectionApi::one(Result<json::value> answer, const std::string& target) {
  return with_string(http_, std::move(answer), target, "id");
}

}  // namespace hecs::cli
