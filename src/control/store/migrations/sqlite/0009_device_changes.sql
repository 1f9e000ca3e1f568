-- Live device events (GET /api/v1/devices/events, docs/api.md): when a device's online state,
-- hostname or enrolment state last changed (unix ms; 0 before this migration). Streams read the
-- devices changed since their last read through the index.
ALTER TABLE devices ADD COLUMN changed_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX devices_changed ON devices (tenant_id, changed_at);
