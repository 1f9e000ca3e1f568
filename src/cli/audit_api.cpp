#include "cli/audit_api.h"

#include <set>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/api.h"
#include "cli/json_view.h"
#include "cli/text.h"
#include "common/crypto/crypto.h"

namespace hecs::cli {

namespace json = boost::json;

namespace {

constexpr const char* kAudit = "/api/v1/audit";
constexpr const char* kCheckpoints = "/api/v1/audit/checkpoints";
constexpr const char* kKeys = "/api/v1/audit/keys";
constexpr int kPageSize = 1000;  // the server's maximum
// A server that keeps inventing cursors must not keep us paging forever.
constexpr int kMaxPages = 100000;

Error unreadable(const HttpClient& http, std::string_view target, std::string_view what,
                 const Error& why) {
  return Error{Errc::corrupt,
               fmt::format("{} answered {} with {} that cannot be read: {}",
                           escape_for_terminal(http.base_url()), target, what, why.message)};
}

Result<audit::PublicKey> public_key_from_json(const json::value& item) {
  auto key_id = get_string(item, "key_id");
  auto encoded = get_string(item, "public_key");
  if (!key_id || !encoded) {
    return fail(Errc::invalid_input, "want \"key_id\" and \"public_key\" strings");
  }
  auto raw = crypto::base64url_decode(*encoded);
  if (!raw || raw->size() != crypto::kEd25519PublicKeyBytes) {
    return fail(Errc::invalid_input, fmt::format("key {}: public_key is not 32 bytes of base64url",
                                                 escape_for_terminal(*key_id)));
  }
  if (audit::key_id_of(*raw) != *key_id) {
    return fail(Errc::invalid_input, fmt::format("key {}: key_id is not the key's fingerprint",
                                                 escape_for_terminal(*key_id)));
  }
  return audit::PublicKey{std::string(*key_id), std::move(*raw)};
}

}  // namespace

std::string audit_target(const AuditQuery& query) {
  std::string target = kAudit;
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
  for (const auto& [key, value] :
       {std::pair{"action", &query.action}, std::pair{"actor", &query.actor},
        std::pair{"outcome", &query.outcome}}) {
    if (!value->empty()) {
      add(key, *value);
    }
  }
  if (query.since_ms) {
    add("since", std::to_string(*query.since_ms));
  }
  if (query.until_ms) {
    add("until", std::to_string(*query.until_ms));
  }
  return target;
}

Result<json::value> AuditApi::list_page(const AuditQuery& query) {
  return call_items(http_, audit_target(query));
}

Result<json::value> AuditApi::list_all(AuditQuery query) {
  json::array items;
  std::set<std::string> seen_cursors;
  for (int pages = 0; pages < kMaxPages; ++pages) {
    auto page = list_page(query);
    if (!page) {
      return page;
    }
    for (json::value& item : *page->as_object()["items"].if_array()) {
      items.push_back(std::move(item));
    }
    auto next = get_string(*page, "next_cursor");
    if (!next || next->empty()) {
      return json::value(json::object{{"items", std::move(items)}});
    }
    if (!seen_cursors.emplace(*next).second) {
      return fail(Errc::corrupt, "the server sent the same next_cursor twice; stopped paging");
    }
    query.cursor = std::string(*next);
  }
  return fail(Errc::corrupt, fmt::format("more than {} pages; stopped paging", kMaxPages));
}

Result<json::value> AuditApi::checkpoints() { return call_items(http_, kCheckpoints); }

Result<audit::Checkpoint> AuditApi::create_checkpoint() {
  auto made = call_api(http_, Method::post, kCheckpoints);
  if (!made) {
    return tl::unexpected(std::move(made.error()));
  }
  auto checkpoint = audit::checkpoint_from_json(*made);
  if (!checkpoint) {
    return tl::unexpected(unreadable(http_, kCheckpoints, "a checkpoint", checkpoint.error()));
  }
  return checkpoint;
}

Result<audit::Bundle> AuditApi::fetch_bundle(std::string tenant_id) {
  audit::Bundle bundle;
  bundle.tenant_id = std::move(tenant_id);
  auto records = list_all(AuditQuery{.limit = kPageSize});
  if (!records) {
    return tl::unexpected(std::move(records.error()));
  }
  for (const json::value& item : *get_array(*records, "items")) {
    auto record = audit::record_from_json(item);
    if (!record) {
      return tl::unexpected(unreadable(http_, kAudit, "a record", record.error()));
    }
    bundle.records.push_back(std::move(*record));
  }
  auto checkpoints = this->checkpoints();
  if (!checkpoints) {
    return tl::unexpected(std::move(checkpoints.error()));
  }
  for (const json::value& item : *get_array(*checkpoints, "items")) {
    auto checkpoint = audit::checkpoint_from_json(item);
    if (!checkpoint) {
      return tl::unexpected(unreadable(http_, kCheckpoints, "a checkpoint", checkpoint.error()));
    }
    bundle.checkpoints.push_back(std::move(*checkpoint));
  }
  auto keys = call_items(http_, kKeys);
  if (!keys) {
    return tl::unexpected(std::move(keys.error()));
  }
  for (const json::value& item : *get_array(*keys, "items")) {
    auto key = public_key_from_json(item);
    if (!key) {
      return tl::unexpected(unreadable(http_, kKeys, "a key", key.error()));
    }
    bundle.keys.push_back(std::move(*key));
  }
  return bundle;
}

}  // namespace hecs::cli
