// The panel's only way to the server: the public REST API (docs/api.md), same origin, with the
// session cookie. The CSRF token of the login answer is kept in this tab's sessionStorage (one
// tab, this origin; gone when the tab closes), so a reload keeps the session; it is removed on
// sign-out and when the API answers 401. The token alone is useless without the HttpOnly cookie.
import { actingTenant, setActingTenant } from './tenant';

export type Role = 'viewer' | 'operator' | 'admin' | 'owner' | 'superadmin';

export interface User {
  id: string;
  username: string;
  role: Role;
  tenant_id: string;
}

export interface Me {
  kind: 'session' | 'api_key';
  tenant_id: string;
  tenant_name?: string;
  role: Role;
  user_id?: string;
  username?: string;
  session_id?: string;
}

export interface LoginReply {
  user: User;
  csrf_token: string;
  session: { id: string; expires_at: string };
}

export interface Device {
  id: string;
  tenant_id: string;
  hostname: string;
  online: boolean;
  session: number;
  first_seen: string;
  last_seen: string;
  state: 'pending' | 'accepted' | 'rejected' | 'revoked';
  tags: string[];
  inventory: Record<string, unknown> | null;
  telemetry: Record<string, unknown> | null;
  telemetry_at: string | null;
  agent_version?: string; // from the latest hello; "" before one
}

// GET /api/v1/devices/events (text/event-stream): `counts`, then `device` for each change.
export const kDeviceEventsPath = '/api/v1/devices/events';

export interface DeviceCounts {
  online: number;
  offline: number;
  pending: number;
  total: number;
}

export interface DeviceEvent {
  id: string;
  hostname: string;
  online: boolean;
  state: Device['state'];
  last_seen: string;
}

// A device as a `device` event says it is now; null when the list does not hold it yet.
export function applyDeviceEvent(devices: Device[], e: DeviceEvent): Device[] | null {
  const at = devices.findIndex((d) => d.id === e.id);
  if (at < 0) return null;
  const next = devices.slice();
  next[at] = { ...devices[at], hostname: e.hostname, online: e.online, state: e.state, last_seen: e.last_seen };
  return next;
}

export interface DevicePage {
  items: Device[];
  next_cursor: string | null;
  total: number;
}

// An RFC 9457 problem (or a network failure) as a message an operator can read.
export class ApiError extends Error {
  readonly status: number; // 0: the server could not be reached
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export const kSessionExpired = 'Your session expired, sign in again.';

const kRoleOrder: Role[] = ['viewer', 'operator', 'admin', 'owner', 'superadmin'];

// True when `role` is at least `least` (docs/api.md "Roles").
export function roleAtLeast(role: Role, least: Role): boolean {
  return kRoleOrder.indexOf(role) >= kRoleOrder.indexOf(least);
}

interface Problem {
  title?: unknown;
  detail?: unknown;
  code?: unknown;
  status?: unknown;
}

function sentence(text: string): string {
  const t = text.trim();
  if (!t) return t;
  const first = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : first + '.';
}

// The message shown for a failed answer: the problem's detail when it has one (the server
// keeps 5xx reasons to its log), else its title, else the HTTP status.
export function problemMessage(status: number, problem: Problem | null, retryAfter?: string | null): string {
  const detail = typeof problem?.detail === 'string' ? problem.detail : '';
  const title = typeof problem?.title === 'string' ? problem.title : '';
  const code = typeof problem?.code === 'string' ? problem.code : '';
  if (status === 429 || code === 'rate_limited') {
    const wait = retryAfter && /^\d+$/.test(retryAfter) ? ` Try again in ${retryAfter} s.` : ' Try again later.';
    return 'Too many attempts.' + wait;
  }
  if (status === 403) {
    return detail ? `Not allowed: ${detail}.` : 'Not allowed.';
  }
  if (status >= 500) {
    return status === 503
      ? 'The server is unavailable (database or broker). Try again in a moment.'
      : `The server failed (HTTP ${status}${title ? `, ${title}` : ''}). Its log has the reason.`;
  }
  if (detail) return sentence(detail);
  if (title) return sentence(title);
  return `The request failed (HTTP ${status}).`;
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  fetch?: Fetch;
  // Called when a call other than the login gets 401: the session is gone.
  onUnauthorized?: (message: string) => void;
}

export const kCsrfKey = 'hecs.csrf';

function storage(): Storage | null {
  try {
    return typeof window !== 'undefined' ? window.sessionStorage : null;
  } catch {
    return null; // storage refused (privacy settings): the token lives in memory only
  }
}

export class ApiClient {
  private csrfToken: string | null = storage()?.getItem(kCsrfKey) ?? null;

