// GET /api/v1/devices (filters, sorts, keyset cursors) and GET /api/v1/devices/facets, the
// Fleet page's list and the values of its filters (docs/api.md, "GET /api/v1/devices").
#include <algorithm>
#include <charconv>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string_view>
#include <vector>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "control/api/routes.h"
#include "control/targets/targets.h"

namespace hecs::control::api {
namespace json = boost::json;

namespace {

constexpr std::size_t kDefaultLimit = 50;
constexpr std::size_t kMaxLimit = 500;
constexpr std::size_t kMaxQuery = 200;
constexpr std::size_t kMaxVersion = 128;
constexpr std::size_t kMaxCursor = 2048;
// Facets answer at most this many versions, tag keys, and values per key.
constexpr std::size_t kMaxFacets = 100;

struct SortName {
  std::string_view name;
  store::DeviceSort sort;
};
constexpr SortName kSorts[] = {{"id", store::DeviceSort::id},
                               {"hostname", store::DeviceSort::hostname},
                               {"last_seen", store::DeviceSort::last_seen},
                               {"version", store::DeviceSort::version},
                               {"state", store::DeviceSort::state}};

std::vector<targets::Tag> device_tags(const std::string& text) {
  std::vector<targets::Tag> tags;
  boost::system::error_code ec;
  auto value = json::parse(text, ec);
  if (ec || !value.is_array()) {
    return tags;
  }
  for (const auto& item : value.as_array()) {
    if (item.is_string()) {
      if (auto tag = targets::parse_tag(std::string(item.as_string())); tag) {
        tags.push_back(std::move(*tag));
      }
    }
  }
  return tags;
}

std::string sort_key(const store::Device& d, store::DeviceSort sort) {
  switch (sort) {
    case store::DeviceSort::hostname:
      return d.hostname;
    case store::DeviceSort::last_seen:
      return std::to_string(d.last_seen);
    case store::DeviceSort::version:
      return d.agent_version;
    case store::DeviceSort::state:
      return d.state;
    case store::DeviceSort::id:
      break;
  }
  return d.id;
}

// The cursor names its sort, so that a cursor of one order is never read in another:
// base64url of "<sort>\n<key>\n<id>" (the key may hold anything, the id is a UUID).
std::string device_cursor(std::string_view sort, const std::string& key, const std::string& id) {
  return encode_cursor(fmt::format("{}\n{}\n{}", sort, key, id));
}

Result<void> read_cursor(const std::string& cursor, std::string_view sort, store::DeviceFilter& f) {
  auto text = decode_cursor_text(cursor, kMaxCursor);
  if (!text) {
    return tl::unexpected(text.error());
  }
  const auto first = text->find('\n');
  const auto last = text->rfind('\n');
  if (first == std::string::npos || first == last) {
    return fail(Errc::invalid_input, "invalid cursor");
  }
  if (std::string_view(*text).substr(0, first) != sort) {
    return fail(Errc::invalid_input, "cursor: it belongs to another sort");
  }
  f.after_key = text->substr(first + 1, last - first - 1);
  f.after_id = text->substr(last + 1);
  if (!is_uuid(f.after_id)) {
    return fail(Errc::invalid_input, "invalid cursor");
  }
  if (f.sort == store::DeviceSort::last_seen) {
    long long n = 0;
    const auto& k = f.after_key;
    auto [p, ec] = std::from_chars(k.data(), k.data() + k.size(), n);
    if (ec != std::errc() || p != k.data() + k.size()) {
      return fail(Errc::invalid_input, "invalid cursor");
    }
  }
  return {};
}

Result<void> read_states(const std::string& value, store::DeviceFilter& f) {
  std::set<std::string> seen;
  std::size_t at = 0;
  while (true) {
    const auto comma = value.find(',', at);
    const std::string part = value.substr(at, comma == std::string::npos ? comma : comma - at);
    if (!store::parse_state(part)) {
      return fail(Errc::invalid_input,
                  "state must be pending, accepted, rejected or revoked, comma-separated");
    }
    if (seen.insert(part).second) {
      f.states.push_back(part);
    }
    if (comma == std::string::npos) {
      return {};
    }
    at = comma + 1;
  }
}

// The group's test as a keep function: a static group's members, a dynamic group's selector.
Result<std::function<bool(const std::string&, const std::vector<targets::Tag>&)>> group_test(
    State& state, const std::string& tenant, const std::string& group_id) {
  if (state.deps.groups == nullptr) {
    return fail(Errc::unavailable, "groups are not available on this server");
  }
  auto group = is_uuid(group_id) ? state.deps.groups->get(tenant, group_id)
                                 : Result<store::Group>(fail(Errc::not_found, ""));
  if (!group) {
    if (group.error().code == Errc::not_found) {
      return fail(Errc::invalid_input, "group: no group with this id in your tenant");
    }
    return tl::unexpected(group.error());
  }
  if (group->selector.empty()) {
    auto members =
        std::make_shared<std::set<std::string>>(group->devices.begin(), group->devices.end());
    return [members](const std::string& id, const std::vector<targets::Tag>&) {
      return members->contains(id);
    };
  }
  auto selector = targets::parse_selector(group->selector);
  if (!selector) {
    return fail(Errc::invalid_input, "group: its selector: " + selector.error().message);
  }
  return [s = std::move(*selector)](const std::string&, const std::vector<targets::Tag>& tags) {
    return targets::matches(s, tags);
  };
}

struct ListQuery {
  store::DeviceFilter filter;
  std::string sort_name = "id";
  // Read after every parameter: the cursor needs the sort, the keep function both tests.
  std::string cursor;
  std::string group;
  std::optional<targets::Selector> selector;
  bool summary = false;  // view=summary: no inventory or telemetry bodies
};

Result<std::size_t> read_limit(const std::string& value) {
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || p != value.data() + value.size() || n < 1 || n > kMaxLimit) {
    return fail(Errc::invalid_input, fmt::format("limit must be 1..{}", kMaxLimit));
  }
  return n;
}

Result<void> read_sort(const std::string& value, ListQuery& out) {
  const std::string_view name = std::string_view(value).substr(value.starts_with('-') ? 1 : 0);
  const auto* found = std::find_if(std::begin(kSorts), std::end(kSorts),
                                   [&](const SortName& s) { return s.name == name; });
  if (found == std::end(kSorts)) {
    return fail(Errc::invalid_input,
                "sort must be id, hostname, last_seen, version or state, optionally with a "
                "leading '-' for descending");
  }
  out.filter.sort = found->sort;
  out.filter.descending = value.starts_with('-');
  out.sort_name = value;
  return {};
}

Result<void> read_text(const std::string& value, std::size_t max, std::string_view name,
                       std::string& into) {
  if (value.size() > max) {
    return fail(Errc::invalid_input, fmt::format("{} is limited to {} characters", name, max));
  }
  into = value;
  return {};
}

Result<void> read_param(const std::string& key, const std::string& value, ListQuery& out) {
  store::DeviceFilter& f = out.filter;
  if (key == "limit") {
    auto n = read_limit(value);
    if (!n) {
      return tl::unexpected(n.error());
    }
    f.limit = *n;
    return {};
  }
  if (key == "online") {
    if (value != "true" && value != "false") {
      return fail(Errc::invalid_input, "online must be true or false");
    }
    f.online = value == "true";
    return {};
  }
  if (key == "selector") {
    auto parsed = targets::parse_selector(value);
    if (!parsed) {
      return fail(Errc::invalid_input, "selector: " + parsed.error().message);
    }
    out.selector = std::move(*parsed);
    return {};
  }
  if (key == "version") {
    f.version.emplace();
    return read_text(value, kMaxVersion, "version", *f.version);
  }
  if (key == "q") {
    return read_text(value, kMaxQuery, "q", f.q);
  }
  if (key == "cursor") {
    return read_text(value, kMaxCursor, "cursor", out.cursor);
  }
  if (key == "group") {
    return read_text(value, 64, "group", out.group);
  }
  if (key == "state") {
    return read_states(value, f);
  }
  if (key == "sort") {
    return read_sort(value, out);
  }
  if (key == "view") {
    if (value != "full" && value != "summary") {
      return fail(Errc::invalid_input, "view must be full or summary");
    }
    out.summary = value == "summary";
    return {};
  }
  return fail(Errc::invalid_input, fmt::format("unknown query parameter '{}'", key));
}

Result<ListQuery> list_query(State& state, const Call& call) {
  ListQuery out;
  out.filter.limit = kDefaultLimit;
  for (const auto& [key, value] : call.req.query) {
    if (auto ok = read_param(key, value, out); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  if (!out.cursor.empty()) {
    if (auto ok = read_cursor(out.cursor, out.sort_name, out.filter); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  std::function<bool(const std::string&, const std::vector<targets::Tag>&)> in_group;
  if (!out.group.empty()) {
    auto test = group_test(state, call.who->tenant_id, out.group);
    if (!test) {
      return tl::unexpected(test.error());
    }
    in_group = std::move(*test);
  }
  if (out.selector || in_group) {
    out.filter.keep = [selector = out.selector, in_group](const std::string& id,
                                                          const std::string& tags_json) {
      const auto tags = device_tags(tags_json);
      return (!selector || targets::matches(*selector, tags)) && (!in_group || in_group(id, tags));
    };
  }
  return out;
}

net::Response list_devices(State& state, const Call& call) {
  auto query = list_query(state, call);
  if (!query) {
    return problem_from(query.error());
  }
  auto page = state.deps.devices.list(call.who->tenant_id, query->filter);
  if (!page) {
    return problem_from(page.error());
  }
  json::array items;
  for (const auto& d : page->items) {
    auto item = device_json(d);
    if (query->summary) {
      item.erase("inventory");
      item.erase("telemetry");
      item.erase("telemetry_at");
    }
    items.push_back(std::move(item));
  }
  json::object body;
  body["items"] = std::move(items);
  if (page->more && !page->items.empty()) {
    const auto& last = page->items.back();
    body["next_cursor"] =
        device_cursor(query->sort_name, sort_key(last, query->filter.sort), last.id);
  } else {
    body["next_cursor"] = nullptr;
  }
  body["total"] = page->total;
  return json_response(body);
}

net::Response device_facets(State& state, const Call& call) {
  if (!call.req.query.empty()) {
    return net::problem(400, "invalid_input", "invalid request", "facets take no parameters");
  }
  auto versions = state.deps.devices.versions(call.who->tenant_id, kMaxFacets);
  if (!versions) {
    return problem_from(versions.error());
  }
  auto devices = state.deps.devices.targets(call.who->tenant_id, /*with_inventory=*/false);
  if (!devices) {
    return problem_from(devices.error());
  }
  std::map<std::string, std::set<std::string>> seen;
  for (const auto& d : *devices) {
    for (auto& tag : device_tags(d.tags)) {
      auto it = seen.find(tag.key);
      if (it == seen.end()) {
        it = seen.emplace(std::move(tag.key), std::set<std::string>{}).first;
      }
      it->second.insert(std::move(tag.value));
    }
  }
  json::array version_list;
  for (const auto& v : *versions) {
    version_list.emplace_back(v);
  }
  json::object tags;
  bool truncated = versions->size() == kMaxFacets || seen.size() > kMaxFacets;
  for (const auto& [key, values] : seen) {
    if (tags.size() == kMaxFacets) {
      break;
    }
    json::array list;
    for (const auto& v : values) {
      if (list.size() == kMaxFacets) {
        truncated = true;
        break;
      }
      list.emplace_back(v);
    }
    tags[key] = std::move(list);
  }
  return json_response(json::object{
      {"versions", std::move(version_list)}, {"tags", std::move(tags)}, {"truncated", truncated}});
}

}  // namespace

void add_device_list_routes(Router& router, State& state) {
  router.add({"GET",
              "/api/v1/devices",
              needs(auth::Role::viewer),
              "devices.list",
              [&state](Call& call) { return list_devices(state, call); },
              {"List the tenant's devices",
               "",
               "DevicePage",
               200,
               {"limit", "cursor", "online", "q", "state", "selector", "group", "version", "sort",
                "view"}}});
  router.add({"GET",
              "/api/v1/devices/facets",
              needs(auth::Role::viewer),
              "devices.facets",
              [&state](Call& call) { return device_facets(state, call); },
              {"The agent versions and tags of the tenant's devices", "", "DeviceFacets"}});
}

}  // namespace hecs::control::api
