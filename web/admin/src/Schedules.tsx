import { useCallback, useEffect, useState } from 'react';
import { ApiClient, ApiError, Role, roleAtLeast } from './api';
import { ScheduleForm } from './ScheduleForm';
import { deleteSchedule, listSchedules, Schedule, setScheduleEnabled, shortTime, targetSummary } from './schedulesApi';
import { commandSummary } from './tasksApi';
import './schedules.css';

function message(e: unknown): string | null {
  if (e instanceof ApiError && e.status === 401) return null; // the app shows the sign-in page
  return e instanceof Error ? e.message : String(e);
}

function Instant({ iso }: { iso: string | null }) {
  return iso ? (
    <time dateTime={iso} title={iso}>
      {shortTime(iso)}
    </time>
  ) : (
    <>—</>
  );
}

// The tenant's cron schedules (GET /api/v1/schedules): when each fires next and last fired,
// with pause/resume and delete (after a confirmation step) and the form to make one, for
// operators and above; viewers only read.
export function Schedules({ api, role }: { api: ApiClient; role: Role }) {
  const [items, setItems] = useState<Schedule[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [busyId, setBusyId] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const canChange = roleAtLeast(role, 'operator');

  const load = useCallback(async () => {
    try {
      const page = await listSchedules(api);
      setItems(page.items);
      setError(null);
    } catch (e) {
      const m = message(e);
      if (m) setError(m);
    }
  }, [api]);

  useEffect(() => {
    void load();
  }, [load]);

  async function act(id: string, work: () => Promise<unknown>) {
    setBusyId(id);
    setActionError(null);
    try {
      await work();
      await load();
    } catch (e) {
      const m = message(e);
      if (m) setActionError(m);
    } finally {
      setBusyId(null);
      setConfirming(null);
    }
  }

  return (
    <section aria-labelledby="schedules-title">
      <div className="page-head">
        <h1 id="schedules-title">Schedules</h1>
      </div>
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
      {items === null && !error && <p role="status">Loading schedules…</p>}
      {items !== null && items.length === 0 && (
        <p className="empty">
          No schedule yet.{' '}
          {canChange
            ? 'Fill in the form below: a name, a cron expression, the devices and the command.'
            : 'An operator can create one here, or with POST /api/v1/schedules.'}
        </p>
      )}
      {items !== null && items.length > 0 && (
        <div className="table-wrap">
          <table className="devices schedules">
            <caption className="visually-hidden">Schedules</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Cron, time zone</th>
                <th scope="col">Target, command</th>
                <th scope="col">State</th>
                <th scope="col">Next fire</th>
                <th scope="col">Last fire</th>
                {canChange && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.id}>
                  <td>{s.name}</td>
                  <td>
                    <code>{s.cron}</code>
                    <div className="muted">{s.timezone}</div>
                  </td>
                  <td>
                    {targetSummary(s.task)}
                    <div>
                      <code>{commandSummary({ spec: s.task as Record<string, unknown> | null })}</code>
                    </div>
                  </td>
                  <td>
                    <span className={s.enabled ? 'badge online' : 'badge offline'}>{s.enabled ? 'active' : 'paused'}</span>
                  </td>
                  <td className="when">{s.enabled ? <Instant iso={s.next_fire} /> : '—'}</td>
                  <td>
                    <Instant iso={s.last_fire} />
                    {s.last_error && <div className="run-error">{s.last_error}</div>}
                  </td>
                  {canChange && (
                    <td className="actions">
                      {confirming === s.id ? (
                        <span role="group" aria-label={`Confirm deleting ${s.name}`}>
                          Delete “{s.name}”?{' '}
                          <button type="button" className="small danger" disabled={busyId === s.id} onClick={() => void act(s.id, () => deleteSchedule(api, s.id))}>
                            Yes, delete
                          </button>{' '}
                          <button type="button" className="small secondary" onClick={() => setConfirming(null)}>
                            Keep
                          </button>
                        </span>
                      ) : (
                        <>
                          <button
                            type="button"
                            className="small"
                            disabled={busyId === s.id}
                            aria-label={`${s.enabled ? 'Pause' : 'Resume'} ${s.name}`}
                            onClick={() => void act(s.id, () => setScheduleEnabled(api, s.id, !s.enabled))}
                          >
                            {s.enabled ? 'Pause' : 'Resume'}
                          </button>{' '}
                          <button type="button" className="small secondary" aria-label={`Delete ${s.name}`} onClick={() => setConfirming(s.id)}>
                            Delete
                          </button>
                        </>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {canChange && <ScheduleForm api={api} onCreated={() => void load()} />}
    </section>
  );
}
