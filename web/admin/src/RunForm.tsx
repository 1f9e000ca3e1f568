import { FormEvent, useEffect, useState } from 'react';
import { ApiClient, ApiError } from './api';
import { FormFoot } from './FormFoot';
import { Command, createTask, previewTarget, splitArgv, Target, TargetPreview, Task } from './tasksApi';

type TargetKind = 'devices' | 'group' | 'selector';
type CommandKind = 'argv' | 'script';

export const kPreviewDelayMs = 400;

// The target the form describes, or null while it is empty.
export function targetOf(kind: TargetKind, text: string): Target | null {
  const t = text.trim();
  if (!t) return null;
  if (kind === 'devices') {
    const ids = t.split(/[\s,]+/).filter(Boolean);
    return ids.length ? { devices: ids } : null;
  }
  return kind === 'group' ? { group: t } : { selector: t };
}

const kTargetHelp: Record<TargetKind, string> = {
  devices: 'Device ids, separated by commas or spaces.',
  group: 'The name of a group.',
  selector: 'Tags the devices must have, e.g. site=haguenau,env!=lab.',
};

// Runs a task (POST /api/v1/tasks) after showing which devices it will reach
// (GET /api/v1/targets, debounced). Shown to operators and above only.
export function RunForm({ api, onCreated }: { api: ApiClient; onCreated: (task: Task) => void }) {
  const [targetKind, setTargetKind] = useState<TargetKind>('devices');
  const [targetText, setTargetText] = useState('');
  const [commandKind, setCommandKind] = useState<CommandKind>('argv');
  const [line, setLine] = useState('');
  const [script, setScript] = useState('');
  const [interpreter, setInterpreter] = useState('/bin/sh');
  const [timeout, setTimeoutS] = useState('300');
  const [confirm, setConfirm] = useState(false);
  const [preview, setPreview] = useState<TargetPreview | null>(null);
  const [previewError, setPreviewError] = useState<string | null>(null);
  const [previewing, setPreviewing] = useState(false);
  const [needsConfirm, setNeedsConfirm] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const target = targetOf(targetKind, targetText);
  const targetKey = target ? JSON.stringify(target) : '';

  useEffect(() => {
    setPreview(null);
    setPreviewError(null);
    setNeedsConfirm(false);
    setConfirm(false);
    if (!targetKey) return;
    let live = true;
    setPreviewing(true);
    const timer = window.setTimeout(() => {
      previewTarget(api, JSON.parse(targetKey) as Target)
        .then((p) => {
          if (!live) return;
          setPreview(p);
          setNeedsConfirm(p.confirm_required);
        })
        .catch((e: unknown) => {
          if (live && !(e instanceof ApiError && e.status === 401)) setPreviewError(e instanceof Error ? e.message : String(e));
        })
        .finally(() => live && setPreviewing(false));
    }, kPreviewDelayMs);
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [api, targetKey]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    if (!target) {
      setError('Choose the devices to run on.');
      return;
    }
    let command: Command;
    try {
      if (commandKind === 'argv') {
        const argv = splitArgv(line);
        if (argv.length === 0) throw new Error('Type the command to run.');
        command = { argv };
      } else {
        if (!script.trim()) throw new Error('Type the script to run.');
        command = { script, interpreter: interpreter.trim() || '/bin/sh' };
      }
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      return;
    }
    const timeoutS = Number(timeout);
    if (!Number.isInteger(timeoutS) || timeoutS < 1 || timeoutS > 86400) {
      setError('The timeout is a whole number of seconds, 1 to 86400.');
      return;
    }
    if (needsConfirm && !confirm) {
      setError('This target needs confirmation: tick the box to run on all these devices.');
      return;
    }
    setBusy(true);
    try {
      const task = await createTask(api, { target, command, timeout_s: timeoutS, ...(confirm ? { confirm: true } : {}) });
      onCreated(task);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      if (err instanceof ApiError && err.code === 'confirmation_required') {
        setNeedsConfirm(true);
        setError('This target has more devices than run without confirmation: tick the box to confirm, then run again.');
      } else {
        setError(err instanceof Error ? err.message : String(err));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="run-form" aria-labelledby="run-title" onSubmit={(e) => void submit(e)}>
      <h2 id="run-title">Run a task</h2>
      <fieldset>
        <legend>Target</legend>
        {(['devices', 'group', 'selector'] as TargetKind[]).map((k) => (
          <label key={k} className="inline">
            <input type="radio" name="target-kind" value={k} checked={targetKind === k} onChange={() => setTargetKind(k)} />{' '}
            {k === 'devices' ? 'Devices' : k === 'group' ? 'Group' : 'Selector'}
          </label>
        ))}
        <label className="block">
          {targetKind === 'devices' ? 'Device ids' : targetKind === 'group' ? 'Group name' : 'Tag selector'}
          <input
            type="text"
            value={targetText}
            onChange={(e) => setTargetText(e.target.value)}
            aria-describedby="target-help"
            spellCheck={false}
          />
        </label>
        <small id="target-help">{kTargetHelp[targetKind]}</small>
        <div className="preview" aria-live="polite" data-testid="preview">
          {previewing && !preview && <p>Looking up the devices…</p>}
          {previewError && <p className="error">{previewError}</p>}
          {preview && (
            <>
              <p>
                <strong data-testid="preview-count">{preview.count}</strong> device{preview.count === 1 ? '' : 's'}
                {preview.count > preview.devices.length ? ` (the first ${preview.devices.length} shown)` : ''}
                {preview.confirm_required && <span className="badge warn"> needs confirmation</span>}
              </p>
              {preview.devices.length > 0 && (
                <ul className="preview-list">
                  {preview.devices.map((d) => (
                    <li key={d.id}>
                      {d.hostname || d.id}{' '}
                      <span className={d.online ? 'badge online' : 'badge offline'}>{d.online ? 'online' : 'offline'}</span>
                    </li>
                  ))}
                </ul>
              )}
            </>
          )}
        </div>
        {needsConfirm && (
          <label className="block confirm">
            <input type="checkbox" checked={confirm} onChange={(e) => setConfirm(e.target.checked)} /> Yes, run on all{' '}
            {preview ? preview.count : ''} devices
          </label>
        )}
      </fieldset>
      <fieldset>
        <legend>Command</legend>
        <label className="inline">
          <input type="radio" name="command-kind" value="argv" checked={commandKind === 'argv'} onChange={() => setCommandKind('argv')} /> Command line
        </label>
        <label className="inline">
          <input type="radio" name="command-kind" value="script" checked={commandKind === 'script'} onChange={() => setCommandKind('script')} /> Script with an interpreter
        </label>
        {commandKind === 'argv' ? (
          <>
            <label className="block">
              Command
              <input type="text" value={line} onChange={(e) => setLine(e.target.value)} aria-describedby="argv-help" spellCheck={false} />
            </label>
            <small id="argv-help">Run without a shell: words split on spaces, '…' and "…" quote.</small>
          </>
        ) : (
          <>
            <label className="block">
              Interpreter
              <input type="text" value={interpreter} onChange={(e) => setInterpreter(e.target.value)} spellCheck={false} />
            </label>
            <label className="block">
              Script
              <textarea rows={6} value={script} onChange={(e) => setScript(e.target.value)} spellCheck={false} />
            </label>
          </>
        )}
        <label className="block narrow">
          Timeout (seconds)
          <input type="number" min={1} max={86400} value={timeout} onChange={(e) => setTimeoutS(e.target.value)} />
        </label>
      </fieldset>
      <FormFoot busy={busy} error={error} label="Run" busyLabel="Starting…" />
    </form>
  );
}
