#include "common/audit/audit.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/crypto/crypto.h"

namespace hecs::audit {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kTenant = "6f1c2b9e-8d3a-4c55-9b7e-2a6f0c1d3e5b";
constexpr std::string_view kOtherTenant = "0c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f";
constexpr std::int64_t kT0 = 1'700'000'000'000;

const crypto::Ed25519Key& key_a() {
  static const auto key = *crypto::Ed25519Key::from_seed(std::string(32, 'A'));
  return key;
}

const crypto::Ed25519Key& key_b() {
  static const auto key = *crypto::Ed25519Key::from_seed(std::string(32, 'B'));
  return key;
}

PublicKey public_of(const crypto::Ed25519Key& key) {
  return {key_id_of(key.public_key()), key.public_key()};
}

const KeyRing& ring() {
  static const KeyRing keys = {public_of(key_a())};
  return keys;
}

Record make_record(std::uint64_t seq, std::string_view tenant = kTenant) {
  Record r;
  r.tenant_id = std::string(tenant);
  r.seq = seq;
  r.ts = kT0 + static_cast<std::int64_t>(seq) * 1000;
  r.actor = "user:0b6e4e52-2f7c-4d1a-9d2e-5c3b1a0f9e8d";
  r.action = seq % 3 == 0 ? "auth.login_failed" : "keys.create";
  r.target = "key-" + std::to_string(seq);
  r.source = "203.0.113.7:51234";
  r.outcome = seq % 3 == 0 ? "failure" : "success";
  r.request_id = "req-" + std::to_string(seq);
  r.detail = R"({"n":)" + std::to_string(seq) + "}";
  return r;
}

// Recomputes every link, as someone rewriting the whole log would.
std::vector<Record> relink(std::vector<Record> records) {
  std::string prev = genesis_hash();
  for (Record& r : records) {
    r = link(std::move(r), prev);
    prev = r.hash;
  }
  return records;
}

std::vector<Record> make_chain(std::uint64_t n, std::string_view tenant = kTenant) {
  std::vector<Record> records;
  for (std::uint64_t seq = 1; seq <= n; ++seq) {
    records.push_back(make_record(seq, tenant));
  }
  return relink(std::move(records));
}

Checkpoint checkpoint_at(const std::vector<Record>& records, std::uint64_t seq,
                         const crypto::Ed25519Key& key = key_a()) {
  Checkpoint c;
  c.tenant_id = std::string(kTenant);
  c.seq = seq;
  c.head = seq == 0 ? genesis_hash() : records.at(seq - 1).hash;
  c.ts = kT0 + 3'600'000 + static_cast<std::int64_t>(seq);
  return sign(std::move(c), key);
}

Checkpoint origin() {
  Checkpoint c;
  c.head = genesis_hash();
  return c;
}

std::span<const Record> slice(const std::vector<Record>& records, std::size_t from,
                              std::size_t to) {
  return std::span<const Record>(records).subspan(from, to - from);
}

// ---- hashes and signatures ---------------------------------------------------------------

TEST(RecordHash, GenesisIsSixtyFourZeros) { EXPECT_EQ(genesis_hash(), std::string(64, '0')); }

// Vectors computed outside this code (Python hashlib and struct.pack('>Q')): the format is
// what customers reimplement, so it must not drift.
TEST(RecordHash, MatchesTheVectorsComputedIndependently) {
  Record r;
  r.tenant_id = std::string(kTenant);
  r.seq = 1;
  r.ts = kT0;
  r.actor = "user:0b6e4e52-2f7c-4d1a-9d2e-5c3b1a0f9e8d";
  r.action = "keys.create";
  r.target = "k-1";
  r.source = "203.0.113.7:51234";
  r.outcome = "success";
  r.request_id = "req-1";
  r.detail = R"({"name":"ci"})";
  r.prev_hash = genesis_hash();
  EXPECT_EQ(record_hash(r), "ff8ccba6e07bc9807fb222af8a919adc165f256596d9401d03bbb67bd2edd815");

  Record negative;
  negative.tenant_id = "t";
  negative.seq = 2;
  negative.ts = -1;
  negative.actor = "system";
  negative.action = "a";
  negative.outcome = "denied";
  negative.detail = "{}";
  negative.prev_hash = "ab";
  EXPECT_EQ(record_hash(negative),
            "805f762f64655b65390234fbb350c61acc39ab232ace56e430120c8d6891fc57");
}

TEST(RecordHash, IgnoresTheHashFieldItself) {
  Record r = link(make_record(1), genesis_hash());
  const std::string before = record_hash(r);
  r.hash = "x";
  EXPECT_EQ(record_hash(r), before);
}

TEST(RecordHash, ChangesWhenBytesMoveFromOneFieldToTheNext) {
  Record a = make_record(1);
  Record b = a;
  a.actor = "system";
  a.action = "ab";
  b.actor = "systema";
  b.action = "b";
  EXPECT_NE(record_hash(a), record_hash(b));
}

TEST(Link, SetsPrevHashAndHash) {
  const Record r = link(make_record(1), genesis_hash());
  EXPECT_EQ(r.prev_hash, genesis_hash());
  EXPECT_EQ(r.hash, record_hash(r));
  EXPECT_EQ(r.hash.size(), 64u);
}

TEST(CheckpointMessage, IsTheTagThenEachFieldLengthPrefixed) {
  Checkpoint c;
  c.tenant_id = "t";
  c.seq = 3;
  c.head = "h";
  c.ts = kT0;
  c.key_id = "k";
  EXPECT_EQ(crypto::hex_encode(checkpoint_message(c)),
            "0000000000000018686563732d61756469742d636865636b706f696e742d7631000000000000000174"
            "00000000000000030000000000000001680000018bcfe5680000000000000000016b");
}

TEST(KeyId, IsTheFirstSixteenHexCharactersOfTheKeysSha256) {
  // RFC 8032 §7.1 TEST 1's public key.
  auto key = crypto::hex_decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  ASSERT_TRUE(key);
  EXPECT_EQ(key_id_of(*key), "21fe31dfa154a261");
}

TEST(Sign, SetsTheKeyIdAndASignatureThatVerifies) {
  const auto records = make_chain(3);
  const Checkpoint c = checkpoint_at(records, 3);
  EXPECT_EQ(c.key_id, key_id_of(key_a().public_key()));
  EXPECT_TRUE(verify_signature(c, ring()));
}

TEST(VerifySignature, RefusesAnUnknownKeyId) {
  const Checkpoint c = checkpoint_at(make_chain(3), 3, key_b());
  auto verified = verify_signature(c, ring());
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, Errc::unauthorized);
  EXPECT_THAT(verified.error().message, HasSubstr("unknown key"));
}

