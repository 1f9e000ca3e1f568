import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient, Device } from './api';
import { countDevices, Fleet } from './Fleet';

afterEach(cleanup);

function device(id: string, online: boolean, state: Device['state'] = 'accepted'): Device {
  return {
    id, tenant_id: 't', hostname: 'host-' + id, online, session: 1, first_seen: '', last_seen: '2026-01-01T00:00:00.000Z',
    state, tags: [], inventory: { agent_version: '0.1.0' }, telemetry: null, telemetry_at: null,
  };
}

function page(items: Device[]) {
  return new Response(JSON.stringify({ items, next_cursor: null, total: items.length }), {
    status: 200,
    headers: { 'Content-Type': 'application/json' },
  });
}

describe('countDevices', () => {
  it('counts accepted devices as online or offline, and pending ones apart', () => {
    expect(countDevices([device('a', true), device('b', false), device('c', false, 'pending'), device('d', false, 'revoked')])).toEqual({
      total: 4, online: 1, offline: 1, pending: 1,
    });
  });
});

describe('Fleet', () => {
  it('lists the devices with their counts', async () => {
    const fetch = vi.fn().mockResolvedValue(page([device('a', true), device('b', false)]));
    render(<Fleet api={new ApiClient({ fetch })} />);
    expect(await screen.findByText('host-a')).toBeTruthy();
    expect(screen.getByTestId('count-online').textContent).toBe('1');
    expect(screen.getByTestId('count-offline').textContent).toBe('1');
    expect(screen.getAllByRole('row')).toHaveLength(3);
  });

  it('says how to enrol a device when there is none', async () => {
    const fetch = vi.fn().mockResolvedValue(page([]));
    render(<Fleet api={new ApiClient({ fetch })} />);
    expect(await screen.findByText('No devices yet.')).toBeTruthy();
    expect(screen.getByText('hecsctl tokens create')).toBeTruthy();
  });

  it('shows a failed load readably', async () => {
    const fetch = vi.fn().mockResolvedValue(
      new Response(JSON.stringify({ title: 'service unavailable', status: 503, code: 'unavailable' }), {
        status: 503,
        headers: { 'Content-Type': 'application/problem+json' },
      }),
    );
    render(<Fleet api={new ApiClient({ fetch })} />);
    expect((await screen.findByRole('alert')).textContent).toMatch(/unavailable/);
  });
});
