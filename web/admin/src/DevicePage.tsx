// One device (docs/admin-panel.md "Device page"): inventory, tags, state, online now and over
// the last day, and telemetry charts for the last hour or day. The charts module (uPlot) is
// loaded lazily; the online state follows the devices' event stream.
import { lazy, MouseEvent, Suspense, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiClient, ApiError, Device, DeviceEvent, kDeviceEventsPath } from './api';
import { withTenant } from './tenant';
import type { ChartLine } from './Chart';
import {
  formatBytes, getDevice, getPresence, getSeries, kDayMs, kRanges, mergeSeries, Presence, presenceSpans, Range, SeriesPoint,
} from './deviceHistoryApi';
import { Inventory } from './DeviceInventory';
import { navigate } from './router';

const Chart = lazy(() => import('./Chart').then((m) => ({ default: m.Chart })));

export type EventSourceFactory = (url: string) => EventSource;
const defaultEventSource: EventSourceFactory | null =
  typeof EventSource === 'undefined' ? null : (url) => new EventSource(url, { withCredentials: true });

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function percent(v: number | null): string {
  return v === null || v === undefined ? '—' : `${v.toFixed(1)} %`;
}

function celsius(v: number | null): string {
  return v === null || v === undefined ? '—' : `${v.toFixed(1)} °C`;
}

function rate(v: number | null): string {
  return formatBytes(v, true);
}

function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

interface ChartSpec {
  key: string;
  title: string;
  lines: { label: string; pick: (p: SeriesPoint) => number | null; colour: string }[];
  format: (v: number | null) => string;
  yMax?: number;
}

const kCharts: ChartSpec[] = [
  { key: 'cpu', title: 'CPU', lines: [{ label: 'CPU', pick: (p) => p.cpu_percent, colour: '#0b5cad' }], format: percent, yMax: 100 },
  { key: 'memory', title: 'Memory used', lines: [{ label: 'Memory', pick: (p) => p.memory_percent, colour: '#8250df' }], format: percent, yMax: 100 },
  { key: 'disk', title: 'Disk used', lines: [{ label: 'Disk', pick: (p) => p.disk_percent, colour: '#116329' }], format: percent, yMax: 100 },
  { key: 'temperature', title: 'Temperature', lines: [{ label: 'Temperature', pick: (p) => p.temperature_c, colour: '#a40e26' }], format: celsius },
  {
    key: 'network', title: 'Network', format: rate,
    lines: [
      { label: 'Received', pick: (p) => p.rx_bytes_per_s, colour: '#0b5cad' },
      { label: 'Sent', pick: (p) => p.tx_bytes_per_s, colour: '#bc4c00' },
    ],
  },
];

// The newest value of a line, for the caption that says what the chart shows.
function latest(points: SeriesPoint[], pick: (p: SeriesPoint) => number | null): number | null {
  for (let i = points.length - 1; i >= 0; i--) {
    const v = pick(points[i]);
    if (v !== null && v !== undefined) return v;
  }
  return null;
}

