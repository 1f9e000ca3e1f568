// The device routes the Fleet page uses (docs/api.md, "GET /api/v1/devices"; docs/tasks.md for
// tags and groups), over the ApiClient of api.ts.
import { ApiClient, Device, DevicePage } from './api';

export type DeviceState = Device['state'];
export const kDeviceStates: DeviceState[] = ['pending', 'accepted', 'rejected', 'revoked'];

export type SortKey = 'hostname' | 'state' | 'version' | 'last_seen' | 'id';
export interface Sort {
  key: SortKey;
  descending: boolean;
}
export const kDefaultSort: Sort = { key: 'id', descending: false };

export interface DeviceQuery {
  q: string;
  states: DeviceState[];
  online: '' | 'true' | 'false';
  selector: string;
  group: string; // a group id
  version: string;
  sort: Sort;
}

export const kNoFilter: DeviceQuery = { q: '', states: [], online: '', selector: '', group: '', version: '', sort: kDefaultSort };

// Devices read per request while scrolling.
export const kPageSize = 250;

export function isFiltered(q: DeviceQuery): boolean {
  return q.q.trim() !== '' || q.states.length > 0 || q.online !== '' || q.selector.trim() !== '' || q.group !== '' || q.version !== '';
}

// The query string of one page: only the parameters in use, in a stable order. The list shows no
// inventory or telemetry, so it asks for the summary view (a tenth of the bytes).
export function deviceQueryString(q: DeviceQuery, cursor: string | null, limit = kPageSize): string {
  const p = new URLSearchParams();
  p.set('limit', String(limit));
  p.set('view', 'summary');
  if (q.q.trim()) p.set('q', q.q.trim());
  if (q.states.length) p.set('state', q.states.join(','));
  if (q.online) p.set('online', q.online);
  if (q.selector.trim()) p.set('selector', q.selector.trim());
  if (q.group) p.set('group', q.group);
  if (q.version) p.set('version', q.version);
  if (q.sort.key !== 'id' || q.sort.descending) p.set('sort', (q.sort.descending ? '-' : '') + q.sort.key);
  if (cursor) p.set('cursor', cursor);
  return p.toString();
}

export function listDevices(api: ApiClient, q: DeviceQuery, cursor: string | null, limit = kPageSize): Promise<DevicePage> {
  return api.request<DevicePage>('GET', '/api/v1/devices?' + deviceQueryString(q, cursor, limit));
}

export interface Facets {
  versions: string[];
  tags: Record<string, string[]>;
  truncated: boolean;
}

export function deviceFacets(api: ApiClient): Promise<Facets> {
  return api.request<Facets>('GET', '/api/v1/devices/facets');
}

export interface Group {
  id: string;
  name: string;
  kind: 'static' | 'dynamic';
}

export async function listGroups(api: ApiClient): Promise<Group[]> {
  const page = await api.request<{ items: Group[] }>('GET', '/api/v1/groups');
  return page.items;
}

export type Decision = 'accept' | 'reject' | 'revoke';

export function decide(api: ApiClient, id: string, decision: Decision): Promise<{ device_id: string; state: DeviceState }> {
  return api.request('POST', `/api/v1/devices/${encodeURIComponent(id)}/${decision}`);
}

export function setTags(api: ApiClient, id: string, tags: string[]): Promise<{ id: string; tags: string[] }> {
  return api.request('PUT', `/api/v1/devices/${encodeURIComponent(id)}/tags`, { tags });
}

// "site=paris, gpu" or one per line → ["site=paris", "gpu"]; the server checks each.
export function parseTagList(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

export function agentVersion(d: Device): string {
  if (typeof d.agent_version === 'string' && d.agent_version) return d.agent_version;
  const v = d.inventory?.['agent_version'];
  return typeof v === 'string' && v ? v : '—';
}