TEST(VerifySignature, RefusesAKeyIdThatNamesAnotherKey) {
  Checkpoint c = checkpoint_at(make_chain(3), 3, key_b());
  c.key_id = key_id_of(key_a().public_key());
  auto verified = verify_signature(c, ring());
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, Errc::unauthorized);
}

TEST(VerifySignature, RefusesASignatureThatIsNotBase64url) {
  Checkpoint c = checkpoint_at(make_chain(3), 3);
  c.signature += "=";
  auto verified = verify_signature(c, ring());
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, Errc::unauthorized);
}

TEST(VerifySignature, RefusesAnyChangedField) {
  const Checkpoint good = checkpoint_at(make_chain(3), 3);
  const std::vector<std::function<void(Checkpoint&)>> changes = {
      [](Checkpoint& c) { c.tenant_id = std::string(kOtherTenant); },
      [](Checkpoint& c) { c.seq = 2; },
      [](Checkpoint& c) { c.head = genesis_hash(); },
      [](Checkpoint& c) { c.ts += 1; },
  };
  for (std::size_t i = 0; i < changes.size(); ++i) {
    Checkpoint c = good;
    changes[i](c);
    EXPECT_FALSE(verify_signature(c, ring())) << "change " << i;
  }
}

// ---- verify ------------------------------------------------------------------------------

TEST(Verify, AcceptsAGoodChainOfFiftyRecords) {
  const auto records = make_chain(50);
  const std::vector<Checkpoint> checkpoints = {checkpoint_at(records, 20),
                                               checkpoint_at(records, 50)};
  const Verification v = verify(kTenant, records, checkpoints, ring());
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.records, 50u);
  EXPECT_EQ(v.checkpoints, 2u);
  EXPECT_FALSE(v.first_bad_seq);
  EXPECT_EQ(v.reason, "");
}

TEST(Verify, AcceptsAnEmptyLogAndACheckpointOfIt) {
  const std::vector<Checkpoint> checkpoints = {checkpoint_at({}, 0)};
  const Verification v = verify(kTenant, {}, checkpoints, ring());
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.records, 0u);
}