function PresenceBar({ presence, device, now }: { presence: Presence; device: Device; now: number }) {
  const from = now - kDayMs;
  const spans = presenceSpans(presence, from, now, device.online);
  const onlineMs = spans.filter((s) => s.online === true).reduce((n, s) => n + (s.to - s.from), 0);
  const changes = presence.items.length;
  const label = `Online ${Math.round((onlineMs / kDayMs) * 100)} % of the last 24 hours, ${changes} change${changes === 1 ? '' : 's'}`;
  return (
    <div>
      <div className="timeline" role="img" aria-label={label}>
        {spans.map((s) => (
          <span
            key={s.from}
            className={'span ' + (s.online === null ? 'unknown' : s.online ? 'online' : 'offline')}
            style={{ width: `${((s.to - s.from) / kDayMs) * 100}%` }}
            title={`${s.online === null ? 'unknown' : s.online ? 'online' : 'offline'} from ${new Date(s.from).toLocaleString()}`}
          />
        ))}
      </div>
      <div className="timeline-axis muted" aria-hidden="true">
        <span>24 h ago</span>
        <span>now</span>
      </div>
      <p className="muted">{label}.</p>
      {presence.more && (
        <p className="muted" role="note">
          More changes than the {changes} read: the bar is grey after the last of them.
        </p>
      )}
      {changes > 0 && (
        <details>
          <summary>Changes in the last day</summary>
          <ul>
            {presence.items.map((c, i) => (
              <li key={i}>
                {when(c.ts)}: {c.online ? 'online' : 'offline'}
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

export function DevicePage({ api, id, eventSource = defaultEventSource }: {
  api: ApiClient; id: string; eventSource?: EventSourceFactory | null;
}) {
  const [device, setDevice] = useState<Device | null>(null);
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [presence, setPresence] = useState<Presence | null>(null);
  const [range, setRange] = useState<Range>('hour');
  const [points, setPoints] = useState<SeriesPoint[] | null>(null);
  const [chartError, setChartError] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const lastRead = useRef<number | null>(null);

  const loadDevice = useCallback(async () => {
    try {
      setDevice(await getDevice(api, id));
      setError(null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      if (e instanceof ApiError && e.status === 404) setMissing(true);
      else setError(message(e));
    }
  }, [api, id]);

  const loadPresence = useCallback(async () => {
    try {
      const t = Date.now();
      setPresence(await getPresence(api, id, t - kDayMs));
      setNow(t);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 404)) return;
      setError(message(e));
    }
  }, [api, id]);

  useEffect(() => {
    void loadDevice();
    void loadPresence();
  }, [loadDevice, loadPresence]);

  // The whole range when it changes, then only its newest buckets every refreshMs while the
  // page is visible (the last bucket grows as samples arrive).
  useEffect(() => {
    const r = kRanges[range];
    let stopped = false;
    lastRead.current = null;
    setPoints(null);
    setChartError(null);
    const read = async () => {
      const t = Date.now();
      // A read after a long pause (a tab hidden for hours) starts the range again.
      const first = lastRead.current === null || lastRead.current < t - r.spanMs;
      const since = first ? t - r.spanMs : (lastRead.current as number);
      try {
        const s = await getSeries(api, id, since, r.stepMs);
        if (stopped) return;
        const from = Date.parse(s.since);
        setPoints((old) => (old === null || first ? s.items : mergeSeries(old, s.items, from, t - r.spanMs)));
        const last = s.items.at(-1);
        lastRead.current = last ? Date.parse(last.ts) : from;
        setChartError(null);
      } catch (e) {
        if (stopped || (e instanceof ApiError && (e.status === 401 || e.status === 404))) return;
        setChartError(message(e));
      }
    };
    void read();
    const timer = window.setInterval(() => {
      if (document.visibilityState === 'visible') void read();
    }, r.refreshMs);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, [api, id, range]);

  // Online now: the devices' event stream says when this one changes (docs/api.md).
  useEffect(() => {
    if (!eventSource) return undefined;
    const es = eventSource(withTenant(kDeviceEventsPath));
    es.addEventListener('device', (m) => {
      const e = JSON.parse((m as MessageEvent<string>).data) as DeviceEvent;
      if (e.id !== id) return;
      setDevice((d) => (d ? { ...d, online: e.online, hostname: e.hostname, state: e.state, last_seen: e.last_seen } : d));
      void loadPresence();
    });
    return () => es.close();
  }, [eventSource, id, loadPresence]);

  const x = useMemo(() => (points ?? []).map((p) => Date.parse(p.ts) / 1000), [points]);
  const lines = useMemo(
    () => kCharts.map((c) => c.lines.map((l): ChartLine => ({ label: l.label, colour: l.colour, values: (points ?? []).map(l.pick) }))),
    [points],
  );

  const back = (e: MouseEvent<HTMLAnchorElement>) => {
    e.preventDefault();
    navigate('/fleet');
  };

  if (missing) {
    return (
      <section aria-labelledby="page-title">
        <h1 id="page-title">No such device</h1>
        <p>
          There is no device <code>{id}</code> in this tenant: it may have been removed, or the link is wrong.
        </p>
        <p>
          <a href="/fleet" onClick={back}>Back to the fleet</a>
        </p>
      </section>
    );
  }

  const rangeName = kRanges[range].label.toLowerCase();
  return (
    <section aria-labelledby="page-title" className="device-page">
      <p className="crumbs">
        <a href="/fleet" onClick={back}>Fleet</a> /
      </p>
      <div className="page-head">
        <h1 id="page-title">{device ? device.hostname || device.id : 'Device'}</h1>
        {device && (
          <span className={device.online ? 'badge online' : 'badge offline'} data-testid="device-online">
            {device.online ? 'online' : 'offline'}
          </span>
        )}
        <button type="button" onClick={() => { void loadDevice(); void loadPresence(); }}>
          Refresh
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {!device && !error && <p role="status">Loading device…</p>}
      {device && <Inventory device={device} />}

      <h2 id="presence-title">Online history</h2>
      {device && presence ? <PresenceBar presence={presence} device={device} now={now} /> : !error && <p role="status">Loading history…</p>}

      <div className="page-head">
        <h2 id="charts-title">Telemetry</h2>
        <div role="group" aria-label="Chart range" className="toggle">
          {(Object.keys(kRanges) as Range[]).map((r) => (
            <button key={r} type="button" aria-pressed={range === r} onClick={() => setRange(r)}>
              {kRanges[r].label}
            </button>
          ))}
        </div>
      </div>
      {chartError && (
        <p className="error" role="alert">
          {chartError}
        </p>
      )}
      {points === null && !chartError && <p role="status">Loading telemetry…</p>}
      {points !== null && points.length === 0 && (
        <p className="empty">
          No telemetry in the {rangeName}. The agent sends a sample every telemetry interval (30 s by default) while it is
          online; check that it runs and is connected.
        </p>
      )}
      {points !== null && points.length > 0 && (
        <div className="charts">
          {kCharts.map((c, i) => {
            const caption = c.lines.length === 1
              ? c.format(latest(points, c.lines[0].pick))
              : c.lines.map((l) => `${l.label} ${c.format(latest(points, l.pick))}`).join(', ');
            return (
              <figure key={c.key} className="chart-card">
                <figcaption>
                  <strong>{c.title}</strong> <span className="muted">latest: {caption}</span>
                </figcaption>
                <Suspense fallback={<p role="status">Loading chart…</p>}>
                  <Chart title={`${c.title}, ${rangeName}; latest ${caption}`} x={x} lines={lines[i]} format={c.format} yMax={c.yMax} spanS={kRanges[range].spanMs / 1000} />
                </Suspense>
              </figure>
            );
          })}
        </div>
      )}
    </section>
  );
}
