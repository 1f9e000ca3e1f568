// What the Administration sections share: their list, read when shown and after each action,
// with the error of the last read or action; and for their create forms the busy flag and error
// of one submission (their foot is FormFoot.tsx).
import { FormEvent, useCallback, useEffect, useState } from 'react';
import { ApiClient, errorText } from './api';

// `read` must be the same function on every render (a module's own). `act(action)` runs an
// action, shows its error (none for an expired session, which the app handles) and reads the
// list again either way; it answers whether the action succeeded.
export function useAdminList<T>(api: ApiClient, read: (api: ApiClient) => Promise<T>) {
  const [items, setItems] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(async () => {
    try {
      setItems(await read(api));
      setError(null);
    } catch (e) {
      const m = errorText(e);
      if (m) setError(m);
    }
  }, [api, read]);
  useEffect(() => {
    void reload();
  }, [reload]);
  async function act(action: () => Promise<unknown>): Promise<boolean> {
    let ok = true;
    try {
      await action();
      setError(null);
    } catch (e) {
      ok = false;
      const m = errorText(e);
      if (m) setError(m);
    }
    await reload();
    return ok;
  }
  return { items, error, reload, act };
}

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
