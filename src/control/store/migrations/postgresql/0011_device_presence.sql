-- Online history (GET /api/v1/devices/{id}/presence, docs/api.md): one row each time ingest
-- changes a device's stored online state, at the time the control plane received the status
-- (unix ms). id orders two changes of the same millisecond. Kept 30 days (periodic prune).
CREATE TABLE device_presence (
  id BIGSERIAL PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  ts BIGINT NOT NULL,
  online SMALLINT NOT NULL
);

CREATE INDEX device_presence_device ON device_presence (tenant_id, device_id, ts);

CREATE INDEX device_presence_ts ON device_presence (ts);
