// The foot of a form: its error as an alert, and its submit button, which says `busyLabel`
// while the submission runs.
export function FormFoot({ busy, error, label, busyLabel = 'Creating…' }: { busy: boolean; error: string | null; label: string; busyLabel?: string }) {
  return (
    <>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div>
        <button type="submit" disabled={busy}>
          {busy ? busyLabel : label}
        </button>
      </div>
    </>
  );
}
