// Signed checkpoints of the audit log (S45–S47), kept OUTSIDE the database: the signing keys
// sealed with the master key under DIR/keys/, and every checkpoint made under
// DIR/checkpoints/<tenant>/. Someone who can rewrite the database can neither sign a new
// checkpoint nor change the saved ones, so a rewritten chain disagrees with them.
//
// Thread-safe. With several replicas each keeps its own DIR (docs/security.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/audit/audit.h"
#include "common/clock.h"
#include "common/crypto/crypto.h"
#include "common/result.h"

namespace hecs::control::checkpoints {

class Signer {
 public:
  // Opens DIR, creating it (0700) and a first signing key when there is none.
  // Errc::unauthorized when the master key does not open a sealed key; Errc::unavailable when
  // DIR cannot be written.
  static Result<std::unique_ptr<Signer>> open(const std::filesystem::path& dir,
                                              std::string master_key, const Clock& clock);

  // Signs "tenant has `seq` records ending in `head`" with the newest key and saves it.
  Result<audit::Checkpoint> sign(const std::string& tenant_id, std::uint64_t seq,
                                 const std::string& head);
  // The tenant's saved checkpoints, oldest first. A file that does not parse is skipped and
  // logged (it is evidence, so it is never deleted).
  Result<std::vector<audit::Checkpoint>> list(const std::string& tenant_id) const;
  // Every public key ever used, old ones included: checkpoints signed before a rotation still
  // verify (S47).
  audit::KeyRing keys() const;
  // A new signing key; the old ones stay for verification. Returns the new key id.
  Result<std::string> rotate();

 private:
  Signer(std::filesystem::path dir, std::string master_key, const Clock& clock)
      : dir_(std::move(dir)), master_key_(std::move(master_key)), clock_(clock) {}
  Result<void> load();
  Result<void> add_key_locked();
  std::filesystem::path dir_;
  std::string master_key_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::vector<crypto::Ed25519Key> keys_;  // oldest first; the last one signs
  audit::KeyRing ring_;                   // same order
};

}  // namespace hecs::control::checkpoints
