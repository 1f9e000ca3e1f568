#include "control/checkpoints/checkpoints.h"

#include <algorithm>
#include <system_error>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <sys/stat.h>

#include "common/files.h"
#include "common/log.h"

namespace hecs::control::checkpoints {
namespace {

constexpr std::string_view kKeyLabel = "hecs-audit-checkpoint-key";
namespace fs = std::filesystem;

Result<void> make_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return fail(Errc::unavailable, fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  }
  ::chmod(dir.c_str(), 0700);
  return {};
}

// Tenant ids name a directory: only UUIDs (and the platform's own name) get one.
bool safe_tenant(const std::string& tenant_id) {
  return is_uuid(tenant_id) || tenant_id == "platform";
}

}  // namespace

Result<std::unique_ptr<Signer>> Signer::open(const fs::path& dir, std::string master_key,
                                             const Clock& clock) {
  std::unique_ptr<Signer> s(new Signer(dir, std::move(master_key), clock));
  if (auto ok = make_dir(dir / "keys"); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = make_dir(dir / "checkpoints"); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = s->load(); !ok) {
    return tl::unexpected(ok.error());
  }
  if (s->keys_.empty()) {
    std::lock_guard lock(s->mutex_);
    if (auto ok = s->add_key_locked(); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  return s;
}

Result<void> Signer::load() {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_ / "keys", ec)) {
    if (entry.path().extension() == ".sealed") {
      files.push_back(entry.path());
    }
  }
  if (ec) {
    return fail(Errc::unavailable,
                fmt::format("cannot read {}: {}", (dir_ / "keys").string(), ec.message()));
  }
  // "<created unix ms, 16 digits>-<key id>.sealed": name order is age order.
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    auto sealed = files::read_small(path, 4096);
    if (!sealed) {
      return tl::unexpected(sealed.error());
    }
    auto seed = crypto::unseal(master_key_, *sealed, kKeyLabel);
    if (!seed) {
      return fail(seed.error(), fmt::format("audit key {}", path.filename().string()));
    }
    auto key = crypto::Ed25519Key::from_seed(*seed);
    if (!key) {
      return fail(Errc::corrupt,
                  fmt::format("audit key {}: not an Ed25519 seed", path.filename().string()));
    }
    ring_.push_back({audit::key_id_of(key->public_key()), key->public_key()});
    keys_.push_back(std::move(*key));
  }
  return {};
}

Result<void> Signer::add_key_locked() {
  auto key = crypto::Ed25519Key::generate();
  const std::string id = audit::key_id_of(key.public_key());
  const auto path = dir_ / "keys" / fmt::format("{:016d}-{}.sealed", clock_.now_ms(), id);
  if (auto ok = files::write_atomic(path, crypto::seal(master_key_, key.seed(), kKeyLabel)); !ok) {
    return tl::unexpected(ok.error());
  }
  // The public half beside it, for operators to publish where customers can pin it.
  (void)files::write_atomic(dir_ / "keys" / (id + ".pub"),
                            crypto::base64url_encode(key.public_key()) + "\n", 0644);
  ring_.push_back({id, key.public_key()});
  keys_.push_back(std::move(key));
  return {};
}

Result<audit::Checkpoint> Signer::sign(const std::string& tenant_id, std::uint64_t seq,
                                       const std::string& head) {
  if (!safe_tenant(tenant_id)) {
    return fail(Errc::invalid_input, "checkpoint: not a tenant id");
  }
  std::lock_guard lock(mutex_);
  audit::Checkpoint c;
  c.tenant_id = tenant_id;
  c.seq = seq;
  c.head = head;
  c.ts = clock_.now_ms();
  c = audit::sign(std::move(c), keys_.back());
  const auto dir = dir_ / "checkpoints" / tenant_id;
  if (auto ok = make_dir(dir); !ok) {
    return tl::unexpected(ok.error());
  }
  // Named by seq and time: a second checkpoint of the same head is another file, never an
  // overwrite of evidence.
  const auto path = dir / fmt::format("{:020d}-{:016d}.json", seq, c.ts);
  if (auto ok = files::write_atomic(path, boost::json::serialize(audit::to_json(c)) + "\n"); !ok) {
    return tl::unexpected(ok.error());
  }
  return c;
}

Result<std::vector<audit::Checkpoint>> Signer::list(const std::string& tenant_id) const {
  std::vector<audit::Checkpoint> out;
  if (!safe_tenant(tenant_id)) {
    return out;
  }
  const auto dir = dir_ / "checkpoints" / tenant_id;
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    auto text = files::read_small(path, 64 * 1024);
    boost::system::error_code jec;
    auto value = text ? boost::json::parse(*text, jec) : boost::json::value();
    auto c = text && !jec ? audit::checkpoint_from_json(value)
                          : Result<audit::Checkpoint>(fail(Errc::corrupt, "unreadable"));
    if (!c || c->tenant_id != tenant_id) {
      log::get("control.audit")
          ->error("audit.checkpoint_unreadable file={}", log::quoted(path.string()));
      continue;
    }
    out.push_back(std::move(*c));
  }
  return out;
}

audit::KeyRing Signer::keys() const {
  std::lock_guard lock(mutex_);
  return ring_;
}

Result<std::string> Signer::rotate() {
  std::lock_guard lock(mutex_);
  if (auto ok = add_key_locked(); !ok) {
    return tl::unexpected(ok.error());
  }
  return ring_.back().key_id;
}

}  // namespace hecs::control::checkpoints
