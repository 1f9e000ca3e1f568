// Hashes, signatures and the checks of audit.h. The checks walk records once, in order, and
// stop at the first that does not fit: after it, positions and sequence numbers no longer
// correspond, so anything further would be noise.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/audit/audit.h"
#include "common/crypto/crypto.h"
#include "common/result.h"

namespace hecs::audit {
namespace {

constexpr std::string_view kRecordTag = "hecs-audit-record-v1";
constexpr std::string_view kCheckpointTag = "hecs-audit-checkpoint-v1";
constexpr std::size_t kKeyIdChars = 16;
constexpr std::size_t kMaxEcho = 32;

void put_u64(std::string& out, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out += static_cast<char>((value >> shift) & 0xff);
  }
}

void put_i64(std::string& out, std::int64_t value) {
  put_u64(out, static_cast<std::uint64_t>(value));
}

void put_bytes(std::string& out, std::string_view bytes) {
  put_u64(out, bytes.size());
  out += bytes;
}

// A value from outside, made safe for a one-line reason: printable ASCII, cut short.
std::string echo(std::string_view text) {
  std::string out = "\"";
  for (const char c : text.substr(0, kMaxEcho)) {
    out += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? c : '?';
  }
  out += text.size() > kMaxEcho ? "...\"" : "\"";
  return out;
}

std::string record_name(std::uint64_t seq) { return "record " + std::to_string(seq); }

// "record 7" or "records 7 to 9".
std::string records_name(std::uint64_t first, std::uint64_t last) {
  if (first == last) {
    return record_name(first);
  }
  return "records " + std::to_string(first) + " to " + std::to_string(last);
}

std::string checkpoint_name(const Checkpoint& c) {
  return "checkpoint " + std::to_string(c.seq) + " (signed at " + std::to_string(c.ts) + ")";
}

struct Fault {
  std::uint64_t seq = 0;
  std::string reason;
};

// Whether a record with sequence number `seq` comes later in `rest`: tells a reordered record
// from a missing one.
bool appears_in(std::span<const Record> rest, std::uint64_t seq) {
  return std::any_of(rest.begin(), rest.end(), [seq](const Record& r) { return r.seq == seq; });
}

struct ChainStart {
  std::uint64_t seq = 1;       // the first record's expected seq
  std::string prev_hash;       // what it must chain from
  std::string_view prev_name;  // what that hash is, for reasons
};

// The first record of `records` that does not continue the chain from `start`, and how many
// records were examined up to it.
std::optional<Fault> walk_chain(std::string_view tenant_id, std::span<const Record> records,
                                const ChainStart& start, std::uint64_t& examined) {
  std::string_view prev_hash = start.prev_hash;
  std::string prev_name(start.prev_name);
  for (std::size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    const std::uint64_t seq = start.seq + i;
    const std::string name = record_name(seq);
    examined = i + 1;
    if (r.tenant_id != tenant_id) {
      return Fault{seq, name + ": belongs to another tenant"};
    }
    if (r.seq != seq) {
      const bool later = r.seq > seq && appears_in(records.subspan(i + 1), seq);
      std::string reason = name;
      reason += r.seq < seq || later ? ": out of order" : " missing";
      reason += " (seq " + std::to_string(r.seq) + " in its place)";
      return Fault{seq, std::move(reason)};
    }
    if (r.prev_hash != prev_hash) {
      std::string reason = name;
      reason += ": prev_hash does not match ";
      reason += prev_name;
      return Fault{seq, std::move(reason)};
    }
    if (r.hash != record_hash(r)) {
      return Fault{seq, name + ": hash does not match its contents"};
    }
    prev_hash = r.hash;
    prev_name = "the hash of " + name;
  }
  return std::nullopt;
}

// Nothing when the checkpoint is of this tenant, verifies and is well formed; else why not.
std::optional<Error> checkpoint_problem(const Checkpoint& c, std::string_view tenant_id,
                                        const KeyRing& keys) {
  if (c.tenant_id != tenant_id) {
    return Error{Errc::invalid_input, checkpoint_name(c) + ": belongs to another tenant"};
  }
  if (auto verified = verify_signature(c, keys); !verified) {
    return Error{Errc::unauthorized, checkpoint_name(c) + ": " + verified.error().message};
  }
  if (c.seq == 0 && c.head != genesis_hash()) {
    return Error{Errc::corrupt,
                 checkpoint_name(c) + ": covers no records but its head is not the genesis hash"};
  }
  return std::nullopt;
}

bool agrees(const Checkpoint& c, std::span<const Record> records) {
  return c.seq == 0 || (c.seq <= records.size() && records[c.seq - 1].hash == c.head);
}

// The highest valid checkpoint below `seq` that the records agree with (0: the origin).
std::uint64_t last_agreeing_below(std::uint64_t seq, std::span<const Checkpoint* const> valid,
                                  std::span<const Record> records) {
  std::uint64_t best = 0;
  for (const Checkpoint* c : valid) {
    if (c->seq < seq && c->seq > best && agrees(*c, records)) {
      best = c->seq;
    }
  }
  return best;
}

// What the valid checkpoints say against `records`: the lowest seq that disagrees with one,
// else the records missing before the furthest.
std::optional<Fault> compare_checkpoints(std::span<const Checkpoint* const> valid,
                                         std::span<const Record> records) {
  const std::uint64_t n = records.size();
  const Checkpoint* lowest_disagreeing = nullptr;
  const Checkpoint* furthest = nullptr;
  for (const Checkpoint* c : valid) {
    if (c->seq > n) {
      furthest = (furthest == nullptr || c->seq > furthest->seq) ? c : furthest;
    } else if (!agrees(*c, records) &&
               (lowest_disagreeing == nullptr || c->seq < lowest_disagreeing->seq)) {
      lowest_disagreeing = c;
    }
  }
  // The reason is built once, at the end: a log rewritten early disagrees with every later
  // checkpoint, and searching for the last agreeing one each time would be quadratic.
  if (const Checkpoint* c = lowest_disagreeing) {
    const std::uint64_t good = last_agreeing_below(c->seq, valid, records);
    return Fault{c->seq, record_name(c->seq) + " disagrees with " + checkpoint_name(*c) +
                             ": the chain was rewritten in " + records_name(good + 1, c->seq)};
  }
  if (furthest != nullptr) {
    return Fault{n + 1, records_name(n + 1, furthest->seq) +
                            " missing: " + checkpoint_name(*furthest) + " covers " +
                            std::to_string(furthest->seq) + " records, the log has " +
                            std::to_string(n)};
  }
  return std::nullopt;
}

Result<void> corrupt(std::string message) { return fail(Errc::corrupt, std::move(message)); }

bool is_origin(const Checkpoint& c, std::string_view tenant_id) {
  return c.seq == 0 && c.head == genesis_hash() && c.signature.empty() && c.key_id.empty() &&
         (c.tenant_id.empty() || c.tenant_id == tenant_id);
}

}  // namespace

