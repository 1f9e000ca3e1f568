import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient, Device } from './api';
import { countDevices, Fleet, kRetryFirstMs, kRowHeight } from './Fleet';
import { kTypingMs } from './FleetFilters';
import { json } from './testUtil';

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

function page(items: Device[], next: string | null = null, total = items.length) {
  return json({ items, next_cursor: next, total });
}

// A fetch stub that answers the facets and groups by itself and the device list with `list`.
function fleetFetch(list: (url: string, init?: RequestInit) => Response | Promise<Response>, others: Record<string, () => Response> = {}) {
  return vi.fn(async (url: string, init?: RequestInit) => {
    for (const [prefix, answer] of Object.entries(others)) if (url.startsWith(prefix)) return answer();
    if (url === '/api/v1/devices/facets') return json({ versions: ['1.1.0', '1.2.0'], tags: { site: ['lyon', 'paris'], gpu: [''] }, truncated: false });
    if (url === '/api/v1/groups') return json({ items: [{ id: 'g-1', name: 'gateways', kind: 'dynamic' }] });
    return list(url, init);
  });
}

function listCalls(fetch: ReturnType<typeof vi.fn>): string[] {
  return fetch.mock.calls.map((c) => String(c[0])).filter((u) => u.startsWith('/api/v1/devices?'));
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
    const fetch = fleetFetch(() => page([device('a', true), device('b', false)]));
    render(<Fleet api={new ApiClient({ fetch })} />);
    expect(await screen.findByText('host-a')).toBeTruthy();
    expect(screen.getByTestId('count-online').textContent).toBe('1');
    expect(screen.getByTestId('count-offline').textContent).toBe('1');
    expect(screen.getAllByRole('row').filter((r) => r.hasAttribute('data-device'))).toHaveLength(2);
  });

  it('says how to enrol a device when there is none', async () => {
    const fetch = fleetFetch(() => page([]));
    render(<Fleet api={new ApiClient({ fetch })} />);
    expect(await screen.findByText('No devices yet.')).toBeTruthy();
    expect(screen.getByText('hecsctl tokens create')).toBeTruthy();
  });

  it('shows a failed load readably', async () => {
    const fetch = fleetFetch(() => json({ title: 'service unavailable', status: 503, code: 'unavailable' }, 503));
    render(<Fleet api={new ApiClient({ fetch })} />);
    expect((await screen.findByRole('alert')).textContent).toMatch(/unavailable/);
  });

  it('updates rows and counts in place from the event stream, without polling', async () => {
    vi.stubGlobal('EventSource', MockEventSource);
    const fetch = fleetFetch(() => page([device('a', true), device('b', false)]));
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
    expect(listCalls(fetch)).toHaveLength(1); // rows changed in place: the list was not read again
  });

  it('reads the list again for a device it does not show yet', async () => {
    vi.stubGlobal('EventSource', MockEventSource);
    let reads = 0;
    const fetch = fleetFetch(() => (reads++ === 0 ? page([device('a', true)]) : page([device('a', true), device('c', false, 'pending')])));
    render(<Fleet api={new ApiClient({ fetch })} />);
    expect(await screen.findByText('host-a')).toBeTruthy();
    MockEventSource.last().emit('device', { id: 'c', hostname: '', online: false, state: 'pending', last_seen: '' });
    expect(await screen.findByText('host-c')).toBeTruthy();
    expect(listCalls(fetch)).toHaveLength(2);
  });

  it('reconnects with backoff when the stream drops, and reads the list again then', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    vi.stubGlobal('EventSource', MockEventSource);
    const fetch = fleetFetch(() => page([device('a', true)]));
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
    const calls = listCalls(fetch).length;
    MockEventSource.last().emit('counts', { online: 0, offline: 1, pending: 0, total: 1 });
    await waitFor(() => expect(listCalls(fetch).length).toBe(calls + 1));
    expect(screen.getByTestId('live').textContent).toBe('Live');
    expect(screen.getByTestId('count-online').textContent).toBe('0');
  });

  it('closes the stream when the page goes away', async () => {
    vi.stubGlobal('EventSource', MockEventSource);
    const fetch = fleetFetch(() => page([device('a', true)]));
    const { unmount } = render(<Fleet api={new ApiClient({ fetch })} />);
    expect(await screen.findByText('host-a')).toBeTruthy();
    unmount();
    expect(MockEventSource.last().closed).toBe(true);
  });
});

