import { FormEvent, useEffect, useState } from 'react';
import { ApiClient, ApiError } from './api';
import { FormFoot } from './FormFoot';
import { kPreviewDelayMs, targetOf } from './RunForm';
import {
  browserTimeZone, createSchedule, inZone, kMissedPolicies, knownTimeZones, MissedPolicy, previewFires, Schedule,
} from './schedulesApi';
import { previewTarget, splitArgv, Target, TargetPreview } from './tasksApi';

type TargetKind = 'devices' | 'group' | 'selector';

function message(e: unknown): string | null {
  if (e instanceof ApiError && e.status === 401) return null; // the app shows the sign-in page
  return e instanceof Error ? e.message : String(e);
}

// Calls `load(key)` `kPreviewDelayMs` after `key` last changed ("" : nothing to ask), and keeps
// only the answer to the latest key.
function useDebounced<T>(key: string, load: (key: string) => Promise<T>) {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setValue(null);
    setError(null);
    if (!key) {
      setBusy(false);
      return;
    }
    let live = true;
    setBusy(true);
    const timer = window.setTimeout(() => {
      load(key)
        .then((v) => live && setValue(v))
        .catch((e: unknown) => {
          const m = message(e);
          if (live && m) setError(m);
        })
        .finally(() => live && setBusy(false));
    }, kPreviewDelayMs);
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
    // `load` is rebuilt on each render; the key says everything it depends on.
  }, [key]);
  return { value, error, busy };
}

const kZones = knownTimeZones();