std::string genesis_hash() { return std::string(64, '0'); }

std::string record_hash(const Record& r) {
  std::string message;
  message.reserve(kRecordTag.size() + std::size_t{12} * 8 + r.tenant_id.size() + r.actor.size() +
                  r.action.size() + r.target.size() + r.source.size() + r.outcome.size() +
                  r.request_id.size() + r.detail.size() + r.prev_hash.size());
  put_bytes(message, kRecordTag);
  put_bytes(message, r.tenant_id);
  put_u64(message, r.seq);
  put_i64(message, r.ts);
  put_bytes(message, r.actor);
  put_bytes(message, r.action);
  put_bytes(message, r.target);
  put_bytes(message, r.source);
  put_bytes(message, r.outcome);
  put_bytes(message, r.request_id);
  put_bytes(message, r.detail);
  put_bytes(message, r.prev_hash);
  return crypto::sha256_hex(message);
}

Record link(Record r, const std::string& prev_hash) {
  r.prev_hash = prev_hash;
  r.hash = record_hash(r);
  return r;
}

std::string checkpoint_message(const Checkpoint& c) {
  std::string message;
  put_bytes(message, kCheckpointTag);
  put_bytes(message, c.tenant_id);
  put_u64(message, c.seq);
  put_bytes(message, c.head);
  put_i64(message, c.ts);
  put_bytes(message, c.key_id);
  return message;
}

