-- Artifacts of task runs (issue 6: the collect-logs bundle), at most one per run. Pieces arrive
-- on up/result in any order and more than once: each is kept once by its offset, and the
-- artifact is `complete` only when its pieces cover it exactly and their sha256 matches;
-- `corrupt` when they do not (error says why). Times are unix milliseconds.
CREATE TABLE task_artifacts (
  task_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  name TEXT NOT NULL,
  size BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  received BIGINT NOT NULL DEFAULT 0,
  state TEXT NOT NULL,
  error TEXT NOT NULL DEFAULT '',
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (task_id, device_id)
);

-- The pieces, base64 text (portable between SQLite and PostgreSQL through SOCI, whose
-- PostgreSQL blobs are large objects); pos is the offset of the piece's first byte.
CREATE TABLE task_artifact_chunks (
  task_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  pos BIGINT NOT NULL,
  bytes BIGINT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (task_id, device_id, pos)
);
