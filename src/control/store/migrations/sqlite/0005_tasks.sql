-- Groups, tasks, their runs and output (issue 6, docs/tasks.md). Times are unix milliseconds.

-- A group is static (devices: a JSON array of ids) or dynamic (selector), never both.
CREATE TABLE device_groups (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  name TEXT NOT NULL,
  selector TEXT NOT NULL DEFAULT '',
  devices TEXT NOT NULL DEFAULT '[]',
  created_at BIGINT NOT NULL,
  UNIQUE (tenant_id, name)
);

-- state: running (runs left unfinished), finished, cancelled, aborted. spec is the task body
-- sent to every device (JSON); target the target as given, with what it resolved to.
CREATE TABLE tasks (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  target TEXT NOT NULL,
  spec TEXT NOT NULL,
  state TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  max_in_flight INTEGER NOT NULL DEFAULT 0,
  per_minute INTEGER NOT NULL DEFAULT 0,
  abort_percent INTEGER NOT NULL DEFAULT -1,
  abort_min INTEGER NOT NULL DEFAULT 0,
  total INTEGER NOT NULL,
  schedule_id TEXT NOT NULL DEFAULT '',
  finished_at BIGINT
);

CREATE INDEX tasks_tenant ON tasks (tenant_id, created_at);

CREATE INDEX tasks_state ON tasks (state);

-- One run per device of a task; position is the dispatch order.
CREATE TABLE task_runs (
  task_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  state TEXT NOT NULL,
  cancel_requested SMALLINT NOT NULL DEFAULT 0,
  sent_at BIGINT,
  started_at BIGINT,
  ended_at BIGINT,
  exit_code BIGINT,
  signal BIGINT,
  error TEXT NOT NULL DEFAULT '',
  stdout_bytes BIGINT NOT NULL DEFAULT 0,
  stderr_bytes BIGINT NOT NULL DEFAULT 0,
  truncated SMALLINT NOT NULL DEFAULT 0,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (task_id, device_id)
);

CREATE INDEX task_runs_state ON task_runs (task_id, state, position);

CREATE INDEX task_runs_device ON task_runs (device_id, state);

CREATE INDEX task_runs_updated ON task_runs (task_id, updated_at);

-- Output as the device sent it: stream 0 = stdout, 1 = stderr; pos is the offset in the
-- stream's text, so a chunk delivered twice is stored once.
CREATE TABLE task_output (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  stream SMALLINT NOT NULL,
  pos BIGINT NOT NULL,
  data TEXT NOT NULL,
  UNIQUE (task_id, device_id, stream, pos)
);

CREATE INDEX task_output_task ON task_output (task_id, id);
