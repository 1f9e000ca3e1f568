-- The Fleet page at fleet scale (docs/api.md, "GET /api/v1/devices"): the agent version of the
-- latest hello in its own column, to filter and sort on without parsing every inventory, filled
-- from the inventories stored before this migration.
ALTER TABLE devices ADD COLUMN agent_version TEXT NOT NULL DEFAULT '';
-- Ingest writes inventories as serialized JSON objects, so the cast to json cannot fail on them;
-- not jsonb, which refuses the escape \u0000 that a hello's strings may hold, and an
-- inventory holding it is left out (->> could not make text of it; its next hello fills the column).
-- Only a string is a version, as on SQLite.
UPDATE devices SET agent_version = CAST(inventory AS json) ->> 'agent_version'
  WHERE inventory LIKE '{%' AND inventory NOT LIKE '%\\u0000%'
    AND json_typeof(CAST(inventory AS json) -> 'agent_version') = 'string';
-- Keyset pages sorted by hostname, version or state read these in order instead of sorting the
-- tenant's devices for each page. last_seen has none on purpose: it moves with every message,
-- and an index on it would cost each ingested telemetry row one more write; sorting by it sorts
-- the tenant's rows per page (bench/RESULTS.md).
CREATE INDEX devices_by_hostname ON devices (tenant_id, hostname, id);
CREATE INDEX devices_by_version ON devices (tenant_id, agent_version, id);
CREATE INDEX devices_by_state ON devices (tenant_id, state, id);
-- No (tenant_id, id, tags) index here, unlike SQLite: a device's tags (up to 64 of 127 bytes)
-- can exceed the size of a B-tree entry, and such a device could then not be tagged.
