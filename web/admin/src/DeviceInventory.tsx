// The device page's inventory: what the device's latest hello says (docs/protocol.md "hello"),
// its enrolment state and tags. Fields the agent could not read show as "—".
import { Device } from './api';
import { formatBytes } from './deviceHistoryApi';

type Json = Record<string, unknown>;

function text(o: Json | null, key: string): string {
  const v = o?.[key];
  if (typeof v === 'string') return v || '—';
  if (typeof v === 'number') return String(v);
  return '—';
}

function list(o: Json | null, key: string): Json[] {
  const v = o?.[key];
  return Array.isArray(v) ? v.filter((x): x is Json => typeof x === 'object' && x !== null) : [];
}

function when(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined || iso === 0 || iso === '') return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

export function Inventory({ device }: { device: Device }) {
  const inv = device.inventory;
  const memory = inv?.['memory_bytes'];
  const boot = inv?.['boot_time'];
  const disks = list(inv, 'disks');
  const interfaces = list(inv, 'interfaces');
  return (
    <>
      <h2 id="inventory-title">Inventory</h2>
      {!inv && <p className="muted">The device has not said hello yet: its inventory shows once its agent connects.</p>}
      <dl className="summary" aria-labelledby="inventory-title">
        <dt>Host name</dt>
        <dd>{device.hostname || '—'}</dd>
        <dt>State</dt>
        <dd>{device.state}</dd>
        <dt>Tags</dt>
        <dd>
          {device.tags.length === 0 ? (
            '—'
          ) : (
            <ul className="tags" aria-label="Tags">
              {device.tags.map((t) => (
                <li key={t} className="badge tag">
                  {t}
                </li>
              ))}
            </ul>
          )}
        </dd>
        <dt>Operating system</dt>
        <dd>{text(inv, 'os')}</dd>
        <dt>Kernel</dt>
        <dd>{text(inv, 'kernel')}</dd>
        <dt>Architecture</dt>
        <dd>{text(inv, 'arch')}</dd>
        <dt>Model</dt>
        <dd>{text(inv, 'cpu_model')}</dd>
        <dt>CPUs</dt>
        <dd>{text(inv, 'cpu_count')}</dd>
        <dt>Memory</dt>
        <dd>{typeof memory === 'number' && memory > 0 ? formatBytes(memory) : '—'}</dd>
        <dt>Agent version</dt>
        <dd>{text(inv, 'agent_version')}</dd>
        <dt>Booted</dt>
        <dd>{typeof boot === 'number' ? when(boot) : '—'}</dd>
        <dt>First seen</dt>
        <dd>{when(device.first_seen)}</dd>
        <dt>Last seen</dt>
        <dd>{when(device.last_seen)}</dd>
        <dt>Device id</dt>
        <dd>
          <code>{device.id}</code>
        </dd>
      </dl>
      {disks.length > 0 && (
        <div className="table-wrap">
          <table className="devices">
            <caption>Disks</caption>
            <thead>
              <tr>
                <th scope="col">Mount</th>
                <th scope="col">Device</th>
                <th scope="col">File system</th>
                <th scope="col">Size</th>
              </tr>
            </thead>
            <tbody>
              {disks.map((d, i) => (
                <tr key={i}>
                  <td>{text(d, 'mount')}</td>
                  <td>{text(d, 'device')}</td>
                  <td>{text(d, 'fs_type')}</td>
                  <td>{typeof d['total_bytes'] === 'number' ? formatBytes(d['total_bytes']) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {interfaces.length > 0 && (
        <div className="table-wrap">
          <table className="devices">
            <caption>Network interfaces</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">MAC</th>
                <th scope="col">Addresses</th>
              </tr>
            </thead>
            <tbody>
              {interfaces.map((n, i) => {
                const addresses = Array.isArray(n['addresses']) ? (n['addresses'] as unknown[]).filter((a) => typeof a === 'string') : [];
                return (
                  <tr key={i}>
                    <td>{text(n, 'name')}</td>
                    <td>{text(n, 'mac')}</td>
                    <td>{addresses.join(', ') || '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