TEST(Verify, FindsAChangeToAnySingleFieldAndNamesItsSeq) {
  const auto records = make_chain(50);
  const std::vector<Checkpoint> checkpoints = {checkpoint_at(records, 50)};
  const std::vector<std::pair<std::string, std::function<void(Record&)>>> changes = {
      {"tenant_id", [](Record& r) { r.tenant_id = std::string(kOtherTenant); }},
      {"seq", [](Record& r) { r.seq += 1; }},
      {"ts", [](Record& r) { r.ts += 1; }},
      {"actor", [](Record& r) { r.actor = "system"; }},
      {"action", [](Record& r) { r.action = "keys.delete"; }},
      {"target", [](Record& r) { r.target += "x"; }},
      {"source", [](Record& r) { r.source = "198.51.100.1:1"; }},
      {"outcome", [](Record& r) { r.outcome = "denied"; }},
      {"request_id", [](Record& r) { r.request_id = ""; }},
      {"detail", [](Record& r) { r.detail = "{}"; }},
      {"prev_hash", [](Record& r) { r.prev_hash = genesis_hash(); }},
      {"hash", [](Record& r) { r.hash[5] = r.hash[5] == 'a' ? 'b' : 'a'; }},
  };
  ASSERT_EQ(changes.size(), 12u);  // every field of Record
  for (const auto& [field, change] : changes) {
    auto altered = records;
    change(altered[16]);
    const Verification v = verify(kTenant, altered, checkpoints, ring());
    EXPECT_FALSE(v.ok) << field;
    EXPECT_EQ(v.first_bad_seq, 17u) << field << ": " << v.reason;
    EXPECT_THAT(v.reason, HasSubstr("record 17")) << field;
  }
}

TEST(Verify, SaysWhichCheckFailed) {
  auto records = make_chain(10);
  records[6].action = "keys.delete";
  EXPECT_EQ(verify(kTenant, records, {}, ring()).reason,
            "record 7: hash does not match its contents");
  records = make_chain(10);
  records[0].prev_hash = records[1].hash;
  EXPECT_EQ(verify(kTenant, records, {}, ring()).reason,
            "record 1: prev_hash does not match the genesis hash");
}

TEST(Verify, FindsADeletedMiddleRecord) {
  auto records = make_chain(50);
  records.erase(records.begin() + 24);
  const Verification v = verify(kTenant, records, {}, ring());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 25u);
  EXPECT_THAT(v.reason, HasSubstr("record 25 missing"));
  EXPECT_EQ(v.records, 25u);
}

TEST(Verify, FindsARepeatedRecord) {
  auto records = make_chain(10);
  records.insert(records.begin() + 5, records[4]);
  const Verification v = verify(kTenant, records, {}, ring());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 6u);
  EXPECT_THAT(v.reason, HasSubstr("record 6: out of order"));
}

TEST(Verify, FindsTheLastRecordsDeletedBehindACheckpoint) {
  auto records = make_chain(50);
  const std::vector<Checkpoint> checkpoints = {checkpoint_at(records, 10),
                                               checkpoint_at(records, 50)};
  records.resize(45);
  const Verification v = verify(kTenant, records, checkpoints, ring());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 46u);
  EXPECT_THAT(v.reason, HasSubstr("records 46 to 50 missing"));
  EXPECT_THAT(v.reason, HasSubstr("the log has 45"));
}

TEST(Verify, FindsEverythingTruncatedBehindACheckpoint) {
  const auto records = make_chain(50);
  const std::vector<Checkpoint> checkpoints = {checkpoint_at(records, 50)};
  const Verification v = verify(kTenant, {}, checkpoints, ring());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 1u);
  EXPECT_THAT(v.reason, HasSubstr("records 1 to 50 missing"));
}

TEST(Verify, CannotSeeTheLastRecordsDeletedWithoutACheckpoint) {
  // Why checkpoints exist: a chain cut short is still a valid chain.
  auto records = make_chain(50);
  const std::vector<Checkpoint> checkpoints = {checkpoint_at(records, 40)};
  records.resize(45);
  EXPECT_TRUE(verify(kTenant, records, checkpoints, ring()).ok);
}

