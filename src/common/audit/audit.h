// The pure logic of the per-tenant audit log (issue 5; table audit_log, migration 0004): records
// chained by SHA-256, checkpoints that sign a tenant's head, and the checks that find a record
// altered, reordered, inserted or deleted. No storage and no clock here: the control plane
// writes rows and signs checkpoints, `hecs audit verify` and customers check exported bundles.
//
// The byte formats below are hashed and signed, so they are frozen: a change needs a new
// domain tag ("-v2") and a verifier that knows both. Each hashed or signed message is a domain
// tag, then each field in the order listed: a string as its byte length (8 bytes, big-endian)
// then its bytes, an integer as 8 bytes big-endian (two's complement for ts), so no two
// different records or checkpoints share an encoding.
//
// Nothing here throws. Threading: every function is pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "common/crypto/crypto.h"
#include "common/result.h"

namespace hecs::audit {

// ---- records and the chain ---------------------------------------------------------------

struct Record {               // one row of audit_log
  std::string tenant_id;      // UUID
  std::uint64_t seq = 0;      // 1, 2, 3 … per tenant, no gaps
  std::int64_t ts = 0;        // unix ms
  std::string actor;          // "user:<uuid>", "key:<uuid>", "device:<uuid>", "system", "anonymous"
  std::string action;         // "keys.create", "auth.login_failed", …
  std::string target;         // object id or ""
  std::string source;         // client address "203.0.113.7:51234" or ""
  std::string outcome;        // "success" | "failure" | "denied"
  std::string request_id;     // "" when none
  std::string detail = "{}";  // JSON object text, hashed byte for byte: store it as TEXT
  std::string prev_hash;      // hex hash of the previous record; genesis_hash() for seq 1
  std::string hash;           // record_hash(*this)

  friend bool operator==(const Record&, const Record&) = default;
};

std::string genesis_hash();  // 64 '0' characters
// Lower-case hex SHA-256 of "hecs-audit-record-v1", tenant_id, seq, ts, actor, action, target,
// source, outcome, request_id, detail, prev_hash (everything but `hash`).
std::string record_hash(const Record& r);
// Sets r.prev_hash and r.hash: the one way records are made.
Record link(Record r, const std::string& prev_hash);

// ---- checkpoints -------------------------------------------------------------------------

// A signed statement "tenant T's log has `seq` records and its last hash is `head`".
struct Checkpoint {
  std::string tenant_id;
  std::uint64_t seq = 0;  // records covered; 0 is the empty log, head genesis_hash()
  std::string head;       // hash of record `seq`
  std::int64_t ts = 0;    // unix ms when signed
  std::string key_id;     // key_id_of() the signing key
  std::string signature;  // base64url Ed25519 signature over checkpoint_message()

  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

// "hecs-audit-checkpoint-v1", tenant_id, seq, head, ts, key_id (`signature` excluded).
std::string checkpoint_message(const Checkpoint& c);
// First 16 hex characters of sha256_hex(public key, 32 raw bytes): a fingerprint a customer
// can compare with the one HECS publishes.
std::string key_id_of(std::string_view public_key);
// Sets c.key_id from the key, then c.signature.
Checkpoint sign(Checkpoint c, const crypto::Ed25519Key& key);

struct PublicKey {
  std::string key_id;      // key_id_of(public_key)
  std::string public_key;  // 32 raw bytes

