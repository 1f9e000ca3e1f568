// TaskStore (tasks.h): results from devices, the output they sent, and counts of runs by state.
#include <algorithm>
#include <map>
#include <set>

#include <soci/soci.h>

#include "control/store/row.h"
#include "control/store/store.h"

namespace hecs::control::store {
namespace {

// What one run may store per stream, whatever a device sends: the largest output cap, and the
// truncation marker after it.
constexpr long long kMaxStoredOutput = 16LL * 1024 * 1024 + 4096;

struct OutputSociRow {
  OutputRow row;
  long long id = 0, pos = 0;
  int stream = 0;
  void bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(row.device_id));
    st.exchange(soci::into(stream));
    st.exchange(soci::into(pos));
    st.exchange(soci::into(row.data));
  }
  OutputRow take() const {
    OutputRow out = row;
    out.id = id;
    out.stream = stream;
    out.pos = pos;
    return out;
  }
};

}  // namespace

Result<ResultStats> TaskStore::apply(std::span<const ResultItem> batch, std::int64_t now) {
  ResultStats stats;
  auto written = db_.transact([&](soci::session& sql) -> Result<void> {
    stats = {};
    std::set<std::string> tasks;
    // Bound values, reassigned per item; statements prepared once per batch.
    std::string task, device, state, error, data;
    long long started_at = 0, ended_at = 0, stdout_bytes = 0, stderr_bytes = 0, pos = 0;
    long long at = now, exit_code = 0, signal = 0;
    soci::indicator exit_ind = soci::i_null, signal_ind = soci::i_null;
    int truncated = 0, stream = 0;
    soci::statement running =
        (sql.prepare << "UPDATE task_runs SET state = 'running', started_at = :started, "
                        "updated_at = :at WHERE task_id = :t AND device_id = :d AND state IN "
                        "('queued', 'sent')",
         soci::use(started_at), soci::use(at), soci::use(task), soci::use(device));
    soci::statement final_state =
        (sql.prepare << "UPDATE task_runs SET state = :state, started_at = CASE WHEN CAST(:started "
                        "AS BIGINT) > 0 "
                        "THEN :started2 ELSE started_at END, ended_at = :ended, exit_code = :exit, "
                        "signal = :signal, error = :error, stdout_bytes = :ob, stderr_bytes = :eb, "
                        "truncated = :tr, updated_at = :at WHERE task_id = :t AND device_id = :d "
                        "AND state IN ('queued', 'sent', 'running')",
         soci::use(state), soci::use(started_at), soci::use(started_at), soci::use(ended_at),
         soci::use(exit_code, exit_ind), soci::use(signal, signal_ind), soci::use(error),
         soci::use(stdout_bytes), soci::use(stderr_bytes), soci::use(truncated), soci::use(at),
         soci::use(task), soci::use(device));
    soci::statement output =
        (sql.prepare
             << "INSERT INTO task_output (task_id, device_id, stream, pos, data) "
                "SELECT :t, :d, :s, :p, :data WHERE EXISTS (SELECT 1 FROM task_runs WHERE "
                "task_id = :t2 AND device_id = :d2) AND (SELECT COALESCE(SUM(LENGTH(data)), "
                "0) FROM task_output WHERE task_id = :t3 AND device_id = :d3 AND stream = "
                ":s2) < :max ON CONFLICT (task_id, device_id, stream, pos) DO NOTHING",
         soci::use(task), soci::use(device), soci::use(stream), soci::use(pos), soci::use(data),
         soci::use(task), soci::use(device), soci::use(task), soci::use(device), soci::use(stream),
         soci::use(kMaxStoredOutput));
    for (const auto& item : batch) {
      task = item.task_id;
      device = item.device_id;
      if (!item.artifact_name.empty()) {
        const bool kept = apply_artifact(sql, item, now);
        ++(kept ? stats.applied : stats.ignored);
        if (kept) {
          tasks.insert(task);
        }
        continue;
      }
      if (item.local && !item.state.empty()) {
        auto made = ensure_local_task(sql, item);
        if (!made) {
          ++stats.local_refused;
          ++stats.ignored;
          continue;
        }
        stats.local_created += *made ? 1 : 0;
      }
      soci::statement* st = nullptr;
      if (item.state.empty()) {
        stream = item.stream;
        pos = item.pos;
        data = item.data;
        st = &output;
      } else if (item.state == "running") {
        started_at = item.started_at;
        st = &running;
      } else {
        state = item.state;
        started_at = item.started_at;
        ended_at = item.ended_at;
        exit_code = item.exit_code.value_or(0);
        exit_ind = item.exit_code ? soci::i_ok : soci::i_null;
        signal = item.signal.value_or(0);
        signal_ind = item.signal ? soci::i_ok : soci::i_null;
        error = item.error;
        stdout_bytes = item.stdout_bytes;
        stderr_bytes = item.stderr_bytes;
        truncated = item.truncated ? 1 : 0;
        st = &final_state;
      }
      st->execute(true);
      if (st->get_affected_rows() > 0) {
        ++stats.applied;
        tasks.insert(task);
      } else {
        ++stats.ignored;
      }
    }
    stats.tasks.assign(tasks.begin(), tasks.end());
    return {};
  });
  if (!written) {
    return tl::unexpected(written.error());
  }
  return stats;
}