TEST(Verify, NamesTheFirstOfTwoSwappedRecords) {
  auto records = make_chain(50);
  std::swap(records[9], records[19]);
  Verification v = verify(kTenant, records, {}, ring());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 10u);
  EXPECT_THAT(v.reason, HasSubstr("record 10: out of order"));

  // The contents swapped, seq numbers left in place.
  records = make_chain(50);
  std::swap(records[9].action, records[19].action);
  std::swap(records[9].ts, records[19].ts);
  v = verify(kTenant, records, {}, ring());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 10u);
}

TEST(Verify, FindsAConsistentlyRewrittenChainByAnEarlierCheckpoint) {
  const auto original = make_chain(50);
  const std::vector<Checkpoint> checkpoints = {checkpoint_at(original, 2),
                                               checkpoint_at(original, 10)};
  auto rewritten = original;
  rewritten[2].action = "auth.login";
  rewritten = relink(std::move(rewritten));
  ASSERT_TRUE(verify(kTenant, rewritten, {}, ring()).ok);  // the chain alone looks fine

  const Verification v = verify(kTenant, rewritten, checkpoints, ring());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 10u);
  EXPECT_THAT(v.reason, HasSubstr("disagrees with checkpoint 10"));
  EXPECT_THAT(v.reason, HasSubstr("rewritten in records 3 to 10"));
}

TEST(Verify, RefusesACheckpointSignedByAnUnknownKey) {
  const auto records = make_chain(50);
  const std::vector<Checkpoint> checkpoints = {checkpoint_at(records, 50, key_b())};
  const Verification v = verify(kTenant, records, checkpoints, ring());
  EXPECT_FALSE(v.ok);
  EXPECT_FALSE(v.first_bad_seq);  // the records are not to blame
  EXPECT_THAT(v.reason, HasSubstr("checkpoint 50"));
  EXPECT_THAT(v.reason, HasSubstr("unknown key"));
}

TEST(Verify, RefusesACheckpointWithAFlippedSignatureByte) {
  const auto records = make_chain(50);
  Checkpoint c = checkpoint_at(records, 50);
  auto raw = crypto::base64url_decode(c.signature);
  ASSERT_TRUE(raw);
  (*raw)[10] = static_cast<char>((*raw)[10] ^ 0x01);
  c.signature = crypto::base64url_encode(*raw);
  const std::vector<Checkpoint> checkpoints = {c};
  const Verification v = verify(kTenant, records, checkpoints, ring());
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.reason, HasSubstr("signature does not verify"));
}

TEST(Verify, DoesNotLetAForgedCheckpointHideTheRecordsDeletedBehindIt) {
  auto records = make_chain(50);
  const std::vector<Checkpoint> checkpoints = {checkpoint_at(records, 50),
                                               checkpoint_at(records, 50, key_b())};
  records.resize(48);
  const Verification v = verify(kTenant, records, checkpoints, ring());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 49u);
}

TEST(Verify, RefusesARecordOfAnotherTenant) {
  auto records = make_chain(20);
  records[4].tenant_id = std::string(kOtherTenant);
  records = relink(std::move(records));  // even linked in, it is not this tenant's
  const Verification v = verify(kTenant, records, {}, ring());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq, 5u);
  EXPECT_THAT(v.reason, HasSubstr("record 5: belongs to another tenant"));
}

TEST(Verify, RefusesAnotherTenantsLogWithItsOwnCheckpoints) {
  const auto records = make_chain(5, kOtherTenant);
  EXPECT_FALSE(verify(kTenant, records, {}, ring()).ok);
}

TEST(Verify, RefusesACheckpointOfAnotherTenant) {
  const auto records = make_chain(5);
  Checkpoint c = checkpoint_at(records, 5);
  c.tenant_id = std::string(kOtherTenant);
  const std::vector<Checkpoint> checkpoints = {sign(c, key_a())};
  const Verification v = verify(kTenant, records, checkpoints, ring());
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.reason, HasSubstr("belongs to another tenant"));
}

TEST(Verify, AcceptsCheckpointsSignedByAnOldKeyAfterRotation) {
  const auto records = make_chain(50);
  const std::vector<Checkpoint> checkpoints = {checkpoint_at(records, 25, key_a()),
                                               checkpoint_at(records, 50, key_b())};
  const KeyRing both = {public_of(key_b()), public_of(key_a())};
  const Verification v = verify(kTenant, records, checkpoints, both);
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.checkpoints, 2u);
}

// ---- verify_consistency ------------------------------------------------------------------

