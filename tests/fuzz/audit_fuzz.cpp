// Fuzz target for audit export bundles (CONVENTIONS §9): whatever file a customer is handed,
// parse_bundle, verify and verify_consistency return a value and never crash, and the three
// agree with each other.
//
// Each input that parses as a bundle goes three ways:
//  1. round trip: what parsed, written out by to_json_text, parses again to the same bundle;
//  2. as it is, through verify and verify_consistency with the bundle's own keys; when verify
//     accepts, every checkpoint must also be consistent with the origin and with the others;
//  3. repaired: records given the bundle's tenant and seq 1..n and re-linked, checkpoints
//     re-made at their seq (mod n + 1) and signed with a fixed key. verify must accept that,
//     and must find one record dropped from it. This reaches the paths past the signature
//     check that a mutated signature never reaches.
//
// Built twice by CMakeLists.txt: by clang with libFuzzer (audit_fuzz) and by g++ with
// replay_main.cpp (fuzz_replay_audit, which runs the stored corpus in every unit test run).
// The corpus's bundles are signed with the key from seed "AAAA…" (and "BBBB…" for rotation).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/audit/audit.h"
#include "common/crypto/crypto.h"

namespace {

using hecs::audit::Bundle;
using hecs::audit::Checkpoint;
using hecs::audit::Record;

// A broken invariant, not an input problem: make libFuzzer keep the input and stop.
[[noreturn]] void invariant_broken() { std::abort(); }

const hecs::crypto::Ed25519Key& signing_key() {
  static const auto key = *hecs::crypto::Ed25519Key::from_seed(std::string(32, 'A'));
  return key;
}

Checkpoint origin() {
  Checkpoint c;
  c.head = hecs::audit::genesis_hash();
  return c;
}

// Records older.seq + 1 .. newer.seq as far as `records` has them (any range, for coverage).
std::span<const Record> segment(const std::vector<Record>& records, std::uint64_t from,
                                std::uint64_t to) {
  const std::uint64_t n = records.size();
  from = std::min(from, n);
  to = std::clamp(to, from, n);
  return std::span<const Record>(records).subspan(from, to - from);
}

std::vector<Checkpoint> sorted_by_seq(std::vector<Checkpoint> checkpoints) {
  std::sort(checkpoints.begin(), checkpoints.end(),
            [](const Checkpoint& a, const Checkpoint& b) { return a.seq < b.seq; });
  return checkpoints;
}

// Every checkpoint consistent with the origin and each with the next: what an accepted log
// must satisfy.
bool all_consistent(const Bundle& bundle) {
  const auto checkpoints = sorted_by_seq(bundle.checkpoints);
  Checkpoint previous = origin();
  for (const Checkpoint& c : checkpoints) {
    if (!hecs::audit::verify_consistency(origin(), c, segment(bundle.records, 0, c.seq),
                                         bundle.keys) ||
        !hecs::audit::verify_consistency(previous, c, segment(bundle.records, previous.seq, c.seq),
                                         bundle.keys)) {
      return false;
    }
    previous = c;
  }
  return true;
}

void check_as_is(const Bundle& bundle) {
  const auto v =
      hecs::audit::verify(bundle.tenant_id, bundle.records, bundle.checkpoints, bundle.keys);
  if (v.checkpoints != bundle.checkpoints.size() || v.records > bundle.records.size() ||
      v.ok != v.reason.empty() || (v.first_bad_seq && v.ok)) {
    invariant_broken();
  }
  if (v.ok && !all_consistent(bundle)) {
    invariant_broken();
  }
  // Whatever pairs the input gives, in its order: only must not crash.
  for (std::size_t i = 1; i < bundle.checkpoints.size(); ++i) {
    const Checkpoint& older = bundle.checkpoints[i - 1];
    const Checkpoint& newer = bundle.checkpoints[i];
    (void)hecs::audit::verify_consistency(
        older, newer, segment(bundle.records, older.seq, newer.seq), bundle.keys);
  }
}

Bundle repaired(Bundle bundle) {
  std::string prev = hecs::audit::genesis_hash();
  for (std::size_t i = 0; i < bundle.records.size(); ++i) {
    Record& r = bundle.records[i];
    r.tenant_id = bundle.tenant_id;
    r.seq = i + 1;
    r = hecs::audit::link(std::move(r), prev);
    prev = r.hash;
  }
  const std::uint64_t n = bundle.records.size();
  for (Checkpoint& c : bundle.checkpoints) {
    c.tenant_id = bundle.tenant_id;
    c.seq %= n + 1;
    c.head = c.seq == 0 ? hecs::audit::genesis_hash() : bundle.records[c.seq - 1].hash;
    c = hecs::audit::sign(std::move(c), signing_key());
  }
  const std::string& pub = signing_key().public_key();
  bundle.keys = {{hecs::audit::key_id_of(pub), pub}};
  return bundle;
}

void check_repaired(const Bundle& input, std::size_t choice) {
  Bundle bundle = repaired(input);
  const auto v =
      hecs::audit::verify(bundle.tenant_id, bundle.records, bundle.checkpoints, bundle.keys);
  if (!v.ok || v.records != bundle.records.size() || !all_consistent(bundle)) {
    invariant_broken();
  }
  if (bundle.records.size() < 2) {
    return;
  }
  // One record dropped, any but the last (no checkpoint need cover it): found, at its seq.
  const std::size_t dropped = choice % (bundle.records.size() - 1);
  bundle.records.erase(bundle.records.begin() + static_cast<std::ptrdiff_t>(dropped));
  const auto gap =
      hecs::audit::verify(bundle.tenant_id, bundle.records, bundle.checkpoints, bundle.keys);
  if (gap.ok || gap.first_bad_seq != dropped + 1) {
    invariant_broken();
  }
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto bundle = hecs::audit::parse_bundle(input);
  if (!bundle) {
    return 0;
  }
  auto again = hecs::audit::parse_bundle(hecs::audit::to_json_text(*bundle));
  if (!again || !(*again == *bundle)) {
    invariant_broken();
  }
  check_as_is(*bundle);
  check_repaired(*bundle, size);
  return 0;
}
