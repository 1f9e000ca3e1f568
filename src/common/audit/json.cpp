// JSON forms of records, checkpoints and export bundles (audit.h, last section). A bundle
// comes from outside (a customer's disk, a support ticket), so parsing is strict and bounded
// before anything is allocated for it.
#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/audit/audit.h"
#include "common/crypto/crypto.h"
#include "common/result.h"

namespace hecs::audit {
namespace {

constexpr std::string_view kFormat = "hecs-audit-bundle-v1";
constexpr int kMaxDepth = 8;
constexpr std::size_t kMaxEcho = 32;

constexpr std::array<std::string_view, 12> kRecordMembers = {
    "tenant_id", "seq",     "ts",         "actor",  "action",    "target",
    "source",    "outcome", "request_id", "detail", "prev_hash", "hash"};
constexpr std::array<std::string_view, 6> kCheckpointMembers = {"tenant_id", "seq",    "head",
                                                                "ts",        "key_id", "signature"};
constexpr std::array<std::string_view, 2> kKeyMembers = {"key_id", "public_key"};
constexpr std::array<std::string_view, 5> kBundleMembers = {"format", "tenant_id", "records",
                                                            "checkpoints", "keys"};

// A member name from the input, safe to put in a reason: printable ASCII, cut short.
std::string echo(std::string_view text) {
  std::string out = "\"";
  for (const char c : text.substr(0, kMaxEcho)) {
    out += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? c : '?';
  }
  out += text.size() > kMaxEcho ? "...\"" : "\"";
  return out;
}

std::string index_path(std::string_view parent, std::size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

// Reads the members of one object, exactly those in `members`, keeping the first error: once a
// read fails the later ones do nothing, so a reader is a flat list of reads and one check.
class Reader {
 public:
  template <std::size_t N>
  Reader(const boost::json::value& value, std::string path,
         const std::array<std::string_view, N>& members)
      : path_(std::move(path)) {
    object_ = value.if_object();
    if (object_ == nullptr) {
      set_error(path_ + ": expected an object");
      return;
    }
    for (const auto& entry : *object_) {
      if (std::find(members.begin(), members.end(), entry.key()) == members.end()) {
        set_error(path_ + ": unknown member " + echo(entry.key()));
        return;
      }
    }
  }

  void read(std::string_view key, std::string& out, std::size_t max_bytes = kMaxFieldBytes) {
    const boost::json::value* v = find(key);
    if (v == nullptr) {
      return;
    }
    const boost::json::string* s = v->if_string();
    if (s == nullptr) {
      reject(key, "expected a string");
    } else if (s->size() > max_bytes) {
      reject(key, "longer than " + std::to_string(max_bytes) + " bytes");
    } else {
      out.assign(s->data(), s->size());
    }
  }

  void read(std::string_view key, std::uint64_t& out) {
    const boost::json::value* v = find(key);
    if (v == nullptr) {
      return;
    }
    if (const std::uint64_t* u = v->if_uint64()) {
      out = *u;
    } else if (const std::int64_t* i = v->if_int64(); i != nullptr && *i >= 0) {
      out = static_cast<std::uint64_t>(*i);
    } else {
      reject(key, "expected an unsigned integer");
    }
  }

  void read(std::string_view key, std::int64_t& out) {
    const boost::json::value* v = find(key);
    if (v == nullptr) {
      return;
    }
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (const std::int64_t* i = v->if_int64()) {
      out = *i;
    } else if (const std::uint64_t* u = v->if_uint64(); u != nullptr && *u <= kMax) {
      out = static_cast<std::int64_t>(*u);
    } else {
      reject(key, "expected an integer");
    }
  }

  // The array under `key`, or nullptr after recording why not.
  const boost::json::array* array(std::string_view key, std::size_t max_items) {
    const boost::json::value* v = find(key);
    if (v == nullptr) {
      return nullptr;
    }
    const boost::json::array* a = v->if_array();
    if (a == nullptr) {
      reject(key, "expected an array");
      return nullptr;
    }
    if (a->size() > max_items) {
      reject(key, "more than " + std::to_string(max_items) + " items");
      return nullptr;
    }
    return a;
  }

  void reject(std::string_view key, std::string_view why) {
    set_error(path_ + "." + std::string(key) + ": " + std::string(why));
  }
  void set_error(std::string message) {
    if (ok()) {
      error_ = Error{Errc::invalid_input, std::move(message)};
    }
  }
  bool ok() const { return !error_; }
  const Error& error() const { return *error_; }

 private:
  const boost::json::value* find(std::string_view key) {
    if (!ok()) {
      return nullptr;
    }
    const boost::json::value* v = object_->if_contains(key);
    if (v == nullptr) {
      reject(key, "missing");
    }
    return v;
  }

  const boost::json::object* object_ = nullptr;
  std::string path_;
  std::optional<Error> error_;
};

Result<Record> read_record(const boost::json::value& value, std::string path) {
  Reader in(value, std::move(path), kRecordMembers);
  Record r;
  in.read("tenant_id", r.tenant_id);
  in.read("seq", r.seq);
  in.read("ts", r.ts);
  in.read("actor", r.actor);
  in.read("action", r.action);
  in.read("target", r.target);
  in.read("source", r.source);
  in.read("outcome", r.outcome);
  in.read("request_id", r.request_id);
  in.read("detail", r.detail, kMaxDetailBytes);
  in.read("prev_hash", r.prev_hash);
  in.read("hash", r.hash);
  if (!in.ok()) {
    return tl::unexpected(in.error());
  }
  return r;
}

Result<Checkpoint> read_checkpoint(const boost::json::value& value, std::string path) {
  Reader in(value, std::move(path), kCheckpointMembers);
  Checkpoint c;
  in.read("tenant_id", c.tenant_id);
  in.read("seq", c.seq);
  in.read("head", c.head);
  in.read("ts", c.ts);
  in.read("key_id", c.key_id);
  in.read("signature", c.signature);
  if (!in.ok()) {
    return tl::unexpected(in.error());
  }
  return c;
}

// A key is its bytes: the id must be their fingerprint, so a verifier comparing ids with the
// published ones compares the keys themselves.
Result<PublicKey> read_key(const boost::json::value& value, std::string path) {
  Reader in(value, std::move(path), kKeyMembers);
  PublicKey key;
  std::string encoded;
  in.read("key_id", key.key_id);
  in.read("public_key", encoded);
  if (!in.ok()) {
    return tl::unexpected(in.error());
  }
  auto raw = crypto::base64url_decode(encoded);
  if (!raw || raw->size() != crypto::kEd25519PublicKeyBytes) {
    in.reject("public_key", "expected 32 bytes of base64url");
  } else if (key_id_of(*raw) != key.key_id) {
    in.reject("key_id", "is not the fingerprint of public_key");
  }
  if (!in.ok()) {
    return tl::unexpected(in.error());
  }
  key.public_key = std::move(*raw);
  return key;
}

// Reads every item of `array` with `read_item(value, path)` into `out`.
template <class T, class ReadItem>
Result<void> read_items(const boost::json::array& array, std::string_view path, std::vector<T>& out,
                        ReadItem read_item) {
  out.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) {
    auto item = read_item(array[i], index_path(path, i));
    if (!item) {
      return tl::unexpected(std::move(item.error()));
    }
    out.push_back(std::move(*item));
  }
  return {};
}

// Counts object members as the text is read. Boost.JSON 1.81 keeps one value of a duplicated
// key without saying so; another reader (a customer's script) may keep the other, and the two
// would then verify different logs. Comparing this count with the built tree's finds every
// duplicate in one pass. As in src/proto/command.cpp.
struct MemberCounter {
  // NOLINTBEGIN(readability-identifier-naming): names required by Boost.JSON's handler concept
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  // NOLINTEND(readability-identifier-naming)
  using ec_t = boost::system::error_code;
  using sv_t = boost::json::string_view;

