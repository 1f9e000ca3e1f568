import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from './api';
import { DevicePage } from './DevicePage';
import { getPresence, kMaxPresencePages, mergeSeries, presenceSpans } from './deviceHistoryApi';
import { FakeEventSource, json } from './testUtil';

// uPlot needs a canvas, which jsdom has not: the chart module is replaced by a stand-in that
// shows the accessible name and the points it was given.
vi.mock('./Chart', () => ({
  Chart: ({ title, x, spanS }: { title: string; x: number[]; spanS?: number }) => (
    <div role="img" aria-label={title} data-points={x.length} data-span={spanS} />
  ),
}));

const kId = '3f6c1e2a-8b4d-4f7e-9a21-5c0d7e8b9f10';
const kNow = Date.parse('2026-12-05T12:00:00.000Z');

const kDevice = {
  id: kId, tenant_id: 't', hostname: 'pi-atelier-03', online: true, session: 12,
  first_seen: '2026-12-01T10:00:00.000Z', last_seen: '2026-12-05T11:59:50.000Z', state: 'accepted',
  tags: ['site=lyon', 'role=gateway'],
  inventory: {
    agent_version: '0.1.0', hostname: 'pi-atelier-03', os: 'Debian GNU/Linux 12 (bookworm)', kernel: '6.6.51+rpt-rpi-v8',
    arch: 'aarch64', cpu_model: 'Raspberry Pi 4 Model B Rev 1.5', cpu_count: 4, memory_bytes: 3978674176, boot_time: 0,
    disks: [{ mount: '/', device: '/dev/mmcblk0p2', fs_type: 'ext4', total_bytes: 62277025792 }],
    interfaces: [{ name: 'eth0', mac: 'dc:a6:32:5e:91:0c', addresses: ['192.168.10.23/24'] }],
  },
  telemetry: null, telemetry_at: null,
};

function point(ts: number, cpu: number) {
  return {
    ts: new Date(ts).toISOString(), samples: 1, cpu_percent: cpu, memory_percent: 40, disk_percent: 11.1,
    temperature_c: 48.5, rx_bytes_per_s: 1500, tx_bytes_per_s: 200,
  };
}

type Handler = (url: string) => Response | undefined;

function stubFetch(overrides: Handler = () => undefined) {
  const urls: string[] = [];
  const fetch = vi.fn(async (url: string) => {
    urls.push(url);
    const o = overrides(url);
    if (o) return o;
    if (url.includes('/presence')) {
      return json({ since: '', online_at_since: false, items: [{ ts: new Date(kNow - 3_600_000).toISOString(), online: true }], more: false });
    }
    if (url.includes('/telemetry/series')) {
      return json({ since: new Date(kNow - 3_600_000).toISOString(), step: 30000, items: [point(kNow - 60_000, 12.5), point(kNow - 30_000, 17.25)] });
    }
    return json(kDevice);
  });
  return { fetch, urls };
}

