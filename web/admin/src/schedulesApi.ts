// The schedule routes of docs/tasks.md ("Schedules"), over the ApiClient of api.ts.
import { ApiClient } from './api';
import { Command, Target } from './tasksApi';

export type MissedPolicy = 'skip' | 'once' | 'all';
export const kMissedPolicies: { value: MissedPolicy; label: string }[] = [
  { value: 'skip', label: 'Skip the missed times' },
  { value: 'once', label: 'Run once for all missed times' },
  { value: 'all', label: 'Run each missed time (up to the catch-up limit)' },
];

export interface ScheduleTask {
  target?: Target;
  command?: Command | Record<string, unknown>;
  timeout_s?: number;
}

export interface Schedule {
  id: string;
  name: string;
  cron: string;
  timezone: string;
  missed: MissedPolicy;
  max_catchup: number;
  enabled: boolean;
  task: ScheduleTask | null;
  next_fire: string | null;
  last_fire: string | null;
  last_task: string | null;
  last_error: string;
  created_at: string;
  created_by: string;
}

export interface ScheduleSpec {
  name: string;
  cron: string;
  timezone: string;
  missed: MissedPolicy;
  task: { target: Target; command: Command; timeout_s?: number };
}

const kBase = '/api/v1/schedules';

export function listSchedules(api: ApiClient): Promise<{ items: Schedule[] }> {
  return api.request<{ items: Schedule[] }>('GET', kBase);
}

export function createSchedule(api: ApiClient, spec: ScheduleSpec): Promise<Schedule> {
  return api.request<Schedule>('POST', kBase, spec);
}

// Pauses (false) or resumes (true) a schedule.
export function setScheduleEnabled(api: ApiClient, id: string, enabled: boolean): Promise<Schedule> {
  return api.request<Schedule>('PATCH', `${kBase}/${encodeURIComponent(id)}`, { enabled });
}

export function deleteSchedule(api: ApiClient, id: string): Promise<void> {
  return api.request<void>('DELETE', `${kBase}/${encodeURIComponent(id)}`);
}

export function firesQuery(cron: string, timezone: string, count = 5): string {
  return `${kBase}/preview?` + new URLSearchParams({ cron, timezone, count: String(count) }).toString();
}

// The next fire times (RFC 3339, UTC) the server computes for an expression in a zone.
export function previewFires(api: ApiClient, cron: string, timezone: string, count = 5): Promise<{ next: string[] }> {
  return api.request<{ next: string[] }>('GET', firesQuery(cron, timezone, count));
}

// The browser's own time zone, the form's default.
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

// Zone names the browser knows, for suggestions; empty where it cannot list them.
export function knownTimeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  try {
    return intl.supportedValuesOf ? intl.supportedValuesOf('timeZone') : [];
  } catch {
    return [];
  }
}

// An instant as a reader in `zone` sees it: "Sun, 25 Oct 2026, 02:30 CEST"; the ISO text when
// the zone is not one the browser knows.
export function inZone(iso: string, zone: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  try {
    return d.toLocaleString(undefined, {
      timeZone: zone, weekday: 'short', year: 'numeric', month: 'short', day: 'numeric',
      hour: '2-digit', minute: '2-digit', timeZoneName: 'short',
    });
  } catch {
    return iso;
  }
}

// A fire time in few characters, in the browser's zone: "Dec 6, 02:30"; "—" for none.
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

// One line that says which devices a schedule's task reaches.
export function targetSummary(task: ScheduleTask | null): string {
  const t = task?.target as Record<string, unknown> | undefined;
  if (!t) return '—';
  if (Array.isArray(t.devices)) {
    const ids = t.devices.map(String);
    return ids.length === 1 ? `device ${ids[0]}` : `${ids.length} devices`;
  }
  if (typeof t.group === 'string') return `group ${t.group}`;
  if (typeof t.selector === 'string') return `selector ${t.selector}`;
  return '—';
}
