// What the Administration create forms share: the busy flag and error of one submission, and
// the error line and submit button at their foot.
import { FormEvent, useState } from 'react';
import { errorText } from './adminApi';

// `submit(e, action)` runs `action` once: busy meanwhile, its error shown as a sentence (none for
// an expired session, which the app handles), cleared when it succeeds.
export function useSubmit() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function submit(e: FormEvent, action: () => Promise<void>) {
    e.preventDefault();
    setBusy(true);
    try {
      await action();
      setError(null);
    } catch (err) {
      const m = errorText(err);
      if (m) setError(m);
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, submit };
}

export function FormFoot({ busy, error, label }: { busy: boolean; error: string | null; label: string }) {
  return (
    <>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div>
        <button type="submit" disabled={busy}>
          {busy ? 'Creating…' : label}
        </button>
      </div>
    </>
  );
}