function renderPage(fetch: ReturnType<typeof vi.fn>) {
  const factory = (url: string) => new FakeEventSource(url) as unknown as EventSource;
  return render(<DevicePage api={new ApiClient({ fetch })} id={kId} eventSource={factory} />);
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
  vi.setSystemTime(kNow);
  Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true });
});

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe('DevicePage', () => {
  it('shows the inventory, tags and state of the device (with uPlot faked)', async () => {
    const { fetch } = stubFetch();
    renderPage(fetch);
    expect(await screen.findByRole('heading', { level: 1, name: 'pi-atelier-03' })).toBeTruthy();
    expect(screen.getByText('Debian GNU/Linux 12 (bookworm)')).toBeTruthy();
    expect(screen.getByText('6.6.51+rpt-rpi-v8')).toBeTruthy();
    expect(screen.getByText('aarch64')).toBeTruthy();
    expect(screen.getByText('Raspberry Pi 4 Model B Rev 1.5')).toBeTruthy();
    expect(screen.getByText('/dev/mmcblk0p2')).toBeTruthy();
    expect(screen.getByText('192.168.10.23/24')).toBeTruthy();
    const tags = screen.getByRole('list', { name: 'Tags' });
    expect(tags.textContent).toContain('site=lyon');
    expect(tags.textContent).toContain('role=gateway');
    expect(screen.getByTestId('device-online').textContent).toBe('online');
  });

  it('labels each chart with its range and latest value (with uPlot faked)', async () => {
    const { fetch } = stubFetch();
    renderPage(fetch);
    const cpu = await screen.findByRole('img', { name: /^CPU, last hour; latest 17\.3 %$/ });
    expect(cpu.getAttribute('data-points')).toBe('2');
    expect(screen.getByRole('img', { name: /^Network, last hour; latest Received 1\.5 kB\/s, Sent 200 B\/s$/ })).toBeTruthy();
    expect(screen.getByRole('img', { name: /^Online \d+ % of the last 24 hours, 1 change$/ })).toBeTruthy();
  });

  it('asks for the last hour in 30 s buckets, then the last day in 5 min buckets (with uPlot faked)', async () => {
    const { fetch, urls } = stubFetch();
    renderPage(fetch);
    const hour = await screen.findByRole('img', { name: /^CPU, last hour/ });
    expect(hour.getAttribute('data-span')).toBe('3600'); // the axis shows the whole hour, not the data's extent
    expect(urls).toContain(`/api/v1/devices/${kId}/telemetry/series?since=${kNow - 3_600_000}&step=30000`);
    expect(urls).toContain(`/api/v1/devices/${kId}/presence?since=${kNow - 86_400_000}`);
    const day = screen.getByRole('button', { name: 'Last day' });
    expect(day.getAttribute('aria-pressed')).toBe('false');
    fireEvent.click(day);
    await waitFor(() => expect(urls).toContain(`/api/v1/devices/${kId}/telemetry/series?since=${kNow - 86_400_000}&step=300000`));
    expect(screen.getByRole('button', { name: 'Last day' }).getAttribute('aria-pressed')).toBe('true');
    expect((await screen.findByRole('img', { name: /^CPU, last day/ })).getAttribute('data-span')).toBe('86400');
  });

  it('reads only the newest buckets again every 10 s while visible (with uPlot faked)', async () => {
    const { fetch, urls } = stubFetch();
    renderPage(fetch);
    await screen.findByRole('img', { name: /^CPU, last hour/ });
    await act(async () => {
      vi.advanceTimersByTime(10_000);
    });
    await waitFor(() => expect(urls).toContain(`/api/v1/devices/${kId}/telemetry/series?since=${kNow - 30_000}&step=30000`));
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    const before = urls.length;
    await act(async () => {
      vi.advanceTimersByTime(30_000);
    });
    expect(urls.length).toBe(before);
  });

  it('follows the online state from the device events', async () => {
    const { fetch } = stubFetch();
    renderPage(fetch);
    await screen.findByRole('heading', { level: 1, name: 'pi-atelier-03' });
    FakeEventSource.last!.emit('device', { id: 'another', hostname: 'x', online: false, state: 'accepted', last_seen: '' });
    expect(screen.getByTestId('device-online').textContent).toBe('online');
    FakeEventSource.last!.emit('device', { id: kId, hostname: 'pi-atelier-03', online: false, state: 'accepted', last_seen: '' });
    expect(screen.getByTestId('device-online').textContent).toBe('offline');
  });

  it('says there is no such device, with a link back, on 404', async () => {
    const { fetch } = stubFetch((url) =>
      url.includes('/presence') || url.includes('/series') ? json({ code: 'not_found' }, 404)
        : json({ title: 'not found', detail: 'no device with this id', code: 'not_found', status: 404 }, 404));
    renderPage(fetch);
    expect(await screen.findByRole('heading', { name: 'No such device' })).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Back to the fleet' }).getAttribute('href')).toBe('/fleet');
  });

  it('shows a failure of the server as a readable message', async () => {
    const { fetch } = stubFetch((url) =>
      url.endsWith(kId) ? json({ title: 'internal', code: 'internal', status: 500 }, 500) : undefined);
    renderPage(fetch);
    expect((await screen.findByRole('alert')).textContent).toBe('The server failed (HTTP 500, internal). Its log has the reason.');
  });

  it('shows why the telemetry could not be read', async () => {
    const { fetch } = stubFetch((url) =>
      url.includes('/series')
        ? json({ title: 'invalid request', detail: 'since must be within the raw telemetry window (12 h)', code: 'invalid_input', status: 400 }, 400)
        : undefined);
    renderPage(fetch);
    expect((await screen.findByRole('alert')).textContent).toBe('Since must be within the raw telemetry window (12 h).');
  });

  it('says what to do when there is no telemetry yet', async () => {
    const { fetch } = stubFetch((url) => (url.includes('/series') ? json({ since: '', step: 30000, items: [] }) : undefined));
    renderPage(fetch);
    expect(await screen.findByText(/No telemetry in the last hour/)).toBeTruthy();
  });
});