TEST(VerifyConsistency, AcceptsTheTrueSegmentBetweenTwoCheckpoints) {
  const auto records = make_chain(50);
  EXPECT_TRUE(verify_consistency(checkpoint_at(records, 20), checkpoint_at(records, 50),
                                 slice(records, 20, 50), ring()));
  EXPECT_TRUE(
      verify_consistency(checkpoint_at(records, 20), checkpoint_at(records, 20), {}, ring()));
}

TEST(VerifyConsistency, ProvesARecordIncludedFromTheUnsignedOrigin) {
  const auto records = make_chain(50);
  EXPECT_TRUE(
      verify_consistency(origin(), checkpoint_at(records, 7), slice(records, 0, 7), ring()));
}

TEST(VerifyConsistency, RefusesASegmentWithOneRecordChanged) {
  const auto records = make_chain(50);
  auto segment = std::vector<Record>(records.begin() + 20, records.end());
  segment[3].outcome = "denied";
  auto consistent =
      verify_consistency(checkpoint_at(records, 20), checkpoint_at(records, 50), segment, ring());
  ASSERT_FALSE(consistent);
  EXPECT_EQ(consistent.error().code, Errc::corrupt);
  EXPECT_THAT(consistent.error().message, HasSubstr("record 24"));
}

TEST(VerifyConsistency, RefusesARewrittenSegmentThatEndsElsewhere) {
  const auto records = make_chain(50);
  auto rewritten = records;
  rewritten[30].action = "auth.login";
  rewritten = relink(std::move(rewritten));
  auto consistent = verify_consistency(checkpoint_at(records, 20), checkpoint_at(records, 50),
                                       slice(rewritten, 20, 50), ring());
  ASSERT_FALSE(consistent);
  EXPECT_EQ(consistent.error().code, Errc::corrupt);
  EXPECT_THAT(consistent.error().message, HasSubstr("record 50 disagrees"));
}

TEST(VerifyConsistency, RefusesASegmentOneRecordShort) {
  const auto records = make_chain(50);
  auto consistent = verify_consistency(checkpoint_at(records, 20), checkpoint_at(records, 50),
                                       slice(records, 20, 49), ring());
  ASSERT_FALSE(consistent);
  EXPECT_EQ(consistent.error().code, Errc::corrupt);
  EXPECT_THAT(consistent.error().message, HasSubstr("29 records, expected 30"));
}

TEST(VerifyConsistency, RefusesSwappedCheckpoints) {
  const auto records = make_chain(50);
  auto consistent = verify_consistency(checkpoint_at(records, 50), checkpoint_at(records, 20),
                                       slice(records, 20, 50), ring());
  ASSERT_FALSE(consistent);
  EXPECT_EQ(consistent.error().code, Errc::invalid_input);
}

TEST(VerifyConsistency, RefusesAnUnsignedCheckpointThatIsNotTheOrigin) {
  const auto records = make_chain(50);
  Checkpoint older = checkpoint_at(records, 20);
  older.signature.clear();
  auto consistent =
      verify_consistency(older, checkpoint_at(records, 50), slice(records, 20, 50), ring());
  ASSERT_FALSE(consistent);
  EXPECT_EQ(consistent.error().code, Errc::unauthorized);
  Checkpoint unsigned_empty = origin();
  unsigned_empty.tenant_id = std::string(kTenant);
  EXPECT_FALSE(verify_consistency(origin(), unsigned_empty, {}, ring()));
}

TEST(VerifyConsistency, RefusesCheckpointsOfTwoTenants) {
  const auto records = make_chain(50);
  Checkpoint older = checkpoint_at(records, 20);
  older.tenant_id = std::string(kOtherTenant);
  auto consistent = verify_consistency(sign(older, key_a()), checkpoint_at(records, 50),
                                       slice(records, 20, 50), ring());
  ASSERT_FALSE(consistent);
  EXPECT_EQ(consistent.error().code, Errc::invalid_input);
}

// ---- JSON --------------------------------------------------------------------------------

Bundle make_bundle() {
  Bundle bundle;
  bundle.tenant_id = std::string(kTenant);
  bundle.records = make_chain(5);
  bundle.records[1].detail = R"({"name":"caf\u00e9 \"ci\"","n":[1,2]})";
  bundle.records = relink(std::move(bundle.records));
  bundle.checkpoints = {checkpoint_at(bundle.records, 2, key_a()),
                        checkpoint_at(bundle.records, 5, key_b())};
  bundle.keys = {public_of(key_a()), public_of(key_b())};
  return bundle;
}

