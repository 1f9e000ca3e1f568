// The control plane's stores (DESIGN §5): identity and audit (identity.h), devices,
// telemetry and enrolment, written once against SOCI for SQLite and PostgreSQL. Every tenant-owned
// query filters by tenant_id. All methods block: call them from the worker pool, not an I/O thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/db/db.h"
#include "common/result.h"
#include "control/store/identity.h"
#include "control/store/tasks.h"

namespace hecs::control::store {

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
  std::string state = "accepted";  // pending, accepted, rejected, revoked
  std::string tags = "[]";         // JSON array text
  std::string agent_version;       // from the latest hello; empty before it
};

enum class DeviceSort { id, hostname, last_seen, version, state };

struct DeviceFilter {
  std::optional<bool> online;
  std::string q;                       // case-insensitive substring of id or hostname; "" = any
  std::vector<std::string> states;     // any of these enrolment states; empty = any
  std::optional<std::string> version;  // exactly this agent version ("" = none reported yet)
  // Checked in C++ on the rows the SQL filter kept, given their id and tags (JSON array text):
  // tag selectors and groups. Unset = every row.
  std::function<bool(const std::string& id, const std::string& tags)> keep;
  DeviceSort sort = DeviceSort::id;
  bool descending = false;
  // Cursor: the rows strictly after (after_key, after_id) in the sort order. after_key is the
  // last row's sort key (decimal unix ms for last_seen; ignored for id); after_id "" = from the
  // start.
  std::string after_key;
  std::string after_id;
  std::size_t limit = 50;
};

struct DevicePage {
  std::vector<Device> items;  // in the filter's sort order, ties by id
  bool more = false;          // another page follows items.back()
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
  std::string agent_version;     // hello
  std::string body;              // JSON text of the body (hello, telemetry)
};

struct IngestStats {
  std::size_t applied = 0;
  std::size_t duplicates = 0;  // telemetry already stored under the same message id
  std::size_t stale = 0;       // hello/status of an older session, ignored (S28)
  std::size_t rejected = 0;    // device id already held by another tenant, ignored
};

// What a device event carries (GET /api/v1/devices/events).
struct DeviceChange {
  std::string id;
  std::string hostname;
  bool online = false;
  std::string state;
  std::int64_t last_seen = 0;   // unix ms
  std::int64_t changed_at = 0;  // unix ms: online, hostname or state last changed
};

// Online and offline count accepted devices only; pending ones wait for an operator.
struct DeviceCounts {
  std::uint64_t online = 0;
  std::uint64_t offline = 0;
  std::uint64_t pending = 0;
  std::uint64_t total = 0;
};

class DeviceStore {
 public:
  explicit DeviceStore(db::Database& db) : db_(db) {}
  // Errc::invalid_input when filter.limit is 0 or after_key is not a number for last_seen.
  // With filter.keep set, it reads the id and tags of every row the SQL filter keeps (for the
  // total), then the full rows of the page alone (device_list.cpp).
  Result<DevicePage> list(const std::string& tenant_id, const DeviceFilter& filter);
  // The tenant's distinct non-empty agent versions, sorted, at most `limit`.
  Result<std::vector<std::string>> versions(const std::string& tenant_id, std::size_t limit);
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
  // The devices of a tenant whose online state, hostname or enrolment state changed after
  // (after_at, after_id) in (changed_at, id) order, that order, at most `limit`. after_id ""
  // takes every device changed at after_at too.
  Result<std::vector<DeviceChange>> changed_since(const std::string& tenant_id,
                                                  std::int64_t after_at,
                                                  const std::string& after_id, std::size_t limit);
  Result<DeviceCounts> counts(const std::string& tenant_id);
  // Replaces a device's tags (JSON array text of "key=value" strings, already validated).
  // Errc::not_found for a device of another tenant or none.
  Result<void> set_tags(const std::string& tenant_id, const std::string& device_id,
                        const std::string& tags_json);
  // Every device of a tenant with what a task target needs: id, state, tags and, when asked,
  // the users its inventory lists. Ordered by id.
  struct TargetInfo {
    std::string id;
    std::string state;
    std::string tags;       // JSON array text
    std::string inventory;  // JSON text of the hello body ("" unless asked, or before hello)
  };
  Result<std::vector<TargetInfo>> targets(const std::string& tenant_id, bool with_inventory);
  // The tenant of a device, for messages keyed by device id alone. Errc::not_found.
  Result<std::string> tenant_of(const std::string& device_id);
  // The same for many devices in one session: those with a row, device id → tenant id.
  Result<std::map<std::string, std::string>> tenants_of(std::span<const std::string> device_ids);

 private:
  db::Database& db_;
};

struct TelemetryPoint {
  std::string message_id;
  std::int64_t ts = 0;
  std::string body;  // JSON text
};

// A change of a device's online state, as ingest recorded it (migration 0011).
struct PresenceChange {
  std::int64_t ts = 0;  // unix ms, when the control plane received the status
  bool online = false;
};

struct PresenceHistory {
  std::optional<bool> online_at_since;  // the state in effect at `since`, if a change before
  std::vector<PresenceChange> items;    // ts >= since, oldest first (ts, then order written)
  bool more = false;                    // more than `limit` changes follow since
};

