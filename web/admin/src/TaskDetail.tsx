import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiClient, ApiError, Role, roleAtLeast } from './api';
import { follow } from './Tasks';
import { withTenant } from './tenant';
import {
  allRuns, artifactUrl, cancelRun, cancelTask, commandSummary, eventsUrl, getTask, kFinalRunStates, progressOf, Run,
  RunState, Task, TaskState, when,
} from './tasksApi';

export interface Output {
  text: string;
  next: number; // the byte offset the next piece starts at
}

type Outputs = Record<string, { stdout: Output; stderr: Output }>;

const kEncoder = new TextEncoder();

// Adds an `output` event to what is shown; a piece seen already (a reconnected stream sends
// everything again) is skipped by its offset.
export function addOutput(outputs: Outputs, device: string, stream: 'stdout' | 'stderr', offset: number, data: string): Outputs {
  const cur = outputs[device] ?? { stdout: { text: '', next: 0 }, stderr: { text: '', next: 0 } };
  const s = cur[stream];
  if (offset < s.next) return outputs;
  const next = { text: s.text + data, next: offset + kEncoder.encode(data).length };
  return { ...outputs, [device]: { ...cur, [stream]: next } };
}

function duration(r: Run): string {
  if (!r.started_at) return '—';
  const start = new Date(r.started_at).getTime();
  const end = r.ended_at ? new Date(r.ended_at).getTime() : NaN;
  if (Number.isNaN(start) || Number.isNaN(end)) return r.state === 'running' ? 'running' : '—';
  const ms = end - start;
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function countsOf(runs: Run[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const r of runs) c[r.state] = (c[r.state] ?? 0) + 1;
  return c;
}

export type EventSourceFactory = (url: string) => EventSource;
const defaultEventSource: EventSourceFactory = (url) => new EventSource(url); // same origin: the cookie goes along

const kRefetchMs = 1000;

// One task: its summary, progress, runs and their output, live from the task's events.
export function TaskDetail({ api, role, id, eventSource = defaultEventSource }: {
  api: ApiClient; role: Role; id: string; eventSource?: EventSourceFactory;
}) {
  const [task, setTask] = useState<Task | null>(null);
  const [runs, setRuns] = useState<Run[] | null>(null);
  const [outputs, setOutputs] = useState<Outputs>({});
  const [hostnames, setHostnames] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [live, setLive] = useState<'connecting' | 'live' | 'ended' | 'lost'>('connecting');
  const refetchTimer = useRef<number | null>(null);

  const load = useCallback(async () => {
    try {
      const [t, r] = await Promise.all([getTask(api, id), allRuns(api, id)]);
      setTask(t);
      // Keep a state an event brought that is newer than the page (final beats non-final).
      setRuns((old) => {
        if (!old) return r;
        const seen = new Map(old.map((x) => [x.device, x]));
        return r.map((x) => {
          const o = seen.get(x.device);
          return o && kFinalRunStates.includes(o.state) && !kFinalRunStates.includes(x.state) ? { ...x, ...o } : x;
        });
      });
      setError(null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      setError(e instanceof Error ? e.message : String(e));
    }
  }, [api, id]);

  const refetchSoon = useCallback(() => {
    if (refetchTimer.current !== null) return;
    refetchTimer.current = window.setTimeout(() => {
      refetchTimer.current = null;
      void load();
    }, kRefetchMs);
  }, [load]);

  useEffect(() => {
    void load();
    api
      .allDevices(5000)
      .then((ds) => setHostnames(Object.fromEntries(ds.map((d) => [d.id, d.hostname]))))
      .catch(() => {}); // host names are a nicety; ids are shown without them
  }, [api, load]);

  useEffect(() => {
    setOutputs({});
    setLive('connecting');
    const source = eventSource(withTenant(eventsUrl(id)));
    const parse = (e: Event): Record<string, unknown> | null => {
      try {
        return JSON.parse((e as MessageEvent<string>).data) as Record<string, unknown>;
      } catch {
        return null;
      }
    };
    source.onopen = () => setLive('live');
    source.onerror = () => setLive((l) => (l === 'ended' ? l : 'lost')); // EventSource reconnects by itself
    source.addEventListener('task', (e) => {
      const d = parse(e);
      if (!d) return;
      setLive('live');
      setTask((t) => (t ? { ...t, state: d.state as TaskState, total: Number(d.total ?? t.total) } : t));
    });
    source.addEventListener('run', (e) => {
      const d = parse(e);
      if (!d || typeof d.device !== 'string') return;
      const device = d.device;
      setRuns((rs) => {
        const run: Run = {
          device,
          state: d.state as RunState,
          exit_code: (d.exit_code as number | null) ?? null,
          error: typeof d.error === 'string' ? d.error : '',
          truncated: Boolean(d.truncated),
        };
        if (!rs) return [run];
        return rs.some((r) => r.device === device) ? rs.map((r) => (r.device === device ? { ...r, ...run } : r)) : [...rs, run];
      });
      refetchSoon(); // times, artifacts and counts come with the full run
    });
    source.addEventListener('output', (e) => {
      const d = parse(e);
      if (!d || typeof d.device !== 'string' || typeof d.data !== 'string') return;
      const stream = d.stream === 'stderr' ? 'stderr' : 'stdout';
      setOutputs((o) => addOutput(o, d.device as string, stream, Number(d.offset ?? 0), d.data as string));
    });
    source.addEventListener('end', (e) => {
      const d = parse(e);
      source.close(); // else EventSource would connect again
      setLive('ended');
      if (d && typeof d.state === 'string') setTask((t) => (t ? { ...t, state: d.state as TaskState } : t));
      void load();
    });
    return () => {
      source.close();
      if (refetchTimer.current !== null) window.clearTimeout(refetchTimer.current);
      refetchTimer.current = null;
    };
  }, [id, eventSource, load, refetchSoon]);

  async function act(what: () => Promise<unknown>) {
    setActionError(null);
    try {
      await what();
      refetchSoon();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      setActionError(e instanceof Error ? e.message : String(e));
    }
  }

  // Fetched with the session's headers, then saved from memory (at most collect-logs' 8 MiB).
  async function download(device: string, name: string) {
    setActionError(null);
    try {
      const blob = await api.download(artifactUrl(id, device));
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      setActionError(e instanceof Error ? e.message : String(e));
    }
  }

  const canAct = roleAtLeast(role, 'operator');
  const total = task?.total ?? runs?.length ?? 0;
  const p = progressOf(total, runs ? countsOf(runs) : task?.counts);
  const running = task?.state === 'running' || (runs ?? []).some((r) => !kFinalRunStates.includes(r.state));
  return (
    <section aria-labelledby="task-title">
      <p>
        <a href="/tasks" onClick={(e) => follow(e, '/tasks')}>
          ← All tasks
        </a>
      </p>
      <div className="page-head">
        <h1 id="task-title">
          Task <code>{id.slice(0, 8)}</code>
        </h1>
        {canAct && task && running && (
          <button type="button" onClick={() => void act(() => cancelTask(api, id))}>
            Cancel task
          </button>
        )}
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
      {!task && !error && <p role="status">Loading the task…</p>}
      {task && (
        <>
          <dl className="summary">
            <dt>State</dt>
            <dd>
              <span className={'badge task-' + task.state} data-testid="task-state">
                {task.state}
              </span>{' '}
              <span className="muted">({live === 'live' ? 'live' : live === 'ended' ? 'complete' : live === 'lost' ? 'reconnecting…' : 'connecting…'})</span>
            </dd>
            <dt>Command</dt>
            <dd>
              <code>{commandSummary(task)}</code>
            </dd>
            <dt>Created</dt>
            <dd>
              {when(task.created_at)}
              {task.created_by ? ` by ${task.created_by}` : ''} ({task.origin ?? 'api'})
            </dd>
            <dt>Progress</dt>
            <dd data-testid="task-progress">
              {p.done} of {p.total} done, {p.succeeded} succeeded, {p.failed} failed
            </dd>
          </dl>
          <progress className="progress" max={Math.max(p.total, 1)} value={p.done} aria-label="Runs done">
            {p.done} of {p.total}
          </progress>
          <p className="muted">
            Id <code>{task.id}</code>
          </p>
        </>
      )}
      {runs && runs.length > 0 && (
        <div className="table-wrap">
          <table className="devices runs">
            <caption className="visually-hidden">Runs of this task, one per device</caption>
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">State</th>
                <th scope="col">Exit code</th>
                <th scope="col">Duration</th>
                <th scope="col">Output</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => {
                const out = outputs[r.device];
                const final = kFinalRunStates.includes(r.state);
                return (
                  <tr key={r.device} data-run={r.device}>
                    <td>
                      {hostnames[r.device] || <code>{r.device}</code>}
                      {hostnames[r.device] && (
                        <div className="muted">
                          <code>{r.device.slice(0, 8)}</code>
                        </div>
                      )}
                    </td>
                    <td>
                      <span className={'badge run-' + r.state} data-testid="run-state">
                        {r.state}
                      </span>
                      {r.error && <div className="run-error">{r.error}</div>}
                    </td>
                    <td>{r.exit_code ?? (r.signal ? `signal ${r.signal}` : '—')}</td>
                    <td>{duration(r)}</td>
                    <td className="output-cell">
                      {out?.stdout.text ? (
                        <pre role="log" className="output" data-testid="stdout" aria-label={`Standard output of ${hostnames[r.device] || r.device}`} tabIndex={0}>
                          {out.stdout.text}
                        </pre>
                      ) : null}
                      {out?.stderr.text ? (
                        <pre role="log" className="output stderr" data-testid="stderr" aria-label={`Standard error of ${hostnames[r.device] || r.device}`} tabIndex={0}>
                          {out.stderr.text}
                        </pre>
                      ) : null}
                      {!out?.stdout.text && !out?.stderr.text && <span className="muted">{final ? 'no output' : '…'}</span>}
                      {r.truncated && <div className="muted">output truncated</div>}
                      {r.artifact && (
                        <div>
                          {r.artifact.state === 'complete' ? (
                            <button type="button" className="linkish" onClick={() => void download(r.device, r.artifact!.name)}>
                              Download {r.artifact.name} ({Math.ceil(r.artifact.size / 1024)} KiB)
                            </button>
                          ) : (
                            <span className="muted">
                              artifact {r.artifact.name}: {r.artifact.state}
                            </span>
                          )}
                        </div>
                      )}
                    </td>
                    <td>
                      {canAct && !final && (
                        <button type="button" className="small" onClick={() => void act(() => cancelRun(api, id, r.device))}>
                          Cancel<span className="visually-hidden"> the run on {hostnames[r.device] || r.device}</span>
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
