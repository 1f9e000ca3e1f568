-- Identity, devices and raw telemetry (DESIGN §5). Times are unix milliseconds.
-- Statements end with ';' at a line end: db::split_statements() runs them one by one.

CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  prefix TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT,
  last_used_at BIGINT
);

CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

-- Device ids are unique across tenants (one certificate each); every query still filters by
-- tenant_id, and ingest never merges into a row of another tenant.
CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  hostname TEXT NOT NULL DEFAULT '',
  online SMALLINT NOT NULL DEFAULT 0,
  session BIGINT NOT NULL DEFAULT 0,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  inventory TEXT NOT NULL DEFAULT '',
  telemetry TEXT NOT NULL DEFAULT '',
  telemetry_ts BIGINT
);

CREATE INDEX devices_tenant_id ON devices (tenant_id, id);

CREATE TABLE telemetry_raw (
  tenant_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  ts BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (device_id, message_id)
);

CREATE INDEX telemetry_raw_ts ON telemetry_raw (ts);

CREATE INDEX telemetry_raw_device_ts ON telemetry_raw (tenant_id, device_id, ts);
