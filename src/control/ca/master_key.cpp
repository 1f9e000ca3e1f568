#include <cstdlib>

#include <fmt/format.h>

#include "common/files.h"
#include "control/ca/ca.h"

namespace hecs::control::ca {
namespace fs = std::filesystem;

Result<MasterKey> load_master_key(const fs::path& file, const fs::path& pki_dir) {
  MasterKey out;
  // getenv is read once at start-up, before any thread exists.
  if (const char* env = std::getenv(kMasterKeyEnv);
      env != nullptr && *env != '\0') {  // NOLINT(concurrency-mt-unsafe)
    auto key = crypto::parse_master_key(env);
    if (!key) {
      return fail(std::move(key.error()), fmt::format("environment {}", kMasterKeyEnv));
    }
    out.key = std::move(*key);
    out.source = fmt::format("environment {}", kMasterKeyEnv);
    return out;
  }
  out.source = file.string();
  auto text = files::read_small(file, 4096);
  if (text) {
    auto key = crypto::parse_master_key(*text);
    if (!key) {
      return fail(std::move(key.error()), file.string());
    }
    out.key = std::move(*key);
    return out;
  }
  if (text.error().code != Errc::not_found) {
    return fail(std::move(text.error()), "master key");
  }
  std::error_code ec;
  if (fs::exists(pki_dir / "ca-key.sealed", ec)) {
    return fail(Errc::unauthorized,
                fmt::format("master key missing: {} does not exist and {} is not set, but {} "
                            "holds sealed keys that need it",
                            file.string(), kMasterKeyEnv, pki_dir.string()));
  }
  auto generated = crypto::generate_master_key_text();
  if (auto w = files::write_atomic(file, generated, 0600); !w) {
    return fail(std::move(w.error()), "create master key");
  }
  auto key = crypto::parse_master_key(generated);
  if (!key) {
    return fail(std::move(key.error()), "create master key");
  }
  out.key = std::move(*key);
  out.created = true;
  return out;
}

}  // namespace hecs::control::ca
