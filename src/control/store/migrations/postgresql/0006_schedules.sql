-- Cron schedules held by the control plane (issue 6, docs/tasks.md "Schedules"). Times are
-- unix milliseconds. task is the body of a POST /api/v1/tasks (JSON); missed is skip, once or
-- all (up to max_catchup). next_fire moves forward by compare-and-set, so a fire is taken once.
CREATE TABLE schedules (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  name TEXT NOT NULL,
  cron TEXT NOT NULL,
  timezone TEXT NOT NULL,
  task TEXT NOT NULL,
  missed TEXT NOT NULL,
  max_catchup INTEGER NOT NULL,
  enabled SMALLINT NOT NULL,
  next_fire BIGINT,
  last_fire BIGINT,
  last_task TEXT NOT NULL DEFAULT '',
  last_error TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  UNIQUE (tenant_id, name)
);

CREATE INDEX schedules_due ON schedules (enabled, next_fire);
