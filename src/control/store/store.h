// The control plane's stores (DESIGN §5): identity (tenants, API keys), devices, and
// telemetry, written once against SOCI for SQLite and PostgreSQL. Every tenant-owned query
// filters by tenant_id. All methods block: call them from the worker pool, not an I/O thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/db/db.h"
#include "common/result.h"

namespace hecs::control::store {

// ---- identity ---------------------------------------------------------------------------

struct Tenant {
  std::string id;    // UUID
  std::string name;  // "default"
  std::int64_t created_at = 0;
};

struct ApiKey {
  std::string id;  // UUID
  std::string tenant_id;
  std::string prefix;  // first characters of the key, shown in lists
  std::string hash;    // hex SHA-256 of the whole key; the key itself is never stored
  std::string role;    // "admin" for the bootstrap key
  std::int64_t created_at = 0;
  std::optional<std::int64_t> revoked_at;
};

class IdentityStore {
 public:
  explicit IdentityStore(db::Database& db) : db_(db) {}  // db outlives us
  Result<std::optional<Tenant>> find_tenant_by_name(const std::string& name);
  // The tenant and, when given, its first API key, in one transaction.
  Result<void> create_tenant(const Tenant& tenant,
                             const std::optional<ApiKey>& first_key = std::nullopt);
  Result<void> create_api_key(const ApiKey& key);
  // Errc::not_found when no key has this hash.
  Result<ApiKey> find_api_key_by_hash(const std::string& hash);
  Result<void> touch_api_key(const std::string& id, std::int64_t used_at);

 private:
  db::Database& db_;
};

// ---- devices and ingest -------------------------------------------------------------------

struct Device {
  std::string tenant_id;
  std::string id;
  std::string hostname;  // from the latest hello; empty before it
  bool online = false;
  std::uint64_t session = 0;
  std::int64_t first_seen = 0;  // unix ms
  std::int64_t last_seen = 0;
  std::string inventory;  // JSON text of the latest hello body, "" before any hello
  std::string telemetry;  // JSON text of the newest telemetry body, "" before any
  std::optional<std::int64_t> telemetry_ts;
};

struct DeviceFilter {
  std::optional<bool> online;
  std::string q;         // case-insensitive substring of id or hostname; "" = any
  std::string after_id;  // cursor: ids strictly greater; "" = from the start
  std::size_t limit = 50;
};

struct DevicePage {
  std::vector<Device> items;  // ordered by id
  bool more = false;          // another page follows items.back().id
  std::uint64_t total = 0;    // how many devices match the filter, all pages together
};

// One validated up-message, ready to store. Messages of one batch are applied in order.
struct IngestItem {
  enum class Kind { hello, status, telemetry };
  Kind kind = Kind::telemetry;
  std::string tenant_id;
  std::string device_id;
  std::string message_id;        // envelope id: a telemetry message stored twice is kept once
  std::int64_t ts = 0;           // envelope ts (sender's clock)
  std::int64_t received_at = 0;  // our clock: last_seen, first_seen
  std::uint64_t session = 0;     // hello and status
  bool online = false;           // status
  std::string hostname;          // hello
  std::string body;              // JSON text of the body (hello, telemetry)
};

struct IngestStats {
  std::size_t applied = 0;
  std::size_t duplicates = 0;  // telemetry already stored under the same message id
  std::size_t stale = 0;       // hello/status of an older session, ignored (S28)
  std::size_t rejected = 0;    // device id already held by another tenant, ignored
};

class DeviceStore {
 public:
  explicit DeviceStore(db::Database& db) : db_(db) {}
  // Errc::invalid_input when filter.limit is 0.
  Result<DevicePage> list(const std::string& tenant_id, const DeviceFilter& filter);
  Result<Device> get(const std::string& tenant_id, const std::string& device_id);  // not_found
  // Applies a whole batch in ONE transaction (DESIGN §5): device upserts, status with the
  // session rule of S28 (a status or hello whose session is below the stored one is ignored),
  // latest telemetry (kept only when newer by ts), and raw telemetry rows (deduplicated by
  // message id). Either the whole batch is stored or none of it: Errc::invalid_input, before
  // any write, for an item without tenant, device or (telemetry) message id, or whose session
  // exceeds INT64_MAX.
  Result<IngestStats> ingest(std::span<const IngestItem> batch);
  // Counts for /metrics.
  Result<std::uint64_t> count(std::optional<bool> online);

 private:
  db::Database& db_;
};

struct TelemetryPoint {
  std::string message_id;
  std::int64_t ts = 0;
  std::string body;  // JSON text
};

class TelemetryStore {
 public:
  explicit TelemetryStore(db::Database& db) : db_(db) {}
  // Raw window of one device, oldest first, ts in [from, to).
  Result<std::vector<TelemetryPoint>> window(const std::string& tenant_id,
                                             const std::string& device_id, std::int64_t from,
                                             std::int64_t to, std::size_t limit);
  // Deletes raw rows older than `before` (unix ms); returns how many went.
  Result<std::size_t> prune(std::int64_t before);
  Result<std::uint64_t> count(const std::string& tenant_id, const std::string& device_id);

 private:
  db::Database& db_;
};

// This binary's migrations for a backend, oldest first (migrations/<backend>/*.sql, embedded at
// build time).
std::span<const db::Migration> migrations(db::Backend backend);

// Opens the database and applies this version's migrations for its backend.
Result<std::unique_ptr<db::Database>> open_and_migrate(const db::Options& options);

}  // namespace hecs::control::store
