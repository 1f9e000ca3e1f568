import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiClient, ApiError, applyDeviceEvent, Device, DeviceCounts, DeviceEvent, kDeviceEventsPath } from './api';
import { withTenant } from './tenant';

export interface Counts {
  total: number;
  online: number;
  offline: number;
  pending: number;
}

// Online and offline count accepted devices only; pending ones wait for an operator.
export function countDevices(devices: Device[]): Counts {
  const c: Counts = { total: devices.length, online: 0, offline: 0, pending: 0 };
  for (const d of devices) {
    if (d.state === 'pending') c.pending++;
    else if (d.state === 'accepted') d.online ? c.online++ : c.offline++;
  }
  return c;
}

function when(iso: string | null): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

function agentVersion(d: Device): string {
  const v = d.inventory?.['agent_version'];
  return typeof v === 'string' ? v : '—';
}

// Reconnecting the event stream after it dropped: 1 s, doubled each failure, at most 30 s.
export const kRetryFirstMs = 1000;
export const kRetryMaxMs = 30000;

type Live = 'connecting' | 'live' | 'reconnecting';

export function Fleet({ api }: { api: ApiClient }) {
  const [devices, setDevices] = useState<Device[] | null>(null);
  const [serverCounts, setServerCounts] = useState<DeviceCounts | null>(null);
  const [live, setLive] = useState<Live>('connecting');
  const [error, setError] = useState<string | null>(null);
  const loading = useRef(false);
  const shown = useRef<Device[] | null>(null);
  shown.current = devices;

  const load = useCallback(async () => {
    loading.current = true;
    try {
      setDevices(await api.allDevices());
      setError(null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return; // the app shows the sign-in page
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      loading.current = false;
    }
  }, [api]);

  // Live state: rows and counts change in place as the server pushes them (docs/api.md,
  // "GET /api/v1/devices/events"); nothing is polled. The list is read once, and again after
  // each reconnection (changes in between were not seen) or for a device it does not hold yet.
  useEffect(() => {
    void load();
    if (typeof EventSource === 'undefined') return undefined;
    let source: EventSource | null = null;
    let retry: number | undefined;
    let failures = 0;
    let connections = 0;
    let stopped = false;
    const connect = () => {
      const es = new EventSource(withTenant(kDeviceEventsPath), { withCredentials: true });
      source = es;
      connections++;
      let first = true;
      es.addEventListener('counts', (m) => {
        failures = 0;
        setLive('live');
        setServerCounts(JSON.parse((m as MessageEvent<string>).data) as DeviceCounts);
        if (first && connections > 1) void load();
        first = false;
      });
      es.addEventListener('device', (m) => {
        const e = JSON.parse((m as MessageEvent<string>).data) as DeviceEvent;
        const known = shown.current;
        if (known !== null && !known.some((d) => d.id === e.id)) {
          if (!loading.current) void load(); // a new device: the list has more to say of it
          return;
        }
        setDevices((prev) => (prev === null ? prev : (applyDeviceEvent(prev, e) ?? prev)));
      });
      es.onerror = () => {
        // The browser would retry by itself after a network error but not after an HTTP error
        // (401, 503): retry both here, with backoff.
        es.close();
        if (stopped) return;
        setLive('reconnecting');
        const wait = Math.min(kRetryMaxMs, kRetryFirstMs * 2 ** failures);
        failures++;
        retry = window.setTimeout(connect, wait);
      };
    };
    connect();
    return () => {
      stopped = true;
      source?.close();
      if (retry !== undefined) window.clearTimeout(retry);
    };
  }, [load]);

  // The server's counts once the stream sent them; until then those of the list.
  const counts = serverCounts ?? (devices ? countDevices(devices) : null);
  return (
    <section aria-labelledby="fleet-title">
      <div className="page-head">
        <h1 id="fleet-title">Fleet</h1>
        <span className={'live ' + live} data-testid="live">
          {live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
        </span>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {counts && (
        <ul className="counts" aria-label="Device counts">
          <li>
            <span className="count" data-testid="count-online">{counts.online}</span> online
          </li>
          <li>
            <span className="count" data-testid="count-offline">{counts.offline}</span> offline
          </li>
          <li>
            <span className="count" data-testid="count-pending">{counts.pending}</span> pending
          </li>
          <li>
            <span className="count">{counts.total}</span> in all
          </li>
        </ul>
      )}
      {devices === null && !error && <p role="status">Loading devices…</p>}
      {devices !== null && devices.length === 0 && (
        <div className="empty">
          <p>No devices yet.</p>
          <p>
            To enrol one, make an enrolment token (<code>hecsctl tokens create</code>, or{' '}
            <code>POST /api/v1/enrollment-tokens</code>), put the <code>hecs-enroll.yaml</code> it
            prints on the node, and start <code>hecs-agent</code> there. The node appears here once it
            has enrolled.
          </p>
        </div>
      )}
      {devices !== null && devices.length > 0 && (
        <div className="table-wrap">
          <table className="devices">
            <caption className="visually-hidden">Devices of this tenant</caption>
            <thead>
              <tr>
                <th scope="col">Host name</th>
                <th scope="col">Status</th>
                <th scope="col">State</th>
                <th scope="col">Agent</th>
                <th scope="col">Last seen</th>
                <th scope="col">Tags</th>
                <th scope="col">Device id</th>
              </tr>
            </thead>
            <tbody>
              {devices.map((d) => (
                <tr key={d.id} data-device={d.id}>
                  <td>{d.hostname || '—'}</td>
                  <td>
                    <span className={d.online ? 'badge online' : 'badge offline'}>
                      {d.online ? 'online' : 'offline'}
                    </span>
                  </td>
                  <td>{d.state}</td>
                  <td>{agentVersion(d)}</td>
                  <td>{when(d.last_seen)}</td>
                  <td>{d.tags.join(', ') || '—'}</td>
                  <td>
                    <code>{d.id}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
