import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError, kSessionExpired, problemMessage, roleAtLeast } from './api';

function json(status: number, body: unknown, type = 'application/json', headers: Record<string, string> = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': type, ...headers },
  });
}

// The ApiError a call fails with.
async function caught(call: Promise<unknown>): Promise<ApiError> {
  try {
    await call;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('the call succeeded');
}

const kLogin = {
  user: { id: 'u1', username: 'alice', role: 'admin', tenant_id: 't1' },
  session: { id: 's1', expires_at: '2026-01-01T00:00:00.000Z' },
  csrf_token: 'csrf-123',
};

describe('ApiClient', () => {
  it('sends the CSRF token of the login with a POST, same-origin credentials', async () => {
    const fetch = vi.fn().mockResolvedValueOnce(json(201, kLogin)).mockResolvedValueOnce(new Response(null, { status: 204 }));
    const api = new ApiClient({ fetch });
    await api.login('alice', 'correct horse battery');
    await api.logout();
    const [loginUrl, loginInit] = fetch.mock.calls[0];
    expect(loginUrl).toBe('/api/v1/auth/login');
    expect(JSON.parse(loginInit.body)).toEqual({ username: 'alice', password: 'correct horse battery', mode: 'cookie' });
    expect(loginInit.headers['X-CSRF-Token']).toBeUndefined();
    const [url, init] = fetch.mock.calls[1];
    expect(url).toBe('/api/v1/auth/logout');
    expect(init.method).toBe('POST');
    expect(init.credentials).toBe('same-origin');
    expect(init.headers['X-CSRF-Token']).toBe('csrf-123');
  });

  it('does not send the CSRF token with a GET', async () => {
    const fetch = vi.fn().mockResolvedValueOnce(json(201, kLogin)).mockResolvedValueOnce(json(200, { items: [], next_cursor: null, total: 0 }));
    const api = new ApiClient({ fetch });
    await api.login('alice', 'pw');
    await api.devicePage(null);
    expect(fetch.mock.calls[1][1].headers['X-CSRF-Token']).toBeUndefined();
    expect(fetch.mock.calls[1][1].credentials).toBe('same-origin');
  });

  it('turns a problem+json answer into its detail, as a sentence', async () => {
    const fetch = vi.fn().mockResolvedValue(
      json(400, { type: 'about:blank', title: 'invalid request', status: 400, detail: 'limit must be 1..500', code: 'invalid_input' }, 'application/problem+json'),
    );
    const api = new ApiClient({ fetch });
    const err = await caught(api.devicePage(null));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(400);
    expect(err.code).toBe('invalid_input');
    expect(err.message).toBe('Limit must be 1..500.');
  });

  it('says what role a forbidden call needs', async () => {
    const fetch = vi.fn().mockResolvedValue(
      json(403, { title: 'forbidden', status: 403, detail: 'this needs the role admin', code: 'forbidden' }, 'application/problem+json'),
    );
    const err = await caught(new ApiClient({ fetch }).request('POST', '/api/v1/users', {}));
    expect(err.message).toBe('Not allowed: this needs the role admin.');
  });

  it('reads the wait of a throttled login from Retry-After', async () => {
    const fetch = vi.fn().mockResolvedValue(json(429, { title: 'too many requests', status: 429, code: 'rate_limited' }, 'application/problem+json', { 'Retry-After': '42' }));
    const err = await caught(new ApiClient({ fetch }).login('alice', 'pw'));
    expect(err.message).toBe('Too many attempts. Try again in 42 s.');
  });

  it('never shows a 5xx reason, and says a 503 is temporary', () => {
    expect(problemMessage(500, { title: 'internal error', status: 500 })).toMatch(/server failed \(HTTP 500, internal error\)/);
    expect(problemMessage(503, { title: 'service unavailable' })).toMatch(/unavailable/);
  });

  it('names a network failure', async () => {
    const fetch = vi.fn().mockRejectedValue(new TypeError('Failed to fetch'));
    const err = await caught(new ApiClient({ fetch }).me());
    expect(err.status).toBe(0);
    expect(err.message).toBe('Cannot reach hecs-control: Failed to fetch.');
  });

  it('on a 401 forgets the session and says it expired', async () => {
    const onUnauthorized = vi.fn();
    const fetch = vi
      .fn()
      .mockResolvedValueOnce(json(201, kLogin))
      .mockResolvedValueOnce(json(401, { title: 'unauthorized', status: 401, code: 'unauthorized' }, 'application/problem+json'))
      .mockResolvedValueOnce(new Response(null, { status: 204 }));
    const api = new ApiClient({ fetch, onUnauthorized });
    await api.login('alice', 'pw');
    expect(api.hasSession).toBe(true);
    const err = await caught(api.me());
    expect(err.status).toBe(401);
    expect(err.message).toBe(kSessionExpired);
    expect(onUnauthorized).toHaveBeenCalledWith(kSessionExpired);
    expect(api.hasSession).toBe(false);
    await api.request('POST', '/api/v1/auth/logout');
    expect(fetch.mock.calls[2][1].headers['X-CSRF-Token']).toBeUndefined();
  });

  it('a 401 of the login is a wrong password, not an expired session', async () => {
    const onUnauthorized = vi.fn();
    const fetch = vi.fn().mockResolvedValue(json(401, { title: 'unauthorized', status: 401, detail: 'wrong username or password', code: 'unauthorized' }, 'application/problem+json'));
    const err = await caught(new ApiClient({ fetch, onUnauthorized }).login('alice', 'nope'));
    expect(err.message).toBe('Wrong user name or password.');
    expect(onUnauthorized).not.toHaveBeenCalled();
  });

  it('reads every page of devices', async () => {
    const d = (id: string) => ({ id, online: true, state: 'accepted', tags: [] });
    const fetch = vi
      .fn()
      .mockResolvedValueOnce(json(200, { items: [d('a'), d('b')], next_cursor: 'Yg', total: 3 }))
      .mockResolvedValueOnce(json(200, { items: [d('c')], next_cursor: null, total: 3 }));
    const devices = await new ApiClient({ fetch }).allDevices();
    expect(devices.map((x) => x.id)).toEqual(['a', 'b', 'c']);
    expect(fetch.mock.calls[1][0]).toBe('/api/v1/devices?limit=500&cursor=Yg');
  });
});

describe('roleAtLeast', () => {
  it('orders the roles of docs/api.md', () => {
    expect(roleAtLeast('viewer', 'admin')).toBe(false);
    expect(roleAtLeast('operator', 'admin')).toBe(false);
    expect(roleAtLeast('owner', 'admin')).toBe(true);
    expect(roleAtLeast('superadmin', 'owner')).toBe(true);
  });
});

describe('the CSRF token across reloads', () => {
  it('is kept in sessionStorage, read by a new client, and cleared on sign-out', async () => {
    sessionStorage.clear();
    const fetch = vi.fn().mockResolvedValueOnce(json(201, kLogin));
    const api = new ApiClient({ fetch });
    await api.login('alice', 'pw');
    expect(sessionStorage.getItem('hecs.csrf')).toBe('csrf-123');
    // A reload: a new client finds the token and sends it.
    const fetch2 = vi.fn().mockResolvedValue(new Response(null, { status: 204 }));
    const reloaded = new ApiClient({ fetch: fetch2 });
    expect(reloaded.hasSession).toBe(true);
    await reloaded.logout();
    expect(fetch2.mock.calls[0][1].headers['X-CSRF-Token']).toBe('csrf-123');
    expect(sessionStorage.getItem('hecs.csrf')).toBeNull();
    expect(new ApiClient({ fetch: fetch2 }).hasSession).toBe(false);
  });

  it('is cleared on a 401', async () => {
    sessionStorage.setItem('hecs.csrf', 'old');
    const onUnauthorized = vi.fn();
    const api = new ApiClient({ fetch: vi.fn().mockResolvedValue(json(401, { code: 'unauthorized' }, 'application/problem+json')), onUnauthorized });
    expect(api.hasSession).toBe(true);
    await caught(api.me());
    expect(onUnauthorized).toHaveBeenCalledWith(kSessionExpired);
    expect(api.hasSession).toBe(false);
    expect(sessionStorage.getItem('hecs.csrf')).toBeNull();
  });
});
