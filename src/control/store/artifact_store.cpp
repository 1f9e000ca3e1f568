// TaskStore (tasks.h): the artifacts of runs, kept piece by piece and checked once whole.
#include <soci/soci.h>

#include "common/crypto/crypto.h"
#include "control/store/row.h"
#include "control/store/store.h"

namespace hecs::control::store {
namespace {

constexpr const char* kArtifactColumns =
    "SELECT a.device_id, a.name, a.size, a.sha256, a.received, a.state, a.error, a.updated_at "
    "FROM task_artifacts a JOIN tasks t ON t.id = a.task_id";

struct ArtifactSociRow {
  ArtifactRow row;
  long long size = 0, received = 0, updated_at = 0;
  void bind(soci::statement& st) {
    st.exchange(soci::into(row.device_id));
    st.exchange(soci::into(row.name));
    st.exchange(soci::into(size));
    st.exchange(soci::into(row.sha256));
    st.exchange(soci::into(received));
    st.exchange(soci::into(row.state));
    st.exchange(soci::into(row.error));
    st.exchange(soci::into(updated_at));
  }
  ArtifactRow take() const {
    ArtifactRow out = row;
    out.size = size;
    out.received = received;
    out.updated_at = updated_at;
    return out;
  }
};

// The pieces of an artifact in order, joined; "" with `why` set when they do not cover it
// exactly once or a piece is unreadable.
std::string assemble(soci::session& sql, const std::string& task, const std::string& device,
                     long long size, std::string& why) {
  std::string bytes, data;
  long long pos = 0;
  soci::statement st = (sql.prepare << "SELECT pos, data FROM task_artifact_chunks WHERE task_id "
                                       "= :t AND device_id = :d ORDER BY pos",
                        soci::use(task), soci::use(device), soci::into(pos), soci::into(data));
  st.execute();
  while (st.fetch()) {
    auto raw = crypto::base64_decode(data);
    if (!raw || pos != static_cast<long long>(bytes.size())) {
      why = raw ? "pieces overlap or leave a gap" : "a piece is not base64";
      return {};
    }
    bytes += *raw;
  }
  if (static_cast<long long>(bytes.size()) != size) {
    why = "pieces do not add up to the size";
    return {};
  }
  return bytes;
}

}  // namespace

bool TaskStore::apply_artifact(soci::session& sql, const ResultItem& item, std::int64_t now) {
  const long long size = item.artifact_size, pos = item.pos, at = now;
  const long long n = static_cast<long long>(item.data.size());
  // The artifact row, when the run exists; the first piece names it for good.
  sql << "INSERT INTO task_artifacts (task_id, device_id, tenant_id, name, size, sha256, "
         "received, state, updated_at) SELECT task_id, device_id, tenant_id, :name, :size, :sha, "
         "0, 'receiving', :at FROM task_runs WHERE task_id = :t AND device_id = :d "
         "ON CONFLICT (task_id, device_id) DO NOTHING",
      soci::use(item.artifact_name), soci::use(size), soci::use(item.artifact_sha256),
      soci::use(at), soci::use(item.task_id), soci::use(item.device_id);
  // Kept once per offset, only for the same artifact, still receiving, and never past its size
  // in total, whatever a device sends.
  const std::string data = crypto::base64_encode(item.data);
  soci::statement piece =
      (sql.prepare << "INSERT INTO task_artifact_chunks (task_id, device_id, pos, bytes, data) "
                      "SELECT :t, :d, :pos, :n, :data WHERE EXISTS (SELECT 1 FROM task_artifacts "
                      "WHERE task_id = :t2 AND device_id = :d2 AND name = :name AND size = :size "
                      "AND sha256 = :sha AND state = 'receiving' AND received + :n2 <= size) "
                      "ON CONFLICT (task_id, device_id, pos) DO NOTHING",
       soci::use(item.task_id), soci::use(item.device_id), soci::use(pos), soci::use(n),
       soci::use(data), soci::use(item.task_id), soci::use(item.device_id),
       soci::use(item.artifact_name), soci::use(size), soci::use(item.artifact_sha256),
       soci::use(n));
  piece.execute(true);
  if (piece.get_affected_rows() == 0) {
    return false;
  }
  sql << "UPDATE task_artifacts SET received = received + :n, updated_at = :at WHERE task_id = "
         ":t AND device_id = :d",
      soci::use(n), soci::use(at), soci::use(item.task_id), soci::use(item.device_id);
  long long received = 0;
  sql << "SELECT received FROM task_artifacts WHERE task_id = :t AND device_id = :d",
      soci::use(item.task_id), soci::use(item.device_id), soci::into(received);
  if (received < size) {
    return true;
  }
  std::string why;
  auto bytes = assemble(sql, item.task_id, item.device_id, size, why);
  if (why.empty() && crypto::sha256_hex(bytes) != item.artifact_sha256) {
    why = "sha256 does not match the pieces";
  }
  const std::string state = why.empty() ? "complete" : "corrupt";
  sql << "UPDATE task_artifacts SET state = :s, error = :e, updated_at = :at WHERE task_id = :t "
         "AND device_id = :d",
      soci::use(state), soci::use(why), soci::use(at), soci::use(item.task_id),
      soci::use(item.device_id);
  return true;
}

Result<std::map<std::string, ArtifactRow>> TaskStore::artifacts(const std::string& tenant_id,
                                                                const std::string& task_id) {
  std::map<std::string, ArtifactRow> out;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    ArtifactSociRow row;
    auto st = select_into(
        sql, row, std::string(kArtifactColumns) + " WHERE t.tenant_id = :tenant AND a.task_id = :t",
        tenant_id, task_id);
    st.execute();
    while (st.fetch()) {
      auto a = row.take();
      out[a.device_id] = std::move(a);
    }
    return {};
  });
  if (!read) {
    return tl::unexpected(read.error());
  }
  return out;
}

Result<std::pair<ArtifactRow, std::string>> TaskStore::artifact_bytes(
    const std::string& tenant_id, const std::string& task_id, const std::string& device_id) {
  std::pair<ArtifactRow, std::string> out;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    ArtifactSociRow row;
    auto st = select_into(sql, row,
                          std::string(kArtifactColumns) +
                              " WHERE t.tenant_id = :tenant AND a.task_id = :t AND "
                              "a.device_id = :d",
                          tenant_id, task_id, device_id);
    st.execute();
    if (!st.fetch()) {
      return fail(Errc::not_found, "this run has no artifact");
    }
    out.first = row.take();
    if (out.first.state == "expired") {
      return fail(Errc::not_found, "the artifact was removed when its retention ended");
    }
    if (out.first.state != "complete") {
      return fail(Errc::conflict, out.first.state == "corrupt"
                                      ? "the artifact arrived damaged: " + out.first.error
                                      : "the artifact is still arriving (" +
                                            std::to_string(out.first.received) + " of " +
                                            std::to_string(out.first.size) + " bytes)");
    }
    std::string why;
    out.second = assemble(sql, task_id, device_id, out.first.size, why);
    if (!why.empty() || crypto::sha256_hex(out.second) != out.first.sha256) {
      return fail(Errc::corrupt, "stored artifact damaged: " + (why.empty() ? "sha256" : why));
    }
    return {};
  });
  if (!read) {
    return tl::unexpected(read.error());
  }
  return out;
}

}  // namespace hecs::control::store