// Creates a schedule (POST /api/v1/schedules): the cron field shows the next five fire times
// as the server computes them (GET /api/v1/schedules/preview, debounced), the target field the
// devices it reaches now (GET /api/v1/targets). Shown to operators and above only.
export function ScheduleForm({ api, onCreated }: { api: ApiClient; onCreated: (s: Schedule) => void }) {
  const [name, setName] = useState('');
  const [cron, setCron] = useState('');
  const [timezone, setTimezone] = useState(browserTimeZone);
  const [missed, setMissed] = useState<MissedPolicy>('skip');
  const [targetKind, setTargetKind] = useState<TargetKind>('devices');
  const [targetText, setTargetText] = useState('');
  const [line, setLine] = useState('');
  const [timeout, setTimeoutS] = useState('300');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const zone = timezone.trim() || 'UTC';
  const firesKey = cron.trim() ? JSON.stringify([cron.trim(), zone]) : '';
  const fires = useDebounced(firesKey, (k) => {
    const [c, z] = JSON.parse(k) as [string, string];
    return previewFires(api, c, z, 5);
  });
  const target = targetOf(targetKind, targetText);
  const targetKey = target ? JSON.stringify(target) : '';
  const devices = useDebounced<TargetPreview>(targetKey, (k) => previewTarget(api, JSON.parse(k) as Target));

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    let argv: string[];
    try {
      if (!name.trim()) throw new Error('Give the schedule a name.');
      if (!cron.trim()) throw new Error('Type a cron expression, e.g. 0 3 * * * for 03:00 every day.');
      if (!target) throw new Error('Choose the devices to run on.');
      argv = splitArgv(line);
      if (argv.length === 0) throw new Error('Type the command to run.');
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      return;
    }
    const timeoutS = Number(timeout);
    if (!Number.isInteger(timeoutS) || timeoutS < 1 || timeoutS > 86400) {
      setError('The timeout is a whole number of seconds, 1 to 86400.');
      return;
    }
    setBusy(true);
    try {
      const made = await createSchedule(api, {
        name: name.trim(), cron: cron.trim(), timezone: zone, missed,
        task: { target: target!, command: { argv }, timeout_s: timeoutS },
      });
      setName('');
      setCron('');
      setTargetText('');
      setLine('');
      onCreated(made);
    } catch (err) {
      const m = message(err);
      if (m) setError(m);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="run-form schedule-form" aria-labelledby="schedule-form-title" onSubmit={(e) => void submit(e)}>
      <h2 id="schedule-form-title">New schedule</h2>
      <fieldset>
        <legend>When</legend>
        <label className="block">
          Name
          <input type="text" value={name} maxLength={64} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="block">
          Cron expression
          <input
            type="text"
            value={cron}
            onChange={(e) => setCron(e.target.value)}
            aria-describedby="cron-help"
            spellCheck={false}
            placeholder="0 3 * * *"
          />
        </label>
        <small id="cron-help">
          Minute, hour, day of month, month, day of week (e.g. <code>*/15 * * * *</code>, <code>0 3 * * 1-5</code>), or
          @hourly, @daily, @weekly, @monthly.
        </small>
        <label className="block">
          Time zone
          <input
            type="text"
            value={timezone}
            onChange={(e) => setTimezone(e.target.value)}
            list={kZones.length ? 'zones' : undefined}
            spellCheck={false}
          />
        </label>
        {kZones.length > 0 && (
          <datalist id="zones">
            {kZones.map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
        )}
        <div className="preview" aria-live="polite" data-testid="fires">
          {fires.busy && !fires.value && <p>Working out the next fire times…</p>}
          {fires.error && <p className="error">{fires.error}</p>}
          {fires.value && (
            <>
              <p>Next fire times ({zone}):</p>
              <ol className="fires" aria-label="Next fire times">
                {fires.value.next.map((t) => (
                  <li key={t}>
                    <time dateTime={t}>{inZone(t, zone)}</time>
                  </li>
                ))}
              </ol>
            </>
          )}
        </div>
        <label className="block">
          Missed fires
          <select value={missed} onChange={(e) => setMissed(e.target.value as MissedPolicy)} aria-describedby="missed-help">
            {kMissedPolicies.map((p) => (
              <option key={p.value} value={p.value}>
                {p.label}
              </option>
            ))}
          </select>
        </label>
        <small id="missed-help">What happens to fire times that pass while the control plane is down.</small>
      </fieldset>
      <fieldset>
        <legend>Target</legend>
        {(['devices', 'group', 'selector'] as TargetKind[]).map((k) => (
          <label key={k} className="inline">
            <input type="radio" name="schedule-target-kind" value={k} checked={targetKind === k} onChange={() => setTargetKind(k)} />{' '}
            {k === 'devices' ? 'Devices' : k === 'group' ? 'Group' : 'Selector'}
          </label>
        ))}
        <label className="block">
          {targetKind === 'devices' ? 'Device ids' : targetKind === 'group' ? 'Group name' : 'Tag selector'}
          <input type="text" value={targetText} onChange={(e) => setTargetText(e.target.value)} spellCheck={false} />
        </label>
        <div className="preview" aria-live="polite" data-testid="target-preview">
          {devices.busy && !devices.value && <p>Looking up the devices…</p>}
          {devices.error && <p className="error">{devices.error}</p>}
          {devices.value && (
            <p>
              Now: <strong data-testid="target-count">{devices.value.count}</strong> device{devices.value.count === 1 ? '' : 's'}
              {devices.value.devices.length > 0 &&
                ` (${devices.value.devices.slice(0, 5).map((d) => d.hostname || d.id).join(', ')}${devices.value.count > 5 ? ', …' : ''})`}
              . The target is resolved again at each fire.
            </p>
          )}
        </div>
      </fieldset>
      <fieldset>
        <legend>Task</legend>
        <label className="block">
          Command
          <input type="text" value={line} onChange={(e) => setLine(e.target.value)} aria-describedby="schedule-argv-help" spellCheck={false} />
        </label>
        <small id="schedule-argv-help">Run without a shell: words split on spaces, '…' and "…" quote.</small>
        <label className="block narrow">
          Timeout (seconds)
          <input type="number" min={1} max={86400} value={timeout} onChange={(e) => setTimeoutS(e.target.value)} />
        </label>
      </fieldset>
      <FormFoot busy={busy} error={error} label="Create schedule" />
    </form>
  );
}