Result<std::map<std::string, int>> TaskStore::counts(const std::string& task_id) {
  std::map<std::string, int> out;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    std::string state;
    int n = 0;
    soci::statement st = (sql.prepare << "SELECT state, COUNT(*) FROM task_runs WHERE task_id = "
                                         ":t GROUP BY state",
                          soci::use(task_id), soci::into(state), soci::into(n));
    st.execute();
    while (st.fetch()) {
      out[state] = n;
    }
    return {};
  });
  if (!read) {
    return tl::unexpected(read.error());
  }
  return out;
}

Result<std::map<std::string, std::map<std::string, int>>> TaskStore::counts_of(
    const std::vector<std::string>& task_ids) {
  std::map<std::string, std::map<std::string, int>> out;
  if (task_ids.empty()) {
    return out;
  }
  // Ids are bound one by one, chunked under SQLite's and PostgreSQL's bind limits.
  constexpr std::size_t kChunk = 100;
  auto read = db_.with_session([&](soci::session& sql) -> Result<void> {
    for (std::size_t at = 0; at < task_ids.size(); at += kChunk) {
      const std::vector<std::string> ids(
          task_ids.begin() + static_cast<long>(at),
          task_ids.begin() + static_cast<long>(std::min(task_ids.size(), at + kChunk)));
      std::string query = "SELECT task_id, state, COUNT(*) FROM task_runs WHERE task_id IN (";
      for (std::size_t i = 0; i < ids.size(); ++i) {
        query += (i == 0 ? ":i" : ", :i") + std::to_string(i);
      }
      query += ") GROUP BY task_id, state";
      std::string task, state;
      int n = 0;
      soci::statement st(sql);
      st.alloc();
      st.prepare(query);
      for (const auto& id : ids) {
        st.exchange(soci::use(id));
      }
      st.exchange(soci::into(task));
      st.exchange(soci::into(state));
      st.exchange(soci::into(n));
      st.define_and_bind();
      st.execute();
      while (st.fetch()) {
        out[task][state] = n;
      }
    }
    return {};
  });
  if (!read) {
    return tl::unexpected(read.error());
  }
  return out;
}

Result<std::vector<OutputRow>> TaskStore::output(const std::string& tenant_id,
                                                 const std::string& task_id,
                                                 const std::string& device_id, int stream,
                                                 std::int64_t after_id, std::size_t limit) {
  std::vector<OutputRow> out;
  const long long after = after_id, n = static_cast<long long>(limit);
  if (auto r = fetch_all<OutputSociRow>(
          db_,
          "SELECT o.id, o.device_id, o.stream, o.pos, o.data FROM task_output o JOIN tasks t ON "
          "t.id = o.task_id WHERE t.tenant_id = :tenant AND o.task_id = :t AND o.device_id = :d "
          "AND o.stream = :s AND o.id > :after ORDER BY o.pos LIMIT :n",
          out, tenant_id, task_id, device_id, stream, after, n);
      !r) {
    return tl::unexpected(r.error());
  }
  return out;
}

Result<std::vector<OutputRow>> TaskStore::output_from(const std::string& tenant_id,
                                                      const std::string& task_id,
                                                      const std::string& device_id, int stream,
                                                      std::int64_t offset, std::size_t limit) {
  std::vector<OutputRow> out;
  const long long at = offset, n = static_cast<long long>(limit);
  // The piece that holds `offset` is the last one starting at or before it.
  if (auto r = fetch_all<OutputSociRow>(
          db_,
          "SELECT o.id, o.device_id, o.stream, o.pos, o.data FROM task_output o "
          "JOIN tasks t ON t.id = o.task_id WHERE t.tenant_id = :tenant AND o.task_id = :t AND "
          "o.device_id = :d AND o.stream = :s AND o.pos >= COALESCE((SELECT MAX(p.pos) FROM "
          "task_output p WHERE p.task_id = :t2 AND p.device_id = :d2 AND p.stream = :s2 AND "
          "p.pos <= :at), 0) ORDER BY o.pos LIMIT :n",
          out, tenant_id, task_id, device_id, stream, task_id, device_id, stream, at, n);
      !r) {
    return tl::unexpected(r.error());
  }
  return out;
}

Result<std::vector<OutputRow>> TaskStore::output_since(const std::string& task_id,
                                                       std::int64_t after_id, std::size_t limit) {
  std::vector<OutputRow> out;
  const long long after = after_id, n = static_cast<long long>(limit);
  if (auto r = fetch_all<OutputSociRow>(db_,
                                        "SELECT id, device_id, stream, pos, data FROM task_output "
                                        "WHERE task_id = :t AND id > :after ORDER BY id LIMIT :n",
                                        out, task_id, after, n);
      !r) {
    return tl::unexpected(r.error());
  }
  return out;
}

}  // namespace hecs::control::store
