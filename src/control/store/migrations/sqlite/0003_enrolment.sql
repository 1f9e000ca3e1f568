-- Enrolment (DESIGN §3): tokens, each device's state and key, the certificates issued to it.
-- Devices made by enrolment start as 'pending' or 'accepted'; devices that appeared through
-- ingest alone (plain MQTT, no enrolment) are 'accepted'.
ALTER TABLE devices ADD COLUMN state TEXT NOT NULL DEFAULT 'accepted';
ALTER TABLE devices ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';

-- Tokens are stored as SHA-256 only; `prefix` identifies one in lists.
CREATE TABLE enrollment_tokens (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  prefix TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  tags TEXT NOT NULL DEFAULT '[]',
  auto_approve SMALLINT NOT NULL,
  max_uses BIGINT NOT NULL,
  uses BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT
);

CREATE INDEX enrollment_tokens_tenant ON enrollment_tokens (tenant_id, created_at);

-- The key a device enrolled with (it never leaves the node: only its public half is here) and
-- its current certificate. A repeated enrolment with the same key finds its row again.
CREATE TABLE device_credentials (
  device_id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  token_id TEXT NOT NULL,
  public_key_sha256 TEXT NOT NULL UNIQUE,
  public_key_pem TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  decided_at BIGINT,
  cert_serial TEXT NOT NULL DEFAULT '',
  cert_pem TEXT NOT NULL DEFAULT '',
  cert_not_after BIGINT NOT NULL DEFAULT 0
);

-- Every certificate ever issued, so that revoking a device lists all of its unexpired ones in
-- the CRL, renewed ones included.
CREATE TABLE device_certificates (
  serial TEXT PRIMARY KEY,
  device_id TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  issued_at BIGINT NOT NULL,
  not_after BIGINT NOT NULL
);

CREATE INDEX device_certificates_device ON device_certificates (device_id);

CREATE INDEX devices_state ON devices (state, id);