  friend bool operator==(const PublicKey&, const PublicKey&) = default;
};
using KeyRing = std::vector<PublicKey>;  // current and retired keys: rotation keeps old ones

// Errc::unauthorized for an unknown key id, a signature that is not base64url, or one that
// does not verify under that key.
Result<void> verify_signature(const Checkpoint& c, const KeyRing& keys);

// ---- verification ------------------------------------------------------------------------

struct Verification {
  bool ok = true;
  std::uint64_t records = 0;      // records examined (up to the first bad one)
  std::uint64_t checkpoints = 0;  // checkpoints examined
  // The first sequence number that does not match; nullopt when only a checkpoint is bad (an
  // unknown key, a bad signature, another tenant) and every record is as checkpointed.
  std::optional<std::uint64_t> first_bad_seq;
  std::string reason;  // one line, lower case: "record 7: hash does not match its contents"
};

// `records`: one tenant's rows as read (ORDER BY seq); `checkpoints`: in any order. Names the
// lowest bad sequence number among: a record of another tenant, a missing, repeated or
// out-of-order seq, a prev_hash or hash that does not match, a record whose hash disagrees with
// a valid checkpoint at its seq (the chain was rewritten: first_bad_seq is the checkpoint's),
// and a valid checkpoint beyond the last record (records were deleted: first_bad_seq is n + 1).
// A checkpoint that does not verify or is of another tenant is ignored for these checks and
// makes the result not ok; it is the reason only when the records have no problem.
Verification verify(std::string_view tenant_id, std::span<const Record> records,
                    std::span<const Checkpoint> checkpoints, const KeyRing& keys);

// Consistency of two checkpoints of one tenant: `segment` holds exactly records
// older.seq + 1 .. newer.seq and chains from older.head to newer.head. Both signatures are
// checked, except that an unsigned origin (seq 0, head genesis_hash(), no signature, tenant ""
// or newer's) is accepted as `older`: with it, this proves a record is included in `newer`.
// Errc::unauthorized for a signature, Errc::invalid_input for checkpoints out of order or of
// two tenants, Errc::corrupt for a segment that does not link them; the message names the seq.
Result<void> verify_consistency(const Checkpoint& older, const Checkpoint& newer,
                                std::span<const Record> segment, const KeyRing& keys);

// ---- JSON and export bundles -------------------------------------------------------------

inline constexpr std::size_t kMaxFieldBytes = 4096;
inline constexpr std::size_t kMaxDetailBytes = std::size_t{16} * 1024;
inline constexpr std::size_t kMaxBundleBytes = std::size_t{64} * 1024 * 1024;
inline constexpr std::size_t kMaxBundleRecords = 1'000'000;
inline constexpr std::size_t kMaxBundleCheckpoints = 100'000;
inline constexpr std::size_t kMaxBundleKeys = 256;

// Every member, always; `detail` as a JSON string holding its text (re-encoding an embedded
// object would change the bytes the hash covers). Parsing is strict: a missing or unknown
// member, a wrong type or a string over kMaxFieldBytes (detail: kMaxDetailBytes) is
// Errc::invalid_input naming the member ("record.seq: expected an unsigned integer"). Values
// are not judged (an odd outcome is hashed like any other): that is verify's job.
boost::json::object to_json(const Record& r);
Result<Record> record_from_json(const boost::json::value& value);
boost::json::object to_json(const Checkpoint& c);
Result<Checkpoint> checkpoint_from_json(const boost::json::value& value);

// What a customer verifies offline:
// {"format":"hecs-audit-bundle-v1","tenant_id":…,"records":[…],"checkpoints":[…],
//  "keys":[{"key_id":…,"public_key":<base64url>}]}
// The keys in a bundle only say which keys signed: a verifier must trust them from elsewhere
// (compare key ids with the published ones), or whoever rewrote the log re-signs it too.
struct Bundle {
  std::string tenant_id;
  std::vector<Record> records;  // from seq 1
  std::vector<Checkpoint> checkpoints;
  KeyRing keys;

  friend bool operator==(const Bundle&, const Bundle&) = default;
};
std::string to_json_text(const Bundle& bundle);
// Errc::invalid_input for more than kMaxBundleBytes, invalid JSON, nesting deeper than 8, a
// duplicate member, another format, more than kMaxBundle* items, a key that is not 32 bytes of
// base64url or whose key_id is not its key_id_of(), a key listed twice, or any member as above
// ("bundle.records[3].actor: longer than 4096 bytes").
Result<Bundle> parse_bundle(std::string_view text);

}  // namespace hecs::audit