// A device's history: raw telemetry and online changes.
class TelemetryStore {
 public:
  explicit TelemetryStore(db::Database& db) : db_(db) {}
  // Raw window of one device, oldest first, ts in [from, to).
  Result<std::vector<TelemetryPoint>> window(const std::string& tenant_id,
                                             const std::string& device_id, std::int64_t from,
                                             std::int64_t to, std::size_t limit);
  // The same window whole, handed to `each` in order, read `chunk` rows per query so that
  // memory stays bounded however long the window. Stops at the first error of `each`.
  Result<void> scan(const std::string& tenant_id, const std::string& device_id, std::int64_t from,
                    std::int64_t to, std::size_t chunk,
                    const std::function<Result<void>(const TelemetryPoint&)>& each);
  // Online changes of one device from `since` on, at most `limit`.
  Result<PresenceHistory> presence(const std::string& tenant_id, const std::string& device_id,
                                   std::int64_t since, std::size_t limit);
  // Deletes online changes older than `before` (unix ms); returns how many went.
  Result<std::size_t> prune_presence(std::int64_t before);
  // Deletes raw rows older than `before` (unix ms); returns how many went.
  Result<std::size_t> prune(std::int64_t before);
  Result<std::uint64_t> count(const std::string& tenant_id, const std::string& device_id);

 private:
  db::Database& db_;
};

// ---- enrolment (DESIGN §3) -----------------------------------------------------------------

enum class DeviceState { pending, accepted, rejected, revoked };
std::string_view state_name(DeviceState state);
Result<DeviceState> parse_state(std::string_view text);  // Errc::invalid_input

struct EnrollmentToken {
  std::string id;  // UUID
  std::string tenant_id;
  std::string prefix;  // first characters of the token, shown in lists
  std::string hash;    // hex SHA-256 of the whole token; the token itself is never stored
  std::string description;
  std::vector<std::string> tags;  // given to every device enrolled with it
  bool auto_approve = false;
  std::uint64_t max_uses = 1;
  std::uint64_t uses = 0;
  std::int64_t created_at = 0;  // unix ms
  std::int64_t expires_at = 0;
  std::optional<std::int64_t> revoked_at;
};

struct Credential {
  std::string device_id;
  std::string tenant_id;
  DeviceState state = DeviceState::pending;
  std::vector<std::string> tags;
  std::string token_id;
  std::string public_key_sha256;  // hex SHA-256 of the DER SubjectPublicKeyInfo
  std::string public_key_pem;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> decided_at;
  std::string cert_serial;  // "" until a certificate is issued
  std::string cert_pem;
  std::int64_t cert_not_after = 0;  // unix seconds
};

struct EnrolRequest {
  std::string token_hash;
  std::string device_id;  // the CN the device asked for, already checked to be a UUID
  std::string public_key_sha256;
  std::string public_key_pem;
  std::int64_t now = 0;  // unix ms
};

struct Enrolled {
  Credential credential;
  bool created = false;  // false: this key had enrolled before; nothing was written
};

class EnrollmentStore {
 public:
  explicit EnrollmentStore(db::Database& db) : db_(db) {}
  Result<void> create_token(const EnrollmentToken& token);
  Result<std::vector<EnrollmentToken>> list_tokens(const std::string& tenant_id);
  // Errc::not_found when the tenant has no such token; revoking twice keeps the first time.
  Result<EnrollmentToken> revoke_token(const std::string& tenant_id, const std::string& id,
                                       std::int64_t now);

  // In one transaction. The same public key again: its existing credential, created=false, no
  // use counted (a pending device polls this way). Otherwise the token must exist, be neither
  // revoked nor expired, and have a use left (Errc::unauthorized, nothing written); the device
  // id must be free (Errc::conflict); then the device row (pending, or accepted when the token
  // auto-approves, with the token's tags), its credential and one use are written together.
  Result<Enrolled> enrol(const EnrolRequest& request);
  // Errc::not_found.
  Result<Credential> find(const std::string& device_id);
  Result<Credential> find(const std::string& tenant_id, const std::string& device_id);
  // pending → accepted | rejected, accepted|pending → revoked; anything else Errc::conflict.
  // Updates devices.state and the credential's decided_at in one transaction.
  Result<Credential> decide(const std::string& tenant_id, const std::string& device_id,
                            DeviceState to, std::int64_t now);
  // Records a certificate issued for the device, and makes it (and, on renewal, its key) the
  // current one.
  Result<void> record_certificate(const std::string& device_id, const std::string& serial,
                                  const std::string& cert_pem, std::int64_t issued_at_s,
                                  std::int64_t not_after_s, const std::string& public_key_sha256,
                                  const std::string& public_key_pem);
  // Serials of unexpired certificates of revoked devices, for the CRL.
  Result<std::vector<std::string>> revoked_serials(std::int64_t now_s);
  // Devices the broker denies and ingest ignores: revoked ones, and every device of a disabled
  // tenant (until it is enabled again).
  Result<std::vector<std::string>> revoked_devices();

 private:
  db::Database& db_;
};

// This binary's migrations for a backend, oldest first (migrations/<backend>/*.sql, embedded at
// build time).
std::span<const db::Migration> migrations(db::Backend backend);

// Opens the database and applies this version's migrations for its backend.
Result<std::unique_ptr<db::Database>> open_and_migrate(const db::Options& options);

}  // namespace hecs::control::store
