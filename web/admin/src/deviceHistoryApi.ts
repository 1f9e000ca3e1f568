// A device's page (docs/admin-panel.md): the device, its online changes and its telemetry in
// chart buckets (docs/api.md, GET /api/v1/devices/{id}/presence and .../telemetry/series).
import { ApiClient, Device } from './api';

export interface PresenceChange {
  ts: string; // RFC 3339
  online: boolean;
}

export interface Presence {
  since: string;
  online_at_since: boolean | null;
  items: PresenceChange[];
  more: boolean;
}

export interface SeriesPoint {
  ts: string; // the bucket's start
  samples: number;
  cpu_percent: number | null;
  memory_percent: number | null;
  disk_percent: number | null;
  temperature_c: number | null;
  rx_bytes_per_s: number | null;
  tx_bytes_per_s: number | null;
}

export interface Series {
  since: string;
  step: number;
  items: SeriesPoint[];
}

export type Range = 'hour' | 'day';

// What each chart range asks for: its span, its bucket and how often it is read again.
export const kRanges: Record<Range, { label: string; spanMs: number; stepMs: number; refreshMs: number }> = {
  hour: { label: 'Last hour', spanMs: 3_600_000, stepMs: 30_000, refreshMs: 10_000 },
  day: { label: 'Last day', spanMs: 86_400_000, stepMs: 300_000, refreshMs: 60_000 },
};

export const kDayMs = 86_400_000;

function devicePath(id: string): string {
  return '/api/v1/devices/' + encodeURIComponent(id);
}

export function getDevice(api: ApiClient, id: string): Promise<Device> {
  return api.request<Device>('GET', devicePath(id));
}

// Pages read at most for one bar: 20 × 1000 changes, a device flapping every 5 s for a day.
export const kMaxPresencePages = 20;

// Every change since `sinceMs`. The API answers at most 1000 a page, oldest first, with `more`
// when others follow; the next page starts at the time of the last change, so the changes at
// exactly that time come again and are dropped from the page before. Past kMaxPresencePages,
// or on a page that does not get past that time, `more` stays true.
export async function getPresence(api: ApiClient, id: string, sinceMs: number): Promise<Presence> {
  const page = (fromMs: number) =>
    api.request<Presence>('GET', `${devicePath(id)}/presence?since=${Math.floor(fromMs)}`);
  const out = await page(sinceMs);
  for (let n = 1; out.more && out.items.length > 0 && n < kMaxPresencePages; n++) {
    const lastMs = Date.parse(out.items[out.items.length - 1].ts);
    const next = await page(lastMs);
    if (!next.items.some((c) => Date.parse(c.ts) > lastMs)) break;
    out.items = out.items.filter((c) => Date.parse(c.ts) < lastMs).concat(next.items);
    out.more = next.more;
  }
  return out;
}

export function getSeries(api: ApiClient, id: string, sinceMs: number, stepMs: number): Promise<Series> {
  return api.request<Series>('GET', `${devicePath(id)}/telemetry/series?since=${Math.floor(sinceMs)}&step=${stepMs}`);
}

// Buckets already shown, with a fresh read from `fromMs` on: the fresh ones replace those at or
// after it (the last bucket grows as samples come), and those older than `keepFromMs` go.
export function mergeSeries(old: SeriesPoint[], fresh: SeriesPoint[], fromMs: number, keepFromMs: number): SeriesPoint[] {
  const kept = old.filter((p) => {
    const t = Date.parse(p.ts);
    return t >= keepFromMs && t < fromMs;
  });
  return kept.concat(fresh);
}

export interface Span {
  from: number; // unix ms
  to: number;
  online: boolean | null; // null: not known (before the first recorded change)
}

// The timeline of the last day as spans of one state, oldest first.
export function presenceSpans(p: Presence, fromMs: number, toMs: number, onlineNow: boolean): Span[] {
  const spans: Span[] = [];
  let at = fromMs;
  let state: boolean | null = p.online_at_since;
  for (const c of p.items) {
    const t = Math.min(Math.max(Date.parse(c.ts), fromMs), toMs);
    if (t > at) spans.push({ from: at, to: t, online: state });
    at = Math.max(at, t);
    state = c.online;
  }
  // After the last change read: its state, unless changes were left unread (then unknown).
  const last = p.more ? null : p.items.length > 0 || state !== null ? state : onlineNow;
  if (toMs > at) spans.push({ from: at, to: toMs, online: last });
  return spans;
}

// "1.5 MB/s", "12 kB": decimal units, as network tools print them.
export function formatBytes(n: number | null | undefined, perSecond = false): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  const text = u === 0 ? String(Math.round(v)) : v.toFixed(v < 10 ? 1 : 0);
  return `${text} ${units[u]}${perSecond ? '/s' : ''}`;
}