  std::size_t members = 0;

  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_array_begin(ec_t&) { return true; }
  bool on_array_end(std::size_t, ec_t&) { return true; }
  bool on_object_begin(ec_t&) { return true; }
  bool on_object_end(std::size_t n, ec_t&) {
    members += n;
    return true;
  }
  bool on_string_part(sv_t, std::size_t, ec_t&) { return true; }
  bool on_string(sv_t, std::size_t, ec_t&) { return true; }
  bool on_key_part(sv_t, std::size_t, ec_t&) { return true; }
  bool on_key(sv_t, std::size_t, ec_t&) { return true; }
  bool on_number_part(sv_t, ec_t&) { return true; }
  bool on_int64(std::int64_t, sv_t, ec_t&) { return true; }
  bool on_uint64(std::uint64_t, sv_t, ec_t&) { return true; }
  bool on_double(double, sv_t, ec_t&) { return true; }
  bool on_bool(bool, ec_t&) { return true; }
  bool on_null(ec_t&) { return true; }
  bool on_comment_part(sv_t, ec_t&) { return true; }
  bool on_comment(sv_t, ec_t&) { return true; }
};

// Recursion is bounded by the parser's nesting limit.
std::size_t tree_members(const boost::json::value& value) {
  std::size_t n = 0;
  if (const auto* object = value.if_object()) {
    n += object->size();
    for (const auto& entry : *object) {
      n += tree_members(entry.value());
    }
  } else if (const auto* array = value.if_array()) {
    for (const auto& item : *array) {
      n += tree_members(item);
    }
  }
  return n;
}

Result<void> check_no_duplicates(std::string_view text, const boost::json::value& tree,
                                 const boost::json::parse_options& options) {
  boost::json::basic_parser<MemberCounter> counter(options);
  boost::system::error_code ec;
  const std::size_t used = counter.write_some(false, text.data(), text.size(), ec);
  if (ec || used != text.size()) {
    return fail(Errc::internal, "bundle: the two json parsers disagree");
  }
  if (counter.handler().members != tree_members(tree)) {
    return fail(Errc::invalid_input, "bundle: duplicate member");
  }
  return {};
}

Result<Bundle> read_bundle(const boost::json::value& root) {
  Reader in(root, "bundle", kBundleMembers);
  std::string format;
  in.read("format", format);
  if (in.ok() && format != kFormat) {
    in.reject("format", "expected \"hecs-audit-bundle-v1\"");
  }
  Bundle bundle;
  in.read("tenant_id", bundle.tenant_id);
  const boost::json::array* records = in.array("records", kMaxBundleRecords);
  const boost::json::array* checkpoints = in.array("checkpoints", kMaxBundleCheckpoints);
  const boost::json::array* keys = in.array("keys", kMaxBundleKeys);
  if (!in.ok()) {
    return tl::unexpected(in.error());
  }
  Result<void> read = read_items(*records, "bundle.records", bundle.records, read_record);
  if (read) {
    read = read_items(*checkpoints, "bundle.checkpoints", bundle.checkpoints, read_checkpoint);
  }
  if (read) {
    read = read_items(*keys, "bundle.keys", bundle.keys, read_key);
  }
  if (!read) {
    return tl::unexpected(std::move(read.error()));
  }
  for (std::size_t i = 1; i < bundle.keys.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (bundle.keys[i].key_id == bundle.keys[j].key_id) {
        return fail(Errc::invalid_input, index_path("bundle.keys", i) + ": listed twice");
      }
    }
  }
  return bundle;
}

}  // namespace

