-- Tenants, users, sessions, API keys and the audit log (issue 5). Times are unix milliseconds.

-- A disabled tenant's users, keys and devices are refused; its rows stay.
ALTER TABLE tenants ADD COLUMN disabled_at BIGINT;

-- Roles: viewer, operator, admin, owner in their tenant; superadmin is an owner of its tenant
-- who also manages tenants. Usernames are unique across tenants, so login needs no tenant.
-- password_hash is an Argon2id PHC string; nothing else of the password is kept.
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  password_changed_at BIGINT NOT NULL,
  disabled_at BIGINT
);

CREATE INDEX users_tenant ON users (tenant_id, username);

-- A session is found by the SHA-256 of its token; `id` names it in lists and revocations.
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  csrf_hash TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  tenant_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  source TEXT NOT NULL DEFAULT '',
  user_agent TEXT NOT NULL DEFAULT '',
  revoked_at BIGINT
);

CREATE INDEX sessions_user ON sessions (tenant_id, user_id, created_at);

-- API keys gain a name, an expiry (rotation shortens the old key's), and who made them.
ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN expires_at BIGINT;
ALTER TABLE api_keys ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN replaced_by TEXT;

-- Append-only, hash-chained per tenant (src/common/audit): seq runs 1, 2, 3 … in each tenant,
-- prev_hash is the hash of the tenant's previous record. The primary key makes two writers
-- that race for the same seq collide instead of forking the chain.
CREATE TABLE audit_log (
  tenant_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  ts BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  source TEXT NOT NULL,
  outcome TEXT NOT NULL,
  request_id TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (tenant_id, seq)
);

CREATE INDEX audit_log_action ON audit_log (tenant_id, action, seq);