std::string key_id_of(std::string_view public_key) {
  return crypto::sha256_hex(public_key).substr(0, kKeyIdChars);
}

Checkpoint sign(Checkpoint c, const crypto::Ed25519Key& key) {
  c.key_id = key_id_of(key.public_key());
  c.signature = crypto::base64url_encode(key.sign(checkpoint_message(c)));
  return c;
}

Result<void> verify_signature(const Checkpoint& c, const KeyRing& keys) {
  const auto key = std::find_if(keys.begin(), keys.end(),
                                [&](const PublicKey& k) { return k.key_id == c.key_id; });
  if (key == keys.end()) {
    return fail(Errc::unauthorized, "signed by unknown key " + echo(c.key_id));
  }
  auto signature = crypto::base64url_decode(c.signature);
  if (!signature || !crypto::ed25519_verify(key->public_key, checkpoint_message(c), *signature)) {
    return fail(Errc::unauthorized, "signature does not verify under key " + echo(c.key_id));
  }
  return {};
}

Verification verify(std::string_view tenant_id, std::span<const Record> records,
                    std::span<const Checkpoint> checkpoints, const KeyRing& keys) {
  Verification result;
  result.checkpoints = checkpoints.size();
  std::optional<Fault> fault =
      walk_chain(tenant_id, records, {1, genesis_hash(), "the genesis hash"}, result.records);

  std::vector<const Checkpoint*> valid;
  std::optional<Error> invalid;
  for (const Checkpoint& c : checkpoints) {
    if (auto problem = checkpoint_problem(c, tenant_id, keys)) {
      if (!invalid) {
        invalid = std::move(problem);
      }
    } else {
      valid.push_back(&c);
    }
  }
  // Ties go to the record's own fault: it says more than "disagrees".
  if (auto against = compare_checkpoints(valid, records);
      against && (!fault || against->seq < fault->seq)) {
    fault = std::move(against);
  }
  if (fault) {
    result.ok = false;
    result.first_bad_seq = fault->seq;
    result.reason = std::move(fault->reason);
  } else if (invalid) {
    result.ok = false;
    result.reason = std::move(invalid->message);
  }
  return result;
}

Result<void> verify_consistency(const Checkpoint& older, const Checkpoint& newer,
                                std::span<const Record> segment, const KeyRing& keys) {
  const std::string_view tenant_id = newer.tenant_id;
  if (!is_origin(older, tenant_id)) {
    if (auto problem = checkpoint_problem(older, tenant_id, keys)) {
      return fail(std::move(*problem), "older");
    }
  }
  if (auto problem = checkpoint_problem(newer, tenant_id, keys)) {
    return fail(std::move(*problem), "newer");
  }
  if (older.seq > newer.seq) {
    return fail(Errc::invalid_input, "older " + checkpoint_name(older) +
                                         " covers more records than newer " +
                                         checkpoint_name(newer));
  }
  const std::uint64_t expected = newer.seq - older.seq;
  if (segment.size() != expected) {
    return corrupt("segment has " + std::to_string(segment.size()) + " records, expected " +
                   std::to_string(expected) + " (records " + std::to_string(older.seq + 1) +
                   " to " + std::to_string(newer.seq) + ")");
  }
  std::uint64_t examined = 0;
  const ChainStart start{older.seq + 1, older.head, "the older checkpoint's head"};
  if (auto fault = walk_chain(tenant_id, segment, start, examined)) {
    return corrupt(std::move(fault->reason));
  }
  const std::string& last = segment.empty() ? older.head : segment.back().hash;
  if (last != newer.head) {
    return corrupt(record_name(newer.seq) + " disagrees with newer " + checkpoint_name(newer));
  }
  return {};
}

}  // namespace hecs::audit