boost::json::object to_json(const Record& r) {
  return {{"tenant_id", r.tenant_id},
          {"seq", r.seq},
          {"ts", r.ts},
          {"actor", r.actor},
          {"action", r.action},
          {"target", r.target},
          {"source", r.source},
          {"outcome", r.outcome},
          {"request_id", r.request_id},
          {"detail", r.detail},
          {"prev_hash", r.prev_hash},
          {"hash", r.hash}};
}

Result<Record> record_from_json(const boost::json::value& value) {
  return read_record(value, "record");
}

boost::json::object to_json(const Checkpoint& c) {
  return {{"tenant_id", c.tenant_id}, {"seq", c.seq},
          {"head", c.head},           {"ts", c.ts},
          {"key_id", c.key_id},       {"signature", c.signature}};
}

Result<Checkpoint> checkpoint_from_json(const boost::json::value& value) {
  return read_checkpoint(value, "checkpoint");
}

std::string to_json_text(const Bundle& bundle) {
  boost::json::array records;
  records.reserve(bundle.records.size());
  for (const Record& r : bundle.records) {
    records.emplace_back(to_json(r));
  }
  boost::json::array checkpoints;
  checkpoints.reserve(bundle.checkpoints.size());
  for (const Checkpoint& c : bundle.checkpoints) {
    checkpoints.emplace_back(to_json(c));
  }
  boost::json::array keys;
  keys.reserve(bundle.keys.size());
  for (const PublicKey& k : bundle.keys) {
    keys.emplace_back(boost::json::object{{"key_id", k.key_id},
                                          {"public_key", crypto::base64url_encode(k.public_key)}});
  }
  const boost::json::object root{{"format", kFormat},
                                 {"tenant_id", bundle.tenant_id},
                                 {"records", std::move(records)},
                                 {"checkpoints", std::move(checkpoints)},
                                 {"keys", std::move(keys)}};
  return boost::json::serialize(root);
}

Result<Bundle> parse_bundle(std::string_view text) {
  // Checked first, so an oversized file costs nothing but this comparison.
  if (text.size() > kMaxBundleBytes) {
    return fail(Errc::invalid_input, "bundle: " + std::to_string(text.size()) +
                                         " bytes, more than the limit of " +
                                         std::to_string(kMaxBundleBytes));
  }
  boost::json::parse_options options;  // strict RFC 8259, valid UTF-8
  options.max_depth = kMaxDepth;
  // One arena for the whole tree, released at once: a large bundle is millions of small nodes.
  boost::json::monotonic_resource arena;
  boost::system::error_code ec;
  const boost::json::value root = boost::json::parse(text, ec, &arena, options);
  if (ec) {
    return fail(Errc::invalid_input, "bundle: not valid json: " + ec.message());
  }
  if (auto unique = check_no_duplicates(text, root, options); !unique) {
    return tl::unexpected(std::move(unique.error()));
  }
  return read_bundle(root);
}

}  // namespace hecs::audit
