import { MouseEvent, UIEvent, useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { ApiClient, ApiError, applyDeviceEvent, Device, DeviceCounts, DeviceEvent, kDeviceEventsPath, Role, roleAtLeast } from './api';
import { deviceName, RevokeDialog, TagsDialog } from './DeviceDialogs';
import {
  agentVersion, decide, Decision, deviceFacets, DeviceQuery, Facets, Group, isFiltered, kNoFilter, listDevices, listGroups, SortKey,
} from './devicesApi';
import { FleetFilters } from './FleetFilters';
import { navigate } from './router';
import { withTenant } from './tenant';
import { rowWindow } from './virtualRows';
import './fleet.css';

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

function message(e: unknown): string | null {
  if (e instanceof ApiError && e.status === 401) return null; // the app shows the sign-in page
  return e instanceof Error ? e.message : String(e);
}

// Reconnecting the event stream after it dropped: 1 s, doubled each failure, at most 30 s.
export const kRetryFirstMs = 1000;
export const kRetryMaxMs = 30000;
// Rows are this tall (fleet.css), which lets the list render only the visible ones.
export const kRowHeight = 40;
// The next page is read when fewer rows than this are left below the viewport.
export const kPrefetchRows = 100;
// An event of a device the list does not hold reads the list again, at most this often.
export const kReloadGapMs = 2000;

type Live = 'connecting' | 'live' | 'reconnecting';

interface List {
  items: Device[];
  next: string | null;
  total: number;
}

const kColumns: { key: SortKey | null; label: string }[] = [
  { key: 'hostname', label: 'Host name' },
  { key: null, label: 'Status' },
  { key: 'state', label: 'State' },
  { key: 'version', label: 'Agent' },
  { key: 'last_seen', label: 'Last seen' },
  { key: null, label: 'Tags' },
  { key: 'id', label: 'Device id' },
];

// The Actions column follows this one (State).
const kActionsAfter = 2;

type Dialog = { kind: 'revoke' | 'tags'; device: Device } | null;

// The devices list (docs/admin-panel.md, "Fleet"): filters and sorts run on the server, pages of
// kPageSize are read as the user scrolls, and only the visible rows are rendered.
export function Fleet({ api, role = 'viewer' }: { api: ApiClient; role?: Role }) {
  const [query, setQuery] = useState<DeviceQuery>(kNoFilter);
  const [list, setList] = useState<List | null>(null);
  const [serverCounts, setServerCounts] = useState<DeviceCounts | null>(null);
  const [live, setLive] = useState<Live>('connecting');
  const [error, setError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [facets, setFacets] = useState<Facets | null>(null);
  const [groups, setGroups] = useState<Group[] | null>(null);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(0);
  const scroller = useRef<HTMLDivElement>(null);
  const generation = useRef(0); // bumped by each new first page: older answers are dropped
  const fetching = useRef(false);
  const shown = useRef<List | null>(null);
  shown.current = list;

  // keepScroll: a refresh of the same query in the background (events, reconnection).
  const loadFirst = useCallback(async (keepScroll = false) => {
    const gen = ++generation.current;
    fetching.current = true;
    try {
      const page = await listDevices(api, query, null);
      if (gen !== generation.current) return;
      setList({ items: page.items, next: page.next_cursor, total: page.total });
      setError(null);
      if (keepScroll) return;
      if (scroller.current) scroller.current.scrollTop = 0;
      setScrollTop(0);
    } catch (e) {
      if (gen !== generation.current) return;
      const m = message(e);
      if (m) setError(m);
      setList((old) => old ?? { items: [], next: null, total: 0 });
    } finally {
      if (gen === generation.current) fetching.current = false;
    }
  }, [api, query]);

  const loadMore = useCallback(async () => {
    const cur = shown.current;
    if (!cur?.next || fetching.current) return;
    const gen = generation.current;
    fetching.current = true;
    try {
      const page = await listDevices(api, query, cur.next);
      if (gen !== generation.current) return;
      setList((old) => {
        if (!old) return old;
        const have = new Set(old.items.map((d) => d.id));
        return { items: [...old.items, ...page.items.filter((d) => !have.has(d.id))], next: page.next_cursor, total: page.total };
      });
      setError(null);
    } catch (e) {
      if (gen !== generation.current) return;
      const m = message(e);
      if (m) setError(m);
    } finally {
      if (gen === generation.current) fetching.current = false;
    }
  }, [api, query]);

  const loadFacets = useCallback(() => {
    deviceFacets(api).then(setFacets, () => setFacets({ versions: [], tags: {}, truncated: false }));
    listGroups(api).then(setGroups, () => setGroups([]));
  }, [api]);

  useEffect(() => {
    void loadFirst();
  }, [loadFirst]);
  useEffect(loadFacets, [loadFacets]);
  const reload = useRef(() => loadFirst(true));
  reload.current = () => loadFirst(true);

  // Live state: loaded rows and the counts change in place as the server pushes them
  // (docs/api.md, "GET /api/v1/devices/events"); nothing is polled. The first page is read again
  // after each reconnection (changes in between were not seen) and, at most every kReloadGapMs,
  // for a device the list does not hold although it was read to its end.
  useEffect(() => {
    if (typeof EventSource === 'undefined') return undefined;
    let source: EventSource | null = null;
    let retry: number | undefined;
    let pendingReload: number | undefined;
    let lastReload = 0;
    let failures = 0;
    let connections = 0;
    let stopped = false;
    const reloadSoon = () => {
      if (pendingReload !== undefined) return;
      const wait = Math.max(0, lastReload + kReloadGapMs - Date.now());
      pendingReload = window.setTimeout(() => {
        pendingReload = undefined;
        lastReload = Date.now();
        void reload.current();
      }, wait);
    };
    const connect = () => {
      const es = new EventSource(withTenant(kDeviceEventsPath), { withCredentials: true });
      source = es;
      connections++;
      let first = true;
      es.addEventListener('counts', (m) => {
        failures = 0;
        setLive('live');
        setServerCounts(JSON.parse((m as MessageEvent<string>).data) as DeviceCounts);
        if (first && connections > 1) void reload.current();
        first = false;
      });
      es.addEventListener('device', (m) => {
        const e = JSON.parse((m as MessageEvent<string>).data) as DeviceEvent;
        const known = shown.current;
        if (known === null) return;
        if (!known.items.some((d) => d.id === e.id)) {
          if (known.next === null) reloadSoon(); // rows not read yet arrive with their state
          return;
        }
        setList((prev) => (prev === null ? prev : { ...prev, items: applyDeviceEvent(prev.items, e) ?? prev.items }));
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
      if (pendingReload !== undefined) window.clearTimeout(pendingReload);
    };
  }, []);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return undefined;
    const measure = () => setViewport(el.clientHeight);
    measure();
    if (typeof ResizeObserver === 'undefined') {
      window.addEventListener('resize', measure);
      return () => window.removeEventListener('resize', measure);
    }
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [list !== null && list.items.length > 0]);

  const items = list?.items ?? [];
  // The scroll height is the whole list's (total rows), not the rows loaded so far, so that the
  // scrollbar says where the view is; rows not read yet show as one "Loading" placeholder while
  // the pages up to them are read, one after the other.
  const count = list?.next ? Math.max(items.length, list.total) : items.length;
  const win = rowWindow(scrollTop, viewport, kRowHeight, count);
  const missing = Math.max(0, win.end - Math.max(win.start, items.length));
  useEffect(() => {
    if (list?.next && win.end >= list.items.length - kPrefetchRows) void loadMore();
  }, [win.end, list, loadMore]);

  const onScroll = (e: UIEvent<HTMLDivElement>) => setScrollTop(e.currentTarget.scrollTop);
  const changeQuery = useCallback((q: DeviceQuery) => setQuery(q), []);
  const sortBy = (key: SortKey) =>
    setQuery((q) => ({ ...q, sort: { key, descending: q.sort.key === key ? !q.sort.descending : false } }));

  const patch = (id: string, change: Partial<Device>) =>
    setList((prev) => (prev === null ? prev : { ...prev, items: prev.items.map((d) => (d.id === id ? { ...d, ...change } : d)) }));
  const act = async (d: Device, decision: Decision) => {
    try {
      const r = await decide(api, d.id, decision);
      patch(d.id, { state: r.state });
      setActionError(null);
    } catch (e) {
      const m = message(e);
      if (m) setActionError(`Could not ${decision} ${deviceName(d)}: ${m}`);
    }
  };
  const follow = (e: MouseEvent<HTMLAnchorElement>, to: string) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };

  const canDecide = roleAtLeast(role, 'admin');
  const canTag = roleAtLeast(role, 'operator');
  const showActions = canDecide || canTag;
  const filtered = isFiltered(query);
  // The server's counts once the stream sent them; until then those of a complete, unfiltered list.
  const counts = serverCounts ?? (list && list.next === null && !filtered ? countDevices(list.items) : null);
  return (
    <section aria-labelledby="fleet-title" className="fleet">
      <div className="page-head">
        <h1 id="fleet-title">Fleet</h1>
        <span className={'live ' + live} data-testid="live">
          {live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
        </span>
        <button
          type="button"
          onClick={() => {
            void loadFirst();
            loadFacets();
          }}
        >
          Refresh
        </button>
      </div>
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
      <FleetFilters query={query} onChange={changeQuery} facets={facets} groups={groups} />
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {actionError && (
        <p className="error" role="alert">
          {actionError}
        </p>
      )}
      {list === null && !error && <p role="status">Loading devices…</p>}
      {list !== null && items.length === 0 && !filtered && !error && (
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
      {list !== null && items.length === 0 && filtered && !error && (
        <div className="empty">
          <p>No device matches these filters.</p>
          <button type="button" onClick={() => setQuery({ ...kNoFilter, sort: query.sort })}>
            Clear filters
          </button>
        </div>
      )}
      {list !== null && items.length > 0 && (
        <>
          <p className="match-count" aria-live="polite">
            {list.total === 1 ? '1 device' : `${list.total} devices`}
            {filtered ? ' match' : ''}
            {items.length < list.total ? ` (${items.length} loaded)` : ''}
          </p>
          <div className="fleet-scroll" ref={scroller} onScroll={onScroll} tabIndex={0} role="region" aria-label="Device list, scrollable">
            <table className="devices fleet-table" aria-rowcount={list.total + 1}>
              <caption className="visually-hidden">Devices</caption>
              <thead>
                <tr aria-rowindex={1}>
                  {kColumns.map((c, at) => {
                    const sorted = c.key !== null && query.sort.key === c.key;
                    const head = (
                      <th
                        key={c.label}
                        scope="col"
                        aria-sort={c.key === null ? undefined : sorted ? (query.sort.descending ? 'descending' : 'ascending') : 'none'}
                      >
                        {c.key === null ? (
                          c.label
                        ) : (
                          <button type="button" className="sort" onClick={() => sortBy(c.key as SortKey)}>
                            {c.label}
                            <span aria-hidden="true" className="sort-mark">
                              {sorted ? (query.sort.descending ? ' ▼' : ' ▲') : ''}
                            </span>
                          </button>
                        )}
                      </th>
                    );
                    // Actions right after State: visible without scrolling sideways at 1280 px.
                    return at === kActionsAfter && showActions ? [head, <th key="actions" scope="col">Actions</th>] : head;
                  })}
                </tr>
              </thead>
              <tbody>
                {win.before > 0 && (
                  <tr className="spacer" aria-hidden="true">
                    <td colSpan={8} style={{ height: win.before }} />
                  </tr>
                )}
                {items.slice(win.start, Math.min(win.end, items.length)).map((d, i) => (
                  <tr key={d.id} data-device={d.id} aria-rowindex={win.start + i + 2}>
                    <td>
                      <a href={'/fleet/' + d.id} onClick={(e) => follow(e, '/fleet/' + d.id)}>
                        {d.hostname || '—'}
                      </a>
                    </td>
                    <td>
                      <span className={d.online ? 'badge online' : 'badge offline'}>{d.online ? 'online' : 'offline'}</span>
                    </td>
                    <td>{d.state}</td>
                    {showActions && (
                      <td className="actions">
                        {canDecide && d.state === 'pending' && (
                          <>
                            <button type="button" aria-label={`Accept ${deviceName(d)}`} onClick={() => void act(d, 'accept')}>
                              Accept
                            </button>
                            <button type="button" aria-label={`Reject ${deviceName(d)}`} onClick={() => void act(d, 'reject')}>
                              Reject
                            </button>
                          </>
                        )}
                        {canDecide && (d.state === 'pending' || d.state === 'accepted') && (
                          <button type="button" aria-label={`Revoke ${deviceName(d)}`} onClick={() => setDialog({ kind: 'revoke', device: d })}>
                            Revoke…
                          </button>
                        )}
                        {canTag && (
                          <button type="button" aria-label={`Edit tags of ${deviceName(d)}`} onClick={() => setDialog({ kind: 'tags', device: d })}>
                            Tags…
                          </button>
                        )}
                      </td>
                    )}
                    <td>{agentVersion(d)}</td>
                    <td>{when(d.last_seen)}</td>
                    <td className="tags" title={d.tags.join(', ')}>
                      {d.tags.join(', ') || '—'}
                    </td>
                    <td>
                      <code>{d.id}</code>
                    </td>
                  </tr>
                ))}
                {missing > 0 && (
                  <tr className="loading-rows">
                    <td colSpan={8} style={{ height: missing * kRowHeight }}>
                      <span role="status">
                        Loading devices {Math.max(win.start, items.length) + 1}–{win.end} of {count}…
                      </span>
                    </td>
                  </tr>
                )}
                {win.after > 0 && (
                  <tr className="spacer" aria-hidden="true">
                    <td colSpan={8} style={{ height: win.after }} />
                  </tr>
                )}
              </tbody>
            </table>
          </div>
        </>
      )}
      {dialog?.kind === 'revoke' && (
        <RevokeDialog
          api={api}
          device={dialog.device}
          onClose={() => setDialog(null)}
          onDone={(state) => {
            patch(dialog.device.id, { state });
            setDialog(null);
          }}
        />
      )}
      {dialog?.kind === 'tags' && (
        <TagsDialog
          api={api}
          device={dialog.device}
          onClose={() => setDialog(null)}
          onDone={(tags) => {
            patch(dialog.device.id, { tags });
            setDialog(null);
            loadFacets();
          }}
        />
      )}
    </section>
  );
}
