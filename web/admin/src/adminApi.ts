// The administration routes of docs/api.md ("Enrolment", "Users, API keys, tenants", "Audit
// log") over the ApiClient of api.ts, and the pure helpers the Administration page uses.
import { ApiClient, Role, roleAtLeast } from './api';

// ---- enrolment tokens ----------------------------------------------------------------

export interface EnrolmentToken {
  id: string;
  prefix: string;
  description: string;
  tags: string[];
  auto_approve: boolean;
  max_uses: number;
  uses: number;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
}

export interface NewEnrolmentToken extends EnrolmentToken {
  token: string; // the secret, shown this once
  ca_sha256: string; // hex SHA-256 of the device CA, which the agent pins
}

export interface TokenRequest {
  description?: string;
  max_uses?: number;
  expires_in_s?: number;
  tags?: string[];
  auto_approve?: boolean;
}

export type TokenState = 'active' | 'expired' | 'revoked' | 'used up';

export function tokenState(t: EnrolmentToken, now = Date.now()): TokenState {
  if (t.revoked_at) return 'revoked';
  if (Date.parse(t.expires_at) <= now) return 'expired';
  if (t.uses >= t.max_uses) return 'used up';
  return 'active';
}

// Tags as typed: separated by commas or spaces; each 1–64 of A-Z a-z 0-9 _ . : = / - (the
// API's rule, checked here so the form can say which one is wrong).
export function parseTags(text: string): string[] {
  const tags = text.split(/[\s,]+/).filter((t) => t !== '');
  for (const t of tags) {
    if (t.length > 64 || !/^[A-Za-z0-9_.:=/-]+$/.test(t)) {
      throw new Error(`The tag "${t}" is not valid: use 1–64 of A-Z a-z 0-9 _ . : = / -.`);
    }
  }
  if (tags.length > 32) throw new Error('At most 32 tags.');
  return tags;
}

// The one line that enrols an agent with `token` against the control plane at `origin` (the
// address this panel was opened with). The agent checks the CA against the pin before it sends
// the token (docs/security.md "Enrolment"), and only over HTTPS.
export function installCommand(origin: string, token: NewEnrolmentToken): string {
  return `hecs-agent --control-url ${origin} --control-ca-sha256 ${token.ca_sha256} --enroll-token ${token.token}`;
}

// The same as hecs-enroll.yaml for the boot partition: the token stays out of the process list.
export function enrolFile(origin: string, token: NewEnrolmentToken): string {
  return `token: ${token.token}\ncontrol_url: ${origin}\nca_sha256: "${token.ca_sha256}"\n`;
}

export async function listTokens(api: ApiClient): Promise<EnrolmentToken[]> {
  return (await api.request<{ items: EnrolmentToken[] }>('GET', '/api/v1/enrollment-tokens')).items;
}

export function createToken(api: ApiClient, request: TokenRequest): Promise<NewEnrolmentToken> {
  return api.request<NewEnrolmentToken>('POST', '/api/v1/enrollment-tokens', request);
}

export function revokeToken(api: ApiClient, id: string): Promise<EnrolmentToken> {
  return api.request<EnrolmentToken>('DELETE', '/api/v1/enrollment-tokens/' + encodeURIComponent(id));
}

// ---- API keys ------------------------------------------------------------------------

export type KeyState = 'active' | 'rotating' | 'expired' | 'revoked';

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  role: Role;
  state: KeyState;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  replaced_by: string | null;
}

export interface NewApiKey extends ApiKey {
  key: string; // shown this once
  replaces?: string;
  old_key_expires_at?: string;
}

export async function listKeys(api: ApiClient): Promise<ApiKey[]> {
  return (await api.request<{ items: ApiKey[] }>('GET', '/api/v1/keys')).items;
}

export function createKey(api: ApiClient, name: string, role: Role, expiresInS: number): Promise<NewApiKey> {
  return api.request<NewApiKey>('POST', '/api/v1/keys', { name, role, expires_in_s: expiresInS });
}

