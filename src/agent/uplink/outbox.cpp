#include <filesystem>

#include <fmt/format.h>
#include <sqlite3.h>

#include "agent/uplink/uplink.h"
#include "common/clock.h"

namespace hecs::agent::uplink {
namespace {

struct DbClose {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, DbClose>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

Errc errc_of(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return Errc::unavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Errc::corrupt;
    default:
      return Errc::internal;
  }
}

tl::unexpected<Error> sql_error(sqlite3* db, int rc, std::string_view doing) {
  return fail(errc_of(rc), fmt::format("outbox: {}: {}", doing,
                                       db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

Result<void> exec(sqlite3* db, const char* sql) {
  char* msg = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    std::string text = msg != nullptr ? msg : sqlite3_errstr(rc);
    sqlite3_free(msg);
    return fail(errc_of(rc), fmt::format("outbox: {}", text));
  }
  return {};
}

Result<Stmt> prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) {
    return sql_error(db, rc, "prepare");
  }
  return Stmt(s);
}

// Opens and checks; Errc::corrupt when the file is not a healthy database.
Result<Db> open_checked(const std::filesystem::path& path, bool synchronous_full) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) {
    return sql_error(raw, rc, "open");
  }
  sqlite3_busy_timeout(db.get(), 5000);
  if (auto r = exec(db.get(), "PRAGMA journal_mode=WAL"); !r) {
    return tl::unexpected(r.error());
  }
  if (auto r = exec(db.get(),
                    synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
      !r) {
    return tl::unexpected(r.error());
  }
  auto check = prepare(db.get(), "PRAGMA quick_check");
  if (!check) {
    return tl::unexpected(check.error());
  }
  rc = sqlite3_step(check->get());
  if (rc != SQLITE_ROW) {
    return sql_error(db.get(), rc, "quick_check");
  }
  const auto* verdict = reinterpret_cast<const char*>(sqlite3_column_text(check->get(), 0));
  if (verdict == nullptr || std::string_view(verdict) != "ok") {
    return fail(Errc::corrupt, fmt::format("outbox: quick_check: {}", verdict ? verdict : "?"));
  }
  check->reset();
  if (auto r = exec(db.get(),
                    "CREATE TABLE IF NOT EXISTS outbox ("
                    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                    " topic TEXT NOT NULL, payload BLOB NOT NULL, created_at INTEGER NOT NULL,"
                    " msg_id TEXT NOT NULL DEFAULT '')");
      !r) {
    return tl::unexpected(r.error());
  }
  // Outboxes made before acks carried no message id: add it, taken from each envelope.
  if (!prepare(db.get(), "SELECT msg_id FROM outbox LIMIT 0")) {
    if (auto r = exec(db.get(),
                      "ALTER TABLE outbox ADD COLUMN msg_id TEXT NOT NULL DEFAULT '';"
                      "UPDATE outbox SET msg_id = COALESCE(json_extract(payload, '$.id'), '')");
        !r) {
      return tl::unexpected(r.error());
    }
  }
  // Outboxes made before task results could drop anything for space: add the flag.
  if (!prepare(db.get(), "SELECT droppable FROM outbox LIMIT 0")) {
    if (auto r =
            exec(db.get(), "ALTER TABLE outbox ADD COLUMN droppable INTEGER NOT NULL DEFAULT 1");
        !r) {
      return tl::unexpected(r.error());
    }
  }
  if (auto r = exec(db.get(), "CREATE INDEX IF NOT EXISTS outbox_msg_id ON outbox(msg_id)"); !r) {
    return tl::unexpected(r.error());
  }
  return db;
}

}  // namespace

struct Outbox::Handles {
  Db db;
  Stmt insert, peek, remove, count, bytes, drop_oldest, ack;
};

Outbox::Outbox(std::unique_ptr<Handles> handles, OutboxLimits limits)
    : h_(std::move(handles)), limits_(limits) {}

Outbox::~Outbox() = default;

Result<std::unique_ptr<Outbox>> Outbox::open(const std::filesystem::path& path, OutboxLimits limits,
                                             bool synchronous_full) {
  std::string quarantined;
  auto db = open_checked(path, synchronous_full);
  if (!db && db.error().code == Errc::corrupt) {
    // S32: keep the damaged file for inspection, start afresh rather than crash-loop.
    auto aside = path;
    aside += fmt::format(".corrupt-{}", SystemClock{}.now_ms());
    std::error_code ec;
    std::filesystem::rename(path, aside, ec);
    for (const char* suffix : {"-wal", "-shm"}) {
      auto side = path;
      side += suffix;
      std::filesystem::remove(side, ec);
    }
    quarantined = aside.string();
    db = open_checked(path, synchronous_full);
  }
  if (!db) {
    return tl::unexpected(db.error());
  }
  auto h = std::make_unique<Handles>();
  h->db = std::move(*db);
  struct {
    Stmt* stmt;
    const char* sql;
  } statements[] = {
      {&h->insert,
       "INSERT INTO outbox(topic, payload, created_at, msg_id, droppable) VALUES (?, ?, ?, ?, ?)"},
      {&h->peek,
       "SELECT seq, topic, payload, msg_id FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?"},
      {&h->ack, "DELETE FROM outbox WHERE msg_id = ?"},
      {&h->remove, "DELETE FROM outbox WHERE seq = ?"},
      {&h->count, "SELECT COUNT(*) FROM outbox"},
      {&h->bytes, "SELECT COALESCE(SUM(LENGTH(payload)), 0) FROM outbox"},
      {&h->drop_oldest,
       "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE droppable = 1 ORDER BY seq "
       "LIMIT ?)"},
  };
  for (auto& s : statements) {
    auto prepared = prepare(h->db.get(), s.sql);
    if (!prepared) {
      return tl::unexpected(prepared.error());
    }
    *s.stmt = std::move(*prepared);
  }
  auto outbox = std::unique_ptr<Outbox>(new Outbox(std::move(h), limits));
  outbox->quarantined_ = std::move(quarantined);
  outbox->synchronous_full_ = synchronous_full;
  return outbox;
}

