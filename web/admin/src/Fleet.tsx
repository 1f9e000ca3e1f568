import { useCallback, useEffect, useState } from 'react';
import { ApiClient, ApiError, Device } from './api';

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

const kRefreshMs = 10000;

export function Fleet({ api }: { api: ApiClient }) {
  const [devices, setDevices] = useState<Device[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setDevices(await api.allDevices());
      setError(null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return; // the app shows the sign-in page
      setError(e instanceof Error ? e.message : String(e));
    }
  }, [api]);

  useEffect(() => {
    void load();
    // TODO: live state over server-sent events instead of polling (issue 7, point 2).
    const timer = window.setInterval(() => void load(), kRefreshMs);
    return () => window.clearInterval(timer);
  }, [load]);

  const counts = devices ? countDevices(devices) : null;
  return (
    <section aria-labelledby="fleet-title">
      <div className="page-head">
        <h1 id="fleet-title">Fleet</h1>
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
