-- The device list filters on online and hostname while it walks ids in order: with those
-- columns in the index, a filtered page and its total are read from the index alone instead of
-- one table-row lookup per device (bench/api.sh, profiled: sqlite3BtreeTableMoveto on top).
CREATE INDEX devices_list ON devices (tenant_id, id, online, hostname);
DROP INDEX devices_tenant_id;
