import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiClient, kCsrfKey } from './api';
import { App } from './App';
import { actingTenant, kTenantKey, setActingTenant, withTenant } from './tenant';
import { json } from './testUtil';

class FakeEventSource {
  static urls: string[] = [];
  constructor(url: string) {
    FakeEventSource.urls.push(url);
  }
  addEventListener() {}
  close() {}
  onerror: (() => void) | null = null;
}

const kTenants = {
  items: [
    { id: 'home-id', name: 'default', created_at: '', disabled_at: null },
    { id: 'globex-id', name: 'globex', created_at: '', disabled_at: null },
    { id: 'old-id', name: 'old', created_at: '', disabled_at: '2026-01-01T00:00:00.000Z' },
  ],
};

interface Seen { url: string; tenant: string | undefined }

// The server as the app sees it: /auth/me says `role`, tenants, an empty fleet.
function server(role: string) {
  const seen: Seen[] = [];
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    const headers = (init?.headers ?? {}) as Record<string, string>;
    seen.push({ url, tenant: headers['X-HECS-Tenant'] });
    if (url === '/api/v1/auth/me') {
      const acting = headers['X-HECS-Tenant'];
      return json({ kind: 'session', username: 'root', role, tenant_id: acting ?? 'home-id', tenant_name: acting ? 'globex' : 'default' });
    }
    if (url === '/api/v1/tenants') return json(kTenants);
    if (url.startsWith('/api/v1/devices')) return json({ items: [], next_cursor: null, total: 0 });
    return json({}, 404);
  });
  vi.stubGlobal('fetch', fetch);
  return seen;
}

beforeEach(() => {
  window.sessionStorage.clear();
  FakeEventSource.urls = [];
  vi.stubGlobal('EventSource', FakeEventSource);
  window.history.replaceState(null, '', '/fleet');
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  window.sessionStorage.clear();
});

describe('acting tenant', () => {
  it('is sent as X-HECS-Tenant on every call once chosen, and cleared by a new login', async () => {
    const fetch = vi.fn(async (_url: string, _init?: RequestInit) =>
      json({ user: { username: 'root', role: 'superadmin', tenant_id: 'home-id' }, csrf_token: 'c', session: {} }, 201));
    const api = new ApiClient({ fetch });
    const sent = (i: number) => (fetch.mock.calls[i][1]?.headers as Record<string, string>)['X-HECS-Tenant'];
    await api.me();
    expect(sent(0)).toBeUndefined();
    setActingTenant({ id: 'globex-id', name: 'globex' });
    expect(JSON.parse(window.sessionStorage.getItem(kTenantKey)!)).toEqual({ id: 'globex-id', name: 'globex' });
    await api.me();
    await api.request('POST', '/api/v1/tasks', {});
    expect(sent(1)).toBe('globex-id');
    expect(sent(2)).toBe('globex-id');
    await api.login('root', 'pw');
    expect(sent(3)).toBeUndefined(); // the login itself
    expect(actingTenant()).toBeNull();
  });

  it('goes into event-stream URLs as ?tenant=', () => {
    expect(withTenant('/api/v1/devices/events')).toBe('/api/v1/devices/events');
    setActingTenant({ id: 'a b', name: 'x' });
    expect(withTenant('/api/v1/devices/events')).toBe('/api/v1/devices/events?tenant=a%20b');
    expect(withTenant('/x?y=1')).toBe('/x?y=1&tenant=a%20b');
  });
});

describe('tenant switcher', () => {
  it('is not shown to anyone but a superadmin', async () => {
    window.sessionStorage.setItem(kCsrfKey, 'c');
    const seen = server('owner');
    render(<App />);
    expect(await screen.findByText('default')).toBeTruthy(); // the tenant's name, as text
    expect(screen.queryByLabelText('Tenant')).toBeNull();
    expect(seen.some((s) => s.url === '/api/v1/tenants')).toBe(false);
  });

  it('lets a superadmin act in another tenant: header, event stream and page reloaded', async () => {
    window.sessionStorage.setItem(kCsrfKey, 'c');
    const seen = server('superadmin');
    render(<App />);
    const select = (await screen.findByLabelText('Tenant')) as HTMLSelectElement;
    await waitFor(() => expect(select.disabled).toBe(false));
    const options = within(select).getAllByRole('option') as HTMLOptionElement[];
    expect(options.map((o) => o.textContent)).toEqual(['Own tenant (default)', 'globex', 'old (disabled)']);
    expect(options[2].disabled).toBe(true);
    await waitFor(() => expect(FakeEventSource.urls).toEqual(['/api/v1/devices/events']));
    const before = seen.length;

    fireEvent.change(select, { target: { value: 'globex-id' } });
    expect(screen.getByTestId('acting-tenant').textContent).toBe('Acting in globex');
    // The fleet is read again, in the chosen tenant, and its stream follows.
    await waitFor(() => expect(seen.slice(before).some((s) => s.url.startsWith('/api/v1/devices'))).toBe(true));
    expect(seen.slice(before).every((s) => s.tenant === 'globex-id')).toBe(true);
    await waitFor(() => expect(FakeEventSource.urls.at(-1)).toBe('/api/v1/devices/events?tenant=globex-id'));

    fireEvent.change(select, { target: { value: '' } });
    expect(actingTenant()).toBeNull();
    await waitFor(() => expect(FakeEventSource.urls.at(-1)).toBe('/api/v1/devices/events'));
  });

  it('keeps the chosen tenant over a reload', async () => {
    window.sessionStorage.setItem(kCsrfKey, 'c');
    setActingTenant({ id: 'globex-id', name: 'globex' });
    const seen = server('superadmin');
    render(<App />);
    expect((await screen.findByTestId('acting-tenant')).textContent).toBe('Acting in globex');
    expect(seen.find((s) => s.url === '/api/v1/auth/me')!.tenant).toBeUndefined(); // who the user is, at home
    await waitFor(() => expect(FakeEventSource.urls.at(-1)).toBe('/api/v1/devices/events?tenant=globex-id'));
    expect(seen.filter((s) => s.url.startsWith('/api/v1/devices')).every((s) => s.tenant === 'globex-id')).toBe(true);
    expect(screen.getByRole('option', { name: 'Own tenant (default)' })).toBeTruthy();
  });
});