boost::json::value parse_json(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  EXPECT_FALSE(ec) << text;
  return value;
}

// The bundle's text with `edit` applied to its JSON.
std::string edited(const std::function<void(boost::json::object&)>& edit) {
  boost::json::value root = parse_json(to_json_text(make_bundle()));
  edit(root.as_object());
  return boost::json::serialize(root);
}

Error parse_error(std::string_view text) {
  auto bundle = parse_bundle(text);
  EXPECT_FALSE(bundle);
  return bundle ? Error{} : bundle.error();
}

boost::json::object& first_record(boost::json::object& root) {
  return root["records"].as_array()[0].as_object();
}

TEST(AuditJson, ARecordRoundTrips) {
  const Record r = make_bundle().records[1];
  auto back = record_from_json(parse_json(boost::json::serialize(to_json(r))));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, r);
}

TEST(AuditJson, ACheckpointRoundTrips) {
  const Checkpoint c = make_bundle().checkpoints[1];
  auto back = checkpoint_from_json(parse_json(boost::json::serialize(to_json(c))));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, c);
}

TEST(AuditJson, KeepsDetailAsTheTextTheHashCovers) {
  const Record r = make_bundle().records[1];
  EXPECT_TRUE(to_json(r).at("detail").is_string());
}

TEST(AuditJson, ABundleRoundTripsAndStillVerifies) {
  const Bundle bundle = make_bundle();
  auto back = parse_bundle(to_json_text(bundle));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, bundle);
  const Verification v = verify(back->tenant_id, back->records, back->checkpoints, back->keys);
  EXPECT_TRUE(v.ok) << v.reason;
}

TEST(AuditJson, RefusesAnUnknownMember) {
  Error e = parse_error(edited([](auto& root) { root["extra"] = 1; }));
  EXPECT_EQ(e.code, Errc::invalid_input);
  EXPECT_EQ(e.message, R"(bundle: unknown member "extra")");
  e = parse_error(edited([](auto& root) { first_record(root)["note"] = "x"; }));
  EXPECT_EQ(e.message, R"(bundle.records[0]: unknown member "note")");
  auto record = record_from_json(parse_json(R"({"tenant_id":"t","x":1})"));
  ASSERT_FALSE(record);
  EXPECT_EQ(record.error().message, R"(record: unknown member "x")");
}

TEST(AuditJson, RefusesAMissingMember) {
  const Error e = parse_error(edited([](auto& root) { first_record(root).erase("hash"); }));
  EXPECT_EQ(e.message, "bundle.records[0].hash: missing");
  EXPECT_EQ(parse_error(edited([](auto& root) { root.erase("keys"); })).message,
            "bundle.keys: missing");
}

TEST(AuditJson, RefusesWrongTypes) {
  EXPECT_EQ(parse_error(edited([](auto& root) { first_record(root)["seq"] = "1"; })).message,
            "bundle.records[0].seq: expected an unsigned integer");
  EXPECT_EQ(parse_error(edited([](auto& root) { first_record(root)["seq"] = -1; })).message,
            "bundle.records[0].seq: expected an unsigned integer");
  EXPECT_EQ(parse_error(edited([](auto& root) { first_record(root)["ts"] = 1.5; })).message,
            "bundle.records[0].ts: expected an integer");
  EXPECT_EQ(parse_error(edited([](auto& root) {
              first_record(root)["detail"] = boost::json::object{{"n", 1}};
            })).message,
            "bundle.records[0].detail: expected a string");
  EXPECT_EQ(
      parse_error(edited([](auto& root) { root["records"] = boost::json::object{}; })).message,
      "bundle.records: expected an array");
  EXPECT_EQ(parse_error(edited([](auto& root) { root["checkpoints"].as_array()[0] = 7; })).message,
            "bundle.checkpoints[0]: expected an object");
  EXPECT_EQ(parse_error("[]").message, "bundle: expected an object");
}

TEST(AuditJson, RefusesAnotherFormat) {
  EXPECT_EQ(
      parse_error(edited([](auto& root) { root["format"] = "hecs-audit-bundle-v2"; })).message,
      R"(bundle.format: expected "hecs-audit-bundle-v1")");
}

