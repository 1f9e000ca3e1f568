-- Where a task came from (issue 6, docs/tasks.md): 'api' (POST /api/v1/tasks), 'schedule' (a
-- schedule of the control plane) or 'local-schedule' (a device's own schedule, made from the
-- first result of its run).
ALTER TABLE tasks ADD COLUMN origin TEXT NOT NULL DEFAULT 'api';

UPDATE tasks SET origin = 'schedule' WHERE schedule_id <> '';

CREATE INDEX tasks_origin ON tasks (tenant_id, origin, created_at);
