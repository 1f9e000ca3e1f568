#include "cli/enrol_api.h"

#include <boost/json.hpp>

#include "cli/api.h"
#include "cli/json_view.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

constexpr const char* kTokens = "/api/v1/enrollment-tokens";
constexpr const char* kKeys = "/api/v1/signing-keys";

}  // namespace

json::value token_request_body(const TokenRequest& request) {
  json::array tags;
  for (const std::string& tag : request.tags) {
    tags.emplace_back(tag);
  }
  return json::object{{"expires_in_s", request.expires_in_s},
                      {"max_uses", request.max_uses},
                      {"tags", std::move(tags)},
                      {"auto_approve", request.auto_approve},
                      {"description", request.description}};
}

Result<json::value> EnrolmentApi::create_token(const TokenRequest& request) {
  json::value body = token_request_body(request);
  auto made = call_api(http_, Method::post, kTokens, &body);
  if (made && (!get_string(*made, "token") || !get_string(*made, "ca_sha256"))) {
    return tl::unexpected(missing_member(http_, kTokens, "\"token\" and \"ca_sha256\""));
  }
  return made;
}

Result<json::value> EnrolmentApi::list_tokens() { return items(Method::get, kTokens); }

Result<json::value> EnrolmentApi::revoke_token(std::string_view id) {
  std::string target = std::string(kTokens) + "/" + url_encode(id);
  auto revoked = call_api(http_, Method::del, target);
  if (revoked && !get_string(*revoked, "id")) {
    return tl::unexpected(missing_member(http_, target, "an \"id\""));
  }
  return revoked;
}

Result<json::value> EnrolmentApi::list_keys() { return items(Method::get, kKeys); }

Result<json::value> EnrolmentApi::rotate_key() { return items(Method::post, kKeys); }

Result<json::value> EnrolmentApi::activate_key() {
  return items(Method::post, std::string(kKeys) + "/activate");
}

Result<json::value> EnrolmentApi::items(Method method, const std::string& target) {
  auto answer = call_api(http_, method, target);
  if (answer && get_array(*answer, "items") == nullptr) {
    return tl::unexpected(missing_member(http_, target, "an \"items\" array"));
  }
  return answer;
}

}  // namespace hecs::cli
