-- Retention (issue 6, docs/tasks.md "Retention"): hecs-control deletes ended tasks older than
-- task_retention_days, oldest first, and empties artifacts older than artifact_retention_days.
CREATE INDEX tasks_finished ON tasks (finished_at);

CREATE INDEX task_artifacts_updated ON task_artifacts (updated_at);
