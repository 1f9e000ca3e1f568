import { useId, useRef, useState } from 'react';

// A secret or command shown once, with a Copy button: the Clipboard API where the browser
// allows it (HTTPS or localhost), otherwise the text is selected for Ctrl+C. `rows` > 0: a
// wrapping text area of that many rows, for long commands and files.
export function CopyField({ label, value, rows = 0 }: { label: string; value: string; rows?: number }) {
  const id = useId();
  const field = useRef<HTMLTextAreaElement & HTMLInputElement>(null);
  const [status, setStatus] = useState('');

  function select() {
    field.current?.focus();
    field.current?.select();
  }

  async function copy() {
    try {
      if (!navigator.clipboard?.writeText) throw new Error('no clipboard');
      await navigator.clipboard.writeText(value);
      setStatus('Copied.');
    } catch {
      select();
      setStatus('Selected: press Ctrl+C (⌘C) to copy.');
    }
  }

  return (
    <div className="copy-field">
      <label htmlFor={id}>{label}</label>
      <div className="copy-row">
        {rows > 0 ? (
          <textarea id={id} ref={field} readOnly value={value} rows={rows} onFocus={select} spellCheck={false} />
        ) : (
          <input id={id} ref={field} type="text" readOnly value={value} onFocus={select} spellCheck={false} />
        )}
        <button type="button" onClick={() => void copy()} aria-label={'Copy ' + label.toLowerCase()}>
          Copy
        </button>
      </div>
      <span role="status" className="muted">
        {status}
      </span>
    </div>
  );
}

// A destructive action in two steps: the button, then "Yes, …" or "Cancel" in its place.
export function ConfirmButton({
  label, confirmLabel, question, onConfirm, disabled = false, name,
}: {
  label: string; // the button's text: "Revoke"
  confirmLabel: string; // "Yes, revoke"
  question: string; // "Revoke the key ci? Calls with it are refused at once."
  onConfirm: () => Promise<unknown> | void;
  disabled?: boolean;
  name?: string; // accessible name when the text alone is ambiguous in a table: "Revoke key ci"
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!asking) {
    return (
      <button type="button" className="small" disabled={disabled} aria-label={name} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <span className="confirm-step" role="group" aria-label={question}>
      <span>{question}</span>{' '}
      <button
        type="button"
        className="small danger"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await onConfirm();
          } finally {
            setBusy(false);
            setAsking(false);
          }
        }}
      >
        {confirmLabel}
      </button>{' '}
      <button type="button" className="small secondary" autoFocus onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
