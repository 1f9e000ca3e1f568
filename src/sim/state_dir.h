// Where hecs-sim's agents keep what enrolment gave them (--state-dir), so that a later run with
// the same directory and --seed reuses it and enrols nobody: DIR/<device id>.key (the P-256
// private key, 0600) and DIR/<device id>.pem (its certificate). The certificate is written last:
// an agent with both files is enrolled.
//
// Threading: plain file I/O on the caller's thread; the directory is not shared with another
// process while hecs-sim runs (two processes with disjoint --first-index ranges may share it).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hecs::sim {

struct StoredIdentity {
  std::string key_pem;   // PKCS#8 private key
  std::string cert_pem;  // the certificate the control plane issued for it
};

class StateDir {
 public:
  explicit StateDir(std::filesystem::path dir) : dir_(std::move(dir)) {}

  // Creates the directory (0700) when missing. Errc::unavailable with the system's reason.
  Result<void> create() const;
  // Both files of `device_id` exist (their content is checked by whoever loads them).
  bool has(std::string_view device_id) const;
  // Errc::not_found when either file is missing, Errc::unavailable when unreadable.
  Result<StoredIdentity> load(std::string_view device_id) const;
  // The key, then the certificate, each written atomically (not fsynced: a simulator's
  // directory is cheap to enrol again). Errc::unavailable with the path and reason.
  Result<void> store(std::string_view device_id, const StoredIdentity& identity) const;

  std::filesystem::path key_path(std::string_view device_id) const;
  std::filesystem::path cert_path(std::string_view device_id) const;

 private:
  std::filesystem::path dir_;
};

}  // namespace hecs::sim