export function rotateKey(api: ApiClient, id: string, overlapS: number): Promise<NewApiKey> {
  return api.request<NewApiKey>('POST', `/api/v1/keys/${encodeURIComponent(id)}/rotate`, { overlap_s: overlapS });
}

export function revokeKey(api: ApiClient, id: string): Promise<ApiKey> {
  return api.request<ApiKey>('DELETE', '/api/v1/keys/' + encodeURIComponent(id));
}

// ---- users ---------------------------------------------------------------------------

export interface UserRow {
  id: string;
  tenant_id: string;
  username: string;
  role: Role;
  created_at: string;
  password_changed_at: string;
  disabled_at: string | null;
}

// The roles `role` may hand out: its own and those below (superadmin only by a superadmin).
export function grantableRoles(role: Role): Role[] {
  return (['viewer', 'operator', 'admin', 'owner', 'superadmin'] as Role[]).filter((r) => roleAtLeast(role, r));
}

export async function listUsers(api: ApiClient): Promise<UserRow[]> {
  return (await api.request<{ items: UserRow[] }>('GET', '/api/v1/users')).items;
}

export function createUser(api: ApiClient, username: string, password: string, role: Role): Promise<UserRow> {
  return api.request<UserRow>('POST', '/api/v1/users', { username, password, role });
}

export function updateUser(
  api: ApiClient, id: string, change: { role?: Role; disabled?: boolean; password?: string },
): Promise<UserRow> {
  return api.request<UserRow>('PATCH', '/api/v1/users/' + encodeURIComponent(id), change);
}

// ---- audit log -----------------------------------------------------------------------

export interface AuditRecord {
  tenant_id: string;
  seq: number;
  ts: number; // unix ms
  actor: string;
  action: string;
  target: string;
  source: string;
  outcome: string;
  request_id: string;
  detail: string; // JSON text, as hashed
  prev_hash: string;
  hash: string;
}

export interface AuditPage {
  items: AuditRecord[];
  next_cursor: string | null;
}

export interface AuditFilter {
  action: string; // exact, or a prefix ending in '.'
  actor: string;
  outcome: '' | 'success' | 'failure' | 'denied';
  since: string; // a datetime-local value, or ''
  until: string;
}

export const kNoAuditFilter: AuditFilter = { action: '', actor: '', outcome: '', since: '', until: '' };

// A datetime-local value (local time) as unix ms; throws on a value that is no time.
function unixMs(what: string, value: string): number {
  const ms = new Date(value).getTime();
  if (Number.isNaN(ms)) throw new Error(`${what}: not a date and time.`);
  return ms;
}

// The query of GET /api/v1/audit for a filter and a cursor.
export function auditQuery(filter: AuditFilter, cursor: string | null, limit = 100): string {
  const q = new URLSearchParams({ limit: String(limit) });
  if (filter.action.trim()) q.set('action', filter.action.trim());
  if (filter.actor.trim()) q.set('actor', filter.actor.trim());
  if (filter.outcome) q.set('outcome', filter.outcome);
  if (filter.since) q.set('since', String(unixMs('Since', filter.since)));
  if (filter.until) q.set('until', String(unixMs('Until', filter.until)));
  if (cursor) q.set('cursor', cursor);
  return '/api/v1/audit?' + q.toString();
}

export function listAudit(api: ApiClient, filter: AuditFilter, cursor: string | null): Promise<AuditPage> {
  return api.request<AuditPage>('GET', auditQuery(filter, cursor));
}

// POST /api/v1/audit/verify: the server's own check of the tenant's chain and checkpoints.
export interface Verification {
  tenant_id: string;
  ok: boolean;
  records: number;
  checkpoints: number;
  first_bad_seq: number | null;
  reason: string;
}

export function verifyAudit(api: ApiClient): Promise<Verification> {
  return api.request<Verification>('POST', '/api/v1/audit/verify');
}

// ---- shared --------------------------------------------------------------------------

export { errorText } from './api';

export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