TEST(AuditJson, RefusesAKeyThatIsNotBase64url) {
  const auto set_key = [](const std::string& text) {
    return [text](boost::json::object& root) {
      root["keys"].as_array()[0].as_object()["public_key"] = text;
    };
  };
  const std::string expected = "bundle.keys[0].public_key: expected 32 bytes of base64url";
  EXPECT_EQ(parse_error(edited(set_key("not base64url!"))).message, expected);
  EXPECT_EQ(parse_error(edited(set_key(crypto::base64_encode(key_a().public_key())))).message,
            expected);  // padded standard base64
  EXPECT_EQ(parse_error(edited(set_key(crypto::base64url_encode(std::string(31, 'k'))))).message,
            expected);
}

TEST(AuditJson, RefusesAKeyWhoseIdIsNotItsFingerprint) {
  const Error e = parse_error(edited([](auto& root) {
    root["keys"].as_array()[0].as_object()["key_id"] = key_id_of(key_b().public_key());
  }));
  EXPECT_EQ(e.message, "bundle.keys[0].key_id: is not the fingerprint of public_key");
}

TEST(AuditJson, RefusesAKeyListedTwice) {
  const Error e = parse_error(edited([](auto& root) {
    auto& keys = root["keys"].as_array();
    keys.push_back(keys[0]);
  }));
  EXPECT_EQ(e.message, "bundle.keys[2]: listed twice");
}

TEST(AuditJson, RefusesAnOversizedField) {
  EXPECT_EQ(parse_error(edited([](auto& root) {
              first_record(root)["actor"] = std::string(kMaxFieldBytes + 1, 'a');
            })).message,
            "bundle.records[0].actor: longer than 4096 bytes");
  EXPECT_EQ(parse_error(edited([](auto& root) {
              first_record(root)["detail"] = std::string(kMaxDetailBytes + 1, ' ');
            })).message,
            "bundle.records[0].detail: longer than 16384 bytes");
}

TEST(AuditJson, AcceptsFieldsAtTheirLimits) {
  Bundle bundle = make_bundle();
  bundle.records[0].actor = std::string(kMaxFieldBytes, 'a');
  bundle.records[0].detail = R"({"x":")" + std::string(kMaxDetailBytes - 8, 'x') + "\"}";
  auto back = parse_bundle(to_json_text(bundle));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, bundle);
}

TEST(AuditJson, RefusesADuplicateMember) {
  std::string text = to_json_text(make_bundle());
  const auto at = text.find(R"("action":)");
  ASSERT_NE(at, std::string::npos);
  text.insert(at, R"("action":"auth.login",)");
  EXPECT_EQ(parse_error(text).message, "bundle: duplicate member");
}

TEST(AuditJson, RefusesNestingDeeperThanEight) {
  std::string text = to_json_text(make_bundle());
  text.insert(1, R"("x":[[[[[[[[[]]]]]]]]],)");
  EXPECT_THAT(parse_error(text).message, HasSubstr("bundle: not valid json"));
}

TEST(AuditJson, RefusesABundleOverTheSizeLimit) {
  std::string text = to_json_text(make_bundle());
  text.resize(kMaxBundleBytes + 1, ' ');  // valid JSON, just too long
  EXPECT_THAT(parse_error(text).message, HasSubstr("more than the limit of 67108864"));
}

TEST(AuditJson, RefusesTextThatIsNotJson) {
  EXPECT_THAT(parse_error("").message, HasSubstr("not valid json"));
  EXPECT_THAT(parse_error(R"({"format":)").message, HasSubstr("not valid json"));
  EXPECT_THAT(parse_error("{\"format\":\"\xff\"}").message, HasSubstr("not valid json"));
}

// The fuzz corpus's valid seed (tests/fuzz/corpus/audit) is what it says: signed with the
// key from seed "AAAA…", it verifies.
TEST(AuditJson, TheCommittedSeedBundleVerifies) {
  std::ifstream in(std::string(HECS_AUDIT_CORPUS_DIR) + "/valid_bundle.json", std::ios::binary);
  ASSERT_TRUE(in);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bundle = parse_bundle(text);
  ASSERT_TRUE(bundle) << bundle.error().message;
  EXPECT_EQ(bundle->records.size(), 3u);
  ASSERT_EQ(bundle->checkpoints.size(), 1u);
  EXPECT_EQ(bundle->checkpoints[0].key_id, key_id_of(key_a().public_key()));
  const Verification v = verify(bundle->tenant_id, bundle->records, bundle->checkpoints, ring());
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(to_json_text(*bundle), text);
}

}  // namespace
}  // namespace hecs::audit