  private get csrf(): string | null {
    return this.csrfToken;
  }

  private set csrf(token: string | null) {
    this.csrfToken = token;
    setActingTenant(null); // a new or ended session starts in its own tenant
    try {
      if (token === null) storage()?.removeItem(kCsrfKey);
      else storage()?.setItem(kCsrfKey, token);
    } catch {
      // quota or privacy settings: kept in memory
    }
  }
  private readonly fetchFn: Fetch;
  private readonly onUnauthorized: (message: string) => void;

  constructor(options: ApiClientOptions = {}) {
    this.fetchFn = options.fetch ?? ((input, init) => window.fetch(input, init));
    this.onUnauthorized = options.onUnauthorized ?? (() => {});
  }

  get hasSession(): boolean {
    return this.csrf !== null;
  }

  async request<T>(method: string, path: string, body?: unknown, isLogin = false): Promise<T> {
    const response = await this.send(method, path, 'application/json', body, isLogin);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  // A file the API serves (an artifact), with the same headers and errors as request(): a
  // plain link would go without X-HECS-Tenant, and so into the caller's own tenant.
  async download(path: string): Promise<Blob> {
    const response = await this.send('GET', path, '*/*');
    return response.blob();
  }

  // The call itself: headers, the session's CSRF token and acting tenant, and every failure
  // turned into an ApiError. Answers only a 2xx response.
  private async send(method: string, path: string, accept: string, body?: unknown, isLogin = false): Promise<Response> {
    const headers: Record<string, string> = { Accept: accept };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && method !== 'HEAD' && this.csrf) headers['X-CSRF-Token'] = this.csrf;
    const tenant = isLogin ? null : actingTenant();
    if (tenant) headers['X-HECS-Tenant'] = tenant.id;
    let response: Response;
    try {
      response = await this.fetchFn(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch (e) {
      throw new ApiError(0, 'network', `Cannot reach hecs-control: ${e instanceof Error ? e.message : String(e)}.`);
    }
    if (response.ok) return response;
    let problem: Problem | null = null;
    try {
      const type = response.headers.get('Content-Type') ?? '';
      if (type.includes('json')) problem = (await response.json()) as Problem;
    } catch {
      problem = null;
    }
    const code = typeof problem?.code === 'string' ? problem.code : 'http_' + response.status;
    if (response.status === 401 && !isLogin) {
      this.csrf = null;
      this.onUnauthorized(kSessionExpired);
      throw new ApiError(401, code, kSessionExpired);
    }
    if (response.status === 401 && isLogin) {
      throw new ApiError(401, code, 'Wrong user name or password.');
    }
    throw new ApiError(response.status, code, problemMessage(response.status, problem, response.headers.get('Retry-After')));
  }

  async login(username: string, password: string): Promise<LoginReply> {
    const reply = await this.request<LoginReply>('POST', '/api/v1/auth/login', { username, password, mode: 'cookie' }, true);
    this.csrf = reply.csrf_token;
    return reply;
  }

  async logout(): Promise<void> {
    try {
      await this.request<void>('POST', '/api/v1/auth/logout');
    } finally {
      this.csrf = null;
    }
  }

  me(): Promise<Me> {
    return this.request<Me>('GET', '/api/v1/auth/me');
  }

  devicePage(cursor: string | null, limit = 500): Promise<DevicePage> {
    const q = new URLSearchParams({ limit: String(limit) });
    if (cursor) q.set('cursor', cursor);
    return this.request<DevicePage>('GET', '/api/v1/devices?' + q.toString());
  }

  // Every device of the tenant, page by page, up to `max`.
  async allDevices(max = 20000): Promise<Device[]> {
    const out: Device[] = [];
    let cursor: string | null = null;
    do {
      const page: DevicePage = await this.devicePage(cursor);
      out.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor && out.length < max);
    return out;
  }
}

// A failed call as the message shown, or null for a 401 (the app shows the sign-in page).
export function errorText(e: unknown): string | null {
  if (e instanceof ApiError && e.status === 401) return null;
  return e instanceof Error ? e.message : String(e);
}
