import { MouseEvent, useCallback, useState } from 'react';
import { ApiClient, Role, roleAtLeast } from './api';
import { usePages } from './pages';
import { navigate } from './router';
import { RunForm } from './RunForm';
import {
  commandSummary, kOrigins, kTaskStates, listTasks, progressOf, shortId, Task, TaskFilter, TaskOrigin, TaskState, when,
} from './tasksApi';

export function follow(e: MouseEvent<HTMLAnchorElement>, to: string) {
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(to);
}

// The task history (GET /api/v1/tasks), newest first, with filters and "Load more"; the run
// form above it for operators and above.
export function Tasks({ api, role }: { api: ApiClient; role: Role }) {
  const [filter, setFilter] = useState<TaskFilter>({ states: [], origin: '' });
  const readPage = useCallback((after: string | null) => listTasks(api, filter, after), [api, filter]);
  const { items: tasks, next, loading, error, load } = usePages<Task>(readPage);

  const toggleState = (s: TaskState, on: boolean) =>
    setFilter((f) => ({ ...f, states: on ? kTaskStates.filter((x) => x === s || f.states.includes(x)) : f.states.filter((x) => x !== s) }));

  const canRun = roleAtLeast(role, 'operator');
  const filtered = filter.states.length > 0 || filter.origin !== '';
  return (
    <section aria-labelledby="tasks-title">
      <div className="page-head">
        <h1 id="tasks-title">Tasks</h1>
        <button type="button" onClick={() => void load(null)}>
          Refresh
        </button>
      </div>
      {canRun && <RunForm api={api} onCreated={(t) => navigate('/tasks/' + t.id)} />}
      <h2>History</h2>
      <div className="filters">
        <fieldset>
          <legend>State</legend>
          {kTaskStates.map((s) => (
            <label key={s}>
              <input type="checkbox" checked={filter.states.includes(s)} onChange={(e) => toggleState(s, e.target.checked)} /> {s}
            </label>
          ))}
        </fieldset>
        <label>
          Origin{' '}
          <select value={filter.origin} onChange={(e) => setFilter((f) => ({ ...f, origin: e.target.value as TaskOrigin | '' }))}>
            <option value="">any</option>
            {kOrigins.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </label>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {tasks === null && !error && <p role="status">Loading tasks…</p>}
      {tasks !== null && tasks.length === 0 && !filtered && (
        <div className="empty">
          <p>No tasks yet.</p>
          <p>
            {canRun ? (
              <>
                Run a first one with the form above: pick the devices (by id, a group or a tag selector), type a command
                such as <code>uname -a</code> and press Run.
              </>
            ) : (
              <>An operator runs tasks from this page, or with <code>hecsctl run</code>.</>
            )}{' '}
            Scripts can use <code>POST /api/v1/tasks</code> (docs/tasks.md).
          </p>
        </div>
      )}
      {tasks !== null && tasks.length === 0 && filtered && <p>No task matches these filters.</p>}
      {tasks !== null && tasks.length > 0 && (
        <div className="table-wrap">
          <table className="devices tasks">
            <caption className="visually-hidden">Tasks of this tenant, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">State</th>
                <th scope="col">Origin</th>
                <th scope="col">Created</th>
                <th scope="col">Runs done</th>
                <th scope="col">Command</th>
              </tr>
            </thead>
            <tbody>
              {tasks.map((t) => {
                const p = progressOf(t.total, t.counts);
                return (
                  <tr key={t.id} data-task={t.id}>
                    <td>
                      <a href={'/tasks/' + t.id} onClick={(e) => follow(e, '/tasks/' + t.id)} aria-label={'Task ' + t.id}>
                        <code>{shortId(t.id)}</code>
                      </a>
                    </td>
                    <td>
                      <span className={'badge task-' + t.state}>{t.state}</span>
                    </td>
                    <td>{t.origin ?? 'api'}</td>
                    <td>{when(t.created_at)}</td>
                    <td>
                      {`${p.done}/${p.total}`}
                      {p.failed > 0 && <span className="failures">{` (${p.failed} failed)`}</span>}
                    </td>
                    <td className="command">
                      <code>{commandSummary(t)}</code>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {next && (
        <button type="button" className="more" disabled={loading} onClick={() => void load(next)}>
          {loading ? 'Loading…' : 'Load more'}
        </button>
      )}
    </section>
  );
}
