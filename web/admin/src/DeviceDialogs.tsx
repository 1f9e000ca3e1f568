// The Fleet page's two dialogs: confirm a revocation, edit a device's tags. Each keeps focus
// inside while open, closes on Escape, and shows the API's error in place.
import { FormEvent, KeyboardEvent, ReactNode, useEffect, useRef, useState } from 'react';
import { ApiClient, ApiError, Device } from './api';
import { decide, parseTagList, setTags } from './devicesApi';

export function deviceName(d: Device): string {
  return d.hostname || d.id;
}

function message(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  return e instanceof Error ? e.message : String(e);
}

function Dialog({ title, onClose, children }: { title: string; onClose: () => void; children: ReactNode }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    box.current?.querySelector<HTMLElement>('input, textarea, button')?.focus();
    return () => before?.focus?.();
  }, []);
  const keys = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      onClose();
      return;
    }
    if (e.key !== 'Tab' || !box.current) return;
    const items = Array.from(box.current.querySelectorAll<HTMLElement>('input, textarea, button:not([disabled])'));
    if (items.length === 0) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  };
  return (
    <div className="backdrop">
      <div className="dialog" role="dialog" aria-modal="true" aria-labelledby="dialog-title" ref={box} onKeyDown={keys}>
        <h2 id="dialog-title">{title}</h2>
        {children}
      </div>
    </div>
  );
}

export function RevokeDialog({ api, device, onDone, onClose }: { api: ApiClient; device: Device; onDone: (state: Device['state']) => void; onClose: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const revoke = async () => {
    setBusy(true);
    try {
      const r = await decide(api, device.id, 'revoke');
      onDone(r.state);
    } catch (e) {
      setError(message(e));
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Revoke ${deviceName(device)}?`} onClose={onClose}>
      <p>
        Its certificates go on the broker&apos;s revocation list and its messages are ignored from now on. A revoked device
        must enrol again with a new token.
      </p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="dialog-actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="danger" disabled={busy} onClick={() => void revoke()}>
          {busy ? 'Revoking…' : 'Revoke device'}
        </button>
      </div>
    </Dialog>
  );
}

export function TagsDialog({ api, device, onDone, onClose }: { api: ApiClient; device: Device; onDone: (tags: string[]) => void; onClose: () => void }) {
  const [text, setText] = useState(device.tags.join(', '));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const r = await setTags(api, device.id, parseTagList(text));
      onDone(r.tags);
    } catch (err) {
      setError(message(err));
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Tags of ${deviceName(device)}`} onClose={onClose}>
      <form onSubmit={(e) => void save(e)}>
        <label htmlFor="tags-input">Tags</label>
        <input
          id="tags-input"
          value={text}
          onChange={(e) => setText(e.target.value)}
          aria-describedby="tags-help"
          autoComplete="off"
          spellCheck={false}
        />
        <p id="tags-help" className="hint">
          Comma-separated <code>key=value</code> or bare <code>key</code>, at most 64; they replace the device&apos;s tags.
        </p>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            {busy ? 'Saving…' : 'Save tags'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
