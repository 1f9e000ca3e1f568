// The task routes of docs/tasks.md, over the ApiClient of api.ts (kept apart so that api.ts
// stays the shared core).
import { ApiClient } from './api';

export type TaskState = 'running' | 'finished' | 'cancelled' | 'aborted';
export type TaskOrigin = 'api' | 'schedule' | 'local-schedule';
export type RunState =
  | 'queued' | 'sent' | 'running' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'interrupted' | 'expired';

export const kTaskStates: TaskState[] = ['running', 'finished', 'cancelled', 'aborted'];
export const kOrigins: TaskOrigin[] = ['api', 'schedule', 'local-schedule'];
export const kFinalRunStates: RunState[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'interrupted', 'expired'];
// Final states that count as failures (a cancel is asked for, not a failure).
export const kFailedRunStates: RunState[] = ['failed', 'timed_out', 'interrupted', 'expired'];

export interface Task {
  id: string;
  state: TaskState;
  created_at: string;
  created_by?: string;
  finished_at?: string | null;
  origin?: TaskOrigin;
  target: Record<string, unknown> | null;
  spec: Record<string, unknown> | null;
  total: number;
  counts?: Record<string, number>;
}

export interface TaskPage {
  items: Task[];
  next: string | null;
}

export interface Artifact {
  name: string;
  size: number;
  sha256: string;
  state: 'receiving' | 'complete' | 'corrupt' | 'expired';
  received: number;
}

export interface Run {
  device: string;
  state: RunState;
  cancel_requested?: boolean;
  sent_at?: string | null;
  started_at?: string | null;
  ended_at?: string | null;
  exit_code?: number | null;
  signal?: number | null;
  error?: string;
  truncated?: boolean;
  artifact?: Artifact | null;
}

export interface RunPage {
  items: Run[];
  next: string | null;
}

export type Target = { devices: string[] } | { group: string } | { selector: string };

export interface TargetPreview {
  count: number;
  devices: { id: string; hostname: string; online: boolean }[];
  confirm_required: boolean;
  confirm_above: number;
}

export type Command = { argv: string[] } | { script: string; interpreter: string };

export interface TaskRequest {
  target: Target;
  command: Command;
  timeout_s?: number;
  confirm?: boolean;
}

export interface TaskFilter {
  states: TaskState[];
  origin: TaskOrigin | '';
}

// The query of GET /api/v1/tasks for a filter and a cursor.
export function taskListQuery(filter: TaskFilter, after: string | null, limit = 50): string {
  const q = new URLSearchParams({ limit: String(limit) });
  if (filter.states.length > 0) q.set('state', filter.states.join(','));
  if (filter.origin) q.set('origin', filter.origin);
  if (after) q.set('after', after);
  return '/api/v1/tasks?' + q.toString();
}

export function listTasks(api: ApiClient, filter: TaskFilter, after: string | null): Promise<TaskPage> {
  return api.request<TaskPage>('GET', taskListQuery(filter, after));
}

export function getTask(api: ApiClient, id: string): Promise<Task> {
  return api.request<Task>('GET', '/api/v1/tasks/' + encodeURIComponent(id));
}

// Every run of a task, page by page, up to `max`.
export async function allRuns(api: ApiClient, id: string, max = 5000): Promise<Run[]> {
  const out: Run[] = [];
  let after: string | null = null;
  do {
    const q = new URLSearchParams({ limit: '500' });
    if (after) q.set('after', after);
    const page: RunPage = await api.request<RunPage>('GET', `/api/v1/tasks/${encodeURIComponent(id)}/runs?${q.toString()}`);
    out.push(...page.items);
    after = page.next;
  } while (after && out.length < max);
  return out;
}

export function targetQuery(target: Target): string {
  const q = new URLSearchParams();
  if ('devices' in target) q.set('devices', target.devices.join(','));
  else if ('group' in target) q.set('group', target.group);
  else q.set('selector', target.selector);
  return '/api/v1/targets?' + q.toString();
}

export function previewTarget(api: ApiClient, target: Target): Promise<TargetPreview> {
  return api.request<TargetPreview>('GET', targetQuery(target));
}

export function createTask(api: ApiClient, request: TaskRequest): Promise<Task> {
  return api.request<Task>('POST', '/api/v1/tasks', request);
}

export function cancelTask(api: ApiClient, id: string): Promise<unknown> {
  return api.request<unknown>('POST', `/api/v1/tasks/${encodeURIComponent(id)}/cancel`);
}

export function cancelRun(api: ApiClient, id: string, device: string): Promise<unknown> {
  return api.request<unknown>('POST', `/api/v1/tasks/${encodeURIComponent(id)}/runs/${encodeURIComponent(device)}/cancel`);
}

export function eventsUrl(id: string): string {
  return `/api/v1/tasks/${encodeURIComponent(id)}/events`;
}

export function artifactUrl(id: string, device: string): string {
  return `/api/v1/tasks/${encodeURIComponent(id)}/runs/${encodeURIComponent(device)}/artifact`;
}

// A command line split as a shell would split words: spaces separate, '…' and "…" quote
// (a backslash escapes the next character outside single quotes). Nothing is expanded.
export function splitArgv(line: string): string[] {
  const out: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < line.length && (line[i + 1] === '"' || line[i + 1] === '\\')) word += line[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`The command has an unclosed ${quote === "'" ? 'single' : 'double'} quote.`);
  if (inWord) out.push(word);
  return out;
}

// One line that says what a task runs.
export function commandSummary(task: Pick<Task, 'spec'>): string {
  const c = task.spec?.['command'];
  if (!c || typeof c !== 'object') return '—';
  const cmd = c as Record<string, unknown>;
  if (Array.isArray(cmd.argv)) return cmd.argv.map((a) => (/[\s'"]/.test(String(a)) ? JSON.stringify(a) : String(a))).join(' ');
  if (typeof cmd.script === 'string') return `script: ${String(cmd.interpreter ?? '/bin/sh')} (${cmd.script.length} bytes)`;
  if (typeof cmd.builtin === 'string') return 'builtin: ' + cmd.builtin;
  if (typeof cmd.summary === 'string') return cmd.summary;
  return '—';
}

export interface Progress {
  done: number;
  failed: number;
  succeeded: number;
  total: number;
}

export function progressOf(total: number, counts: Record<string, number> | undefined): Progress {
  const c = counts ?? {};
  const sum = (states: RunState[]) => states.reduce((n, s) => n + (c[s] ?? 0), 0);
  return { done: sum(kFinalRunStates), failed: sum(kFailedRunStates), succeeded: c['succeeded'] ?? 0, total };
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