Result<std::int64_t> Outbox::append(const std::string& topic, const std::string& payload,
                                    const std::string& msg_id, bool droppable) {
  sqlite3* db = h_->db.get();
  auto* s = h_->insert.get();
  sqlite3_reset(s);
  sqlite3_bind_text(s, 1, topic.data(), static_cast<int>(topic.size()), SQLITE_STATIC);
  sqlite3_bind_blob(s, 2, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, SystemClock{}.now_ms());
  sqlite3_bind_text(s, 4, msg_id.data(), static_cast<int>(msg_id.size()), SQLITE_STATIC);
  sqlite3_bind_int(s, 5, droppable ? 1 : 0);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) {
    return sql_error(db, rc, "append");
  }
  std::int64_t seq = sqlite3_last_insert_rowid(db);
  // Bound the outbox: the oldest droppable entries go first; results and events never do
  // (DESIGN §4).
  auto n = size();
  if (n && *n > limits_.max_entries) {
    auto excess = *n - limits_.max_entries;
    auto* d = h_->drop_oldest.get();
    sqlite3_reset(d);
    sqlite3_bind_int64(d, 1, static_cast<std::int64_t>(excess));
    if (sqlite3_step(d) == SQLITE_DONE) {
      dropped_ += static_cast<std::uint64_t>(sqlite3_changes(db));
    }
    sqlite3_reset(d);
  }
  auto* b = h_->bytes.get();
  sqlite3_reset(b);
  if (sqlite3_step(b) == SQLITE_ROW &&
      static_cast<std::size_t>(sqlite3_column_int64(b, 0)) > limits_.max_bytes) {
    sqlite3_reset(b);
    auto* d = h_->drop_oldest.get();
    sqlite3_reset(d);
    sqlite3_bind_int64(d, 1, 16);
    sqlite3_step(d);
    dropped_ += static_cast<std::uint64_t>(sqlite3_changes(db));
    sqlite3_reset(d);
  }
  sqlite3_reset(b);
  return seq;
}

Result<std::vector<OutboxEntry>> Outbox::peek(std::int64_t after_seq, std::size_t max) {
  auto* s = h_->peek.get();
  sqlite3_reset(s);
  sqlite3_bind_int64(s, 1, after_seq);
  sqlite3_bind_int64(s, 2, static_cast<std::int64_t>(max));
  std::vector<OutboxEntry> out;
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    OutboxEntry e;
    e.seq = sqlite3_column_int64(s, 0);
    e.topic = reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
    if (const void* blob = sqlite3_column_blob(s, 2)) {
      e.payload.assign(static_cast<const char*>(blob),
                       static_cast<std::size_t>(sqlite3_column_bytes(s, 2)));
    }
    e.msg_id = reinterpret_cast<const char*>(sqlite3_column_text(s, 3));
    out.push_back(std::move(e));
  }
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) {
    return sql_error(h_->db.get(), rc, "peek");
  }
  return out;
}

Result<void> Outbox::remove(std::int64_t seq) {
  auto* s = h_->remove.get();
  sqlite3_reset(s);
  sqlite3_bind_int64(s, 1, seq);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) {
    return sql_error(h_->db.get(), rc, "remove");
  }
  return {};
}

Result<std::size_t> Outbox::acknowledge(const std::vector<std::string>& msg_ids) {
  sqlite3* db = h_->db.get();
  if (auto r = exec(db, "BEGIN IMMEDIATE"); !r) {
    return tl::unexpected(r.error());
  }
  std::size_t removed = 0;
  auto* s = h_->ack.get();
  for (const auto& id : msg_ids) {
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
      (void)exec(db, "ROLLBACK");
      return sql_error(db, rc, "acknowledge");
    }
    removed += static_cast<std::size_t>(sqlite3_changes(db));
  }
  if (auto r = exec(db, "COMMIT"); !r) {
    (void)exec(db, "ROLLBACK");
    return tl::unexpected(r.error());
  }
  return removed;
}

Result<void> Outbox::transaction(const std::function<Result<void>()>& body, bool durable) {
  sqlite3* db = h_->db.get();
  const bool switch_sync = durable && !synchronous_full_;
  if (switch_sync) {
    if (auto r = exec(db, "PRAGMA synchronous=FULL"); !r) {
      return r;
    }
  }
  auto restore = [&] {
    if (switch_sync) {
      (void)exec(db, "PRAGMA synchronous=NORMAL");
    }
  };
  if (auto r = exec(db, "BEGIN IMMEDIATE"); !r) {
    restore();
    return r;
  }
  auto result = body();
  if (result) {
    result = exec(db, "COMMIT");
  }
  if (!result) {
    (void)exec(db, "ROLLBACK");
  }
  restore();
  return result;
}

sqlite3* Outbox::database() { return h_->db.get(); }

Result<std::size_t> Outbox::size() {
  auto* s = h_->count.get();
  sqlite3_reset(s);
  int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) {
    sqlite3_reset(s);
    return sql_error(h_->db.get(), rc, "count");
  }
  auto n = static_cast<std::size_t>(sqlite3_column_int64(s, 0));
  sqlite3_reset(s);
  return n;
}

}  // namespace hecs::agent::uplink
