import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient, Device } from './api';
import { countDevices, Fleet, kRetryFirstMs } from './Fleet';

// A stand-in for the browser's EventSource: tests push events through `emit` and drop the
// connection through `fail`.
class MockEventSource {
  static made: MockEventSource[] = [];
  readonly url: string;
  readonly withCredentials: boolean;
  closed = false;
  onerror: ((e: Event) => void) | null = null;
  private listeners = new Map<string, ((e: MessageEvent<string>) => void)[]>();
  constructor(url: string, init?: { withCredentials?: boolean }) {
    this.url = url;
    this.withCredentials = init?.withCredentials ?? false;
    MockEventSource.made.push(this);
  }
  addEventListener(type: string, listener: (e: MessageEvent<string>) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  close() {
    this.closed = true;
  }
  emit(type: string, data: unknown) {
    const e = new MessageEvent<string>(type, { data: JSON.stringify(data) });
    act(() => {
      for (const l of this.listeners.get(type) ?? []) l(e);
    });
  }
  fail() {
    act(() => this.onerror?.(new Event('error')));
  }
  static last(): MockEventSource {
    const es = MockEventSource.made.at(-1);
    if (!es) throw new Error('no EventSource made');
    return es;
  }
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.useRealTimers();
  MockEventSource.made = [];
});

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

  it('updates rows and counts in place from the event stream, without polling', async () => {
    vi.stubGlobal('EventSource', MockEventSource);
    const fetch = vi.fn().mockResolvedValue(page([device('a', true), device('b', false)]));
    render(<Fleet api={new ApiClient({ fetch })} />);
    expect(await screen.findByText('host-a')).toBeTruthy();
    const es = MockEventSource.last();
    expect(es.url).toBe('/api/v1/devices/events');
    expect(es.withCredentials).toBe(true);
    es.emit('counts', { online: 1, offline: 1, pending: 0, total: 2 });
    expect(screen.getByTestId('live').textContent).toBe('Live');

    es.emit('device', { id: 'a', hostname: 'renamed-a', online: false, state: 'accepted', last_seen: '2026-01-01T00:00:05.000Z' });
    es.emit('counts', { online: 0, offline: 2, pending: 0, total: 2 });
    expect(await screen.findByText('renamed-a')).toBeTruthy();
    const row = document.querySelector('tr[data-device="a"]');
    expect(row?.querySelector('.badge')?.textContent).toBe('offline');
    expect(screen.getByTestId('count-online').textContent).toBe('0');
    expect(screen.getByTestId('count-offline').textContent).toBe('2');
    expect(fetch).toHaveBeenCalledTimes(1); // rows changed in place: the list was not read again
  });

  it('reads the list again for a device it does not show yet', async () => {
    vi.stubGlobal('EventSource', MockEventSource);
    const fetch = vi
      .fn()
      .mockResolvedValueOnce(page([device('a', true)]))
      .mockResolvedValueOnce(page([device('a', true), device('c', false, 'pending')]));
    render(<Fleet api={new ApiClient({ fetch })} />);
    expect(await screen.findByText('host-a')).toBeTruthy();
    MockEventSource.last().emit('device', { id: 'c', hostname: '', online: false, state: 'pending', last_seen: '' });
    expect(await screen.findByText('host-c')).toBeTruthy();
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('reconnects with backoff when the stream drops, and reads the list again then', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    vi.stubGlobal('EventSource', MockEventSource);
    const fetch = vi.fn().mockImplementation(async () => page([device('a', true)]));
    render(<Fleet api={new ApiClient({ fetch })} />);
    expect(await screen.findByText('host-a')).toBeTruthy();
    const first = MockEventSource.last();
    first.emit('counts', { online: 1, offline: 0, pending: 0, total: 1 });
    first.fail();
    expect(first.closed).toBe(true);
    expect(screen.getByTestId('live').textContent).toBe('Reconnecting…');
    expect(MockEventSource.made).toHaveLength(1);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(kRetryFirstMs);
    });
    expect(MockEventSource.made).toHaveLength(2);
    // A second failure in a row waits twice as long.
    MockEventSource.last().fail();
    await act(async () => {
      await vi.advanceTimersByTimeAsync(kRetryFirstMs);
    });
    expect(MockEventSource.made).toHaveLength(2);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(kRetryFirstMs);
    });
    expect(MockEventSource.made).toHaveLength(3);
    const calls = fetch.mock.calls.length;
    MockEventSource.last().emit('counts', { online: 0, offline: 1, pending: 0, total: 1 });
    await waitFor(() => expect(fetch.mock.calls.length).toBe(calls + 1));
    expect(screen.getByTestId('live').textContent).toBe('Live');
    expect(screen.getByTestId('count-online').textContent).toBe('0');
  });

  it('closes the stream when the page goes away', async () => {
    vi.stubGlobal('EventSource', MockEventSource);
    const fetch = vi.fn().mockResolvedValue(page([device('a', true)]));
    const { unmount } = render(<Fleet api={new ApiClient({ fetch })} />);
    expect(await screen.findByText('host-a')).toBeTruthy();
    unmount();
    expect(MockEventSource.last().closed).toBe(true);
  });
});