function devices(n: number, from = 0, state: Device['state'] = 'accepted'): Device[] {
  return Array.from({ length: n }, (_, i) => device(String(from + i).padStart(5, '0'), i % 2 === 0, state));
}

function lastQuery(fetch: ReturnType<typeof vi.fn>): URLSearchParams {
  const url = listCalls(fetch).at(-1) ?? '';
  return new URLSearchParams(url.slice(url.indexOf('?') + 1));
}

describe('Fleet at fleet scale', () => {
  it('sends each filter to the server as its query parameter', async () => {
    const fetch = fleetFetch(() => page([device('a', true)]));
    render(<Fleet api={new ApiClient({ fetch })} />);
    expect(await screen.findByText('host-a')).toBeTruthy();
    expect(lastQuery(fetch).get('limit')).toBe('250');

    fireEvent.click(screen.getByRole('checkbox', { name: 'pending' }));
    fireEvent.click(screen.getByRole('checkbox', { name: 'rejected' }));
    await waitFor(() => expect(lastQuery(fetch).get('state')).toBe('pending,rejected'));
    fireEvent.change(screen.getByRole('combobox', { name: 'Connection' }), { target: { value: 'false' } });
    await waitFor(() => expect(lastQuery(fetch).get('online')).toBe('false'));
    await waitFor(() => expect(screen.getByRole('option', { name: 'gateways' })).toBeTruthy());
    fireEvent.change(screen.getByRole('combobox', { name: 'Group' }), { target: { value: 'g-1' } });
    await waitFor(() => expect(lastQuery(fetch).get('group')).toBe('g-1'));
    fireEvent.change(screen.getByRole('combobox', { name: 'Version' }), { target: { value: '1.2.0' } });
    await waitFor(() => expect(lastQuery(fetch).get('version')).toBe('1.2.0'));
    fireEvent.change(screen.getByRole('combobox', { name: 'Tag' }), { target: { value: 'site=paris' } });
    await waitFor(() => expect(lastQuery(fetch).get('selector')).toBe('site=paris'));
    expect((screen.getByRole('textbox', { name: 'Tag selector' }) as HTMLInputElement).value).toBe('site=paris');

    // Typed text goes once typing pauses.
    const before = listCalls(fetch).length;
    fireEvent.change(screen.getByRole('searchbox', { name: 'Search' }), { target: { value: 'pi-' } });
    fireEvent.change(screen.getByRole('textbox', { name: 'Tag selector' }), { target: { value: 'site in (lyon,paris)' } });
    await new Promise((r) => setTimeout(r, kTypingMs / 2));
    expect(listCalls(fetch)).toHaveLength(before);
    await waitFor(() => expect(lastQuery(fetch).get('q')).toBe('pi-'));
    const q = lastQuery(fetch);
    expect(q.get('selector')).toBe('site in (lyon,paris)');
    expect(q.get('state')).toBe('pending,rejected');
    expect(q.get('group')).toBe('g-1');
    expect(q.has('cursor')).toBe(false);
  });

  it('sorts by a column header, and the other way on a second press', async () => {
    const fetch = fleetFetch(() => page([device('a', true), device('b', false)]));
    render(<Fleet api={new ApiClient({ fetch })} />);
    expect(await screen.findByText('host-a')).toBeTruthy();
    expect(lastQuery(fetch).has('sort')).toBe(false);
    const header = () => screen.getByRole('columnheader', { name: /Host name/ });
    expect(header().getAttribute('aria-sort')).toBe('none');
    expect(screen.getByRole('columnheader', { name: /Device id/ }).getAttribute('aria-sort')).toBe('ascending');

    fireEvent.click(within(header()).getByRole('button', { name: 'Host name' }));
    await waitFor(() => expect(lastQuery(fetch).get('sort')).toBe('hostname'));
    await waitFor(() => expect(header().getAttribute('aria-sort')).toBe('ascending'));
    fireEvent.click(within(header()).getByRole('button', { name: 'Host name' }));
    await waitFor(() => expect(lastQuery(fetch).get('sort')).toBe('-hostname'));
    await waitFor(() => expect(header().getAttribute('aria-sort')).toBe('descending'));
    fireEvent.click(screen.getByRole('button', { name: 'Last seen' }));
    await waitFor(() => expect(lastQuery(fetch).get('sort')).toBe('last_seen'));
    expect(header().getAttribute('aria-sort')).toBe('none');
  });

  it('renders only the visible rows and reads the next page when scrolled near the end', async () => {
    const fetch = fleetFetch((url) => (url.includes('cursor=c1') ? page(devices(250, 250), null, 500) : page(devices(250), 'c1', 500)));
    render(<Fleet api={new ApiClient({ fetch })} />);
    expect(await screen.findByText('host-00000')).toBeTruthy();
    const rows = () => document.querySelectorAll('tr[data-device]');
    expect(rows().length).toBeLessThan(60);
    expect(listCalls(fetch)).toHaveLength(1);
    expect(screen.getByRole('table', { name: 'Devices' }).getAttribute('aria-rowcount')).toBe('501');

    const scroller = screen.getByRole('region', { name: 'Device list, scrollable' });
    scroller.scrollTop = 240 * kRowHeight;
    fireEvent.scroll(scroller);
    await waitFor(() => expect(listCalls(fetch)).toHaveLength(2));
    expect(lastQuery(fetch).get('cursor')).toBe('c1');
    expect(await screen.findByText('host-00250')).toBeTruthy();
    expect(screen.queryByText('host-00000')).toBeNull(); // scrolled out: no longer in the DOM
    expect(rows().length).toBeLessThan(60);
    expect(screen.getByText('500 devices')).toBeTruthy();
  });

  it('scrolls over the whole list, reading the pages up to a far position as it goes', async () => {
    const total = 2000;
    const fetch = fleetFetch((url) => {
      const cursor = new URLSearchParams(url.slice(url.indexOf('?') + 1)).get('cursor');
      const from = cursor ? Number(cursor.slice(1)) : 0;
      const next = from + 250 < total ? `c${from + 250}` : null;
      return page(devices(250, from), next, total);
    });
    render(<Fleet api={new ApiClient({ fetch })} />);
    expect(await screen.findByText('host-00000')).toBeTruthy();
    const spacers = () => Array.from(document.querySelectorAll<HTMLElement>('tr.spacer td')).map((td) => parseInt(td.style.height, 10));
    // The rows below the view count for the whole list, not the 250 read.
    expect(spacers().reduce((a, b) => a + b, 0) + document.querySelectorAll('tr[data-device]').length * kRowHeight).toBe(total * kRowHeight);
    expect(listCalls(fetch)).toHaveLength(1);

    const scroller = screen.getByRole('region', { name: 'Device list, scrollable' });
    scroller.scrollTop = (total - 10) * kRowHeight; // the scrollbar dragged to the end
    fireEvent.scroll(scroller);
    expect(await screen.findByText(/^Loading devices \d+–2000 of 2000…$/)).toBeTruthy();
    expect(await screen.findByText('host-01999', {}, { timeout: 5000 })).toBeTruthy();
    expect(listCalls(fetch)).toHaveLength(total / 250);
    expect(screen.queryByText(/^Loading devices/)).toBeNull();
    expect(document.querySelectorAll('tr[data-device]').length).toBeLessThan(60);
  });

  it('shows no mutating action to a viewer', async () => {
    const fetch = fleetFetch(() => page([device('p', false, 'pending'), device('a', true)]));
    render(<Fleet api={new ApiClient({ fetch })} role="viewer" />);
    expect(await screen.findByText('host-p')).toBeTruthy();
    for (const name of [/^Accept/, /^Reject/, /^Revoke/, /^Edit tags/]) expect(screen.queryByRole('button', { name })).toBeNull();
    expect(screen.queryByRole('columnheader', { name: 'Actions' })).toBeNull();
  });

  it('lets an operator edit tags but not decide on devices', async () => {
    const fetch = fleetFetch(() => page([device('p', false, 'pending')]));
    render(<Fleet api={new ApiClient({ fetch })} role="operator" />);
    expect(await screen.findByRole('button', { name: 'Edit tags of host-p' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Accept host-p' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Revoke host-p' })).toBeNull();
  });

  it('accepts a pending device and shows a refused decision readably', async () => {
    const fetch = fleetFetch(() => page([device('p', false, 'pending'), device('q', false, 'pending')]), {
      '/api/v1/devices/p/accept': () => json({ device_id: 'p', state: 'accepted' }),
      '/api/v1/devices/q/reject': () => json({ title: 'conflict', status: 409, detail: 'device is not pending', code: 'conflict' }, 409),
    });
    render(<Fleet api={new ApiClient({ fetch })} role="admin" />);
    fireEvent.click(await screen.findByRole('button', { name: 'Accept host-p' }));
    await waitFor(() => expect(document.querySelector('tr[data-device="p"] td:nth-child(3)')?.textContent).toBe('accepted'));
    expect(fetch.mock.calls.some((c) => c[0] === '/api/v1/devices/p/accept' && c[1]?.method === 'POST')).toBe(true);
    expect(screen.queryByRole('button', { name: 'Accept host-p' })).toBeNull();

    fireEvent.click(screen.getByRole('button', { name: 'Reject host-q' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Could not reject host-q: Device is not pending.');
  });

  it('revokes only after the confirm step', async () => {
    const fetch = fleetFetch(() => page([device('a', true)]), {
      '/api/v1/devices/a/revoke': () => json({ device_id: 'a', state: 'revoked' }),
    });
    render(<Fleet api={new ApiClient({ fetch })} role="admin" />);
    fireEvent.click(await screen.findByRole('button', { name: 'Revoke host-a' }));
    const dialog = screen.getByRole('dialog', { name: 'Revoke host-a?' });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(fetch.mock.calls.some((c) => String(c[0]).endsWith('/revoke'))).toBe(false);

    fireEvent.click(screen.getByRole('button', { name: 'Revoke host-a' }));
    fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Revoke device' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(document.querySelector('tr[data-device="a"] td:nth-child(3)')?.textContent).toBe('revoked');
  });

  it('saves edited tags, and keeps the dialog open with the error when refused', async () => {
    let refuse = true;
    const fetch = fleetFetch(() => page([device('a', true)]), {
      '/api/v1/devices/a/tags': () =>
        refuse
          ? json({ title: 'invalid request', status: 400, detail: 'tags: bad key at 1', code: 'invalid_input' }, 400)
          : json({ id: 'a', tags: ['site=paris', 'gpu'] }),
    });
    render(<Fleet api={new ApiClient({ fetch })} role="operator" />);
    fireEvent.click(await screen.findByRole('button', { name: 'Edit tags of host-a' }));
    const dialog = screen.getByRole('dialog', { name: 'Tags of host-a' });
    const input = within(dialog).getByRole('textbox', { name: 'Tags' });
    expect(document.activeElement).toBe(input);
    fireEvent.change(input, { target: { value: '-bad' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Save tags' }));
    expect((await within(dialog).findByRole('alert')).textContent).toBe('Tags: bad key at 1.');

    refuse = false;
    fireEvent.change(input, { target: { value: 'site=paris, gpu' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Save tags' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    const put = fetch.mock.calls.filter((c) => c[0] === '/api/v1/devices/a/tags').at(-1);
    expect(put?.[1]?.method).toBe('PUT');
    expect(JSON.parse(String(put?.[1]?.body))).toEqual({ tags: ['site=paris', 'gpu'] });
    expect(screen.getByText('site=paris, gpu')).toBeTruthy();
  });

  it('links each device to its page', async () => {
    const fetch = fleetFetch(() => page([device('a', true)]));
    render(<Fleet api={new ApiClient({ fetch })} />);
    expect((await screen.findByRole('link', { name: 'host-a' })).getAttribute('href')).toBe('/fleet/a');
  });

  it('says when no device matches the filters, and clears them', async () => {
    const fetch = fleetFetch((url) => (url.includes('state=') || url.includes('q=') ? page([]) : page([device('a', true)])));
    render(<Fleet api={new ApiClient({ fetch })} />);
    expect(await screen.findByText('host-a')).toBeTruthy();
    fireEvent.click(screen.getByRole('checkbox', { name: 'revoked' }));
    expect(await screen.findByText('No device matches these filters.')).toBeTruthy();
    fireEvent.change(screen.getByRole('searchbox', { name: 'Search' }), { target: { value: 'zzz' } });
    await waitFor(() => expect(lastQuery(fetch).get('q')).toBe('zzz'));
    fireEvent.click(screen.getByRole('button', { name: 'Clear filters' }));
    expect(await screen.findByText('host-a')).toBeTruthy();
    expect((screen.getByRole('searchbox', { name: 'Search' }) as HTMLInputElement).value).toBe('');
    expect((screen.getByRole('checkbox', { name: 'revoked' }) as HTMLInputElement).checked).toBe(false);
    // What was typed does not come back once the typing delay has passed.
    await new Promise((r) => setTimeout(r, kTypingMs * 2));
    expect(lastQuery(fetch).has('q')).toBe(false);
    expect(screen.getByText('host-a')).toBeTruthy();
  });
});