describe('deviceHistoryApi', () => {
  it('replaces the buckets read again and drops those out of range', () => {
    const merged = mergeSeries([point(1000, 1), point(2000, 2), point(3000, 3)], [point(3000, 30), point(4000, 4)], 3000, 2000);
    expect(merged.map((p) => p.cpu_percent)).toEqual([2, 30, 4]);
  });

  it('reads every page of changes, without the ones at a page boundary twice', async () => {
    const at = (ms: number, online: boolean) => ({ ts: new Date(ms).toISOString(), online });
    const pages: Record<string, unknown> = {
      '1000': { since: '', online_at_since: false, more: true, items: [at(1000, true), at(2000, false), at(3000, true)] },
      // Starts again at 3000: the change at 3000 comes back, with one more at the same time.
      '3000': { since: '', online_at_since: true, more: true, items: [at(3000, true), at(3000, false), at(4000, true)] },
      '4000': { since: '', online_at_since: false, more: false, items: [at(4000, true), at(5000, false)] },
    };
    const asked: string[] = [];
    const fetch = vi.fn(async (url: string) => {
      const since = new URL(url, 'http://x').searchParams.get('since') ?? '';
      asked.push(since);
      return json(pages[since]);
    });
    const p = await getPresence(new ApiClient({ fetch }), kId, 1000);
    expect(asked).toEqual(['1000', '3000', '4000']);
    expect(p.more).toBe(false);
    expect(p.items.map((c) => [Date.parse(c.ts), c.online])).toEqual([
      [1000, true], [2000, false], [3000, true], [3000, false], [4000, true], [5000, false],
    ]);
  });

  it('stops at the page limit, or at a page that does not move on, and leaves the rest unknown', async () => {
    const at = (ms: number) => ({ ts: new Date(ms).toISOString(), online: ms % 2000 === 0 });
    let calls = 0;
    const endless = vi.fn(async (url: string) => {
      calls++;
      const since = Number(new URL(url, 'http://x').searchParams.get('since'));
      return json({ since: '', online_at_since: null, more: true, items: [at(since), at(since + 1000)] });
    });
    const p = await getPresence(new ApiClient({ fetch: endless }), kId, 0);
    expect(calls).toBe(kMaxPresencePages);
    expect(p.more).toBe(true);
    const spans = presenceSpans(p, 0, 100_000, true);
    expect(spans[spans.length - 1]).toEqual({ from: kMaxPresencePages * 1000, to: 100_000, online: null });

    const stuck = vi.fn(async () => json({ since: '', online_at_since: null, more: true, items: [at(7000), at(7000)] }));
    const q = await getPresence(new ApiClient({ fetch: stuck }), kId, 7000);
    expect(stuck).toHaveBeenCalledTimes(2);
    expect(q.more).toBe(true);
  });

  it('cuts the day into spans of one state', () => {
    const spans = presenceSpans(
      { since: '', online_at_since: null, more: false, items: [{ ts: new Date(100).toISOString(), online: true }, { ts: new Date(300).toISOString(), online: false }] },
      0, 400, false);
    expect(spans).toEqual([
      { from: 0, to: 100, online: null },
      { from: 100, to: 300, online: true },
      { from: 300, to: 400, online: false },
    ]);
  });
});
