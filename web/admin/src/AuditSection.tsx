import { FormEvent, useCallback, useState } from 'react';
import { ApiClient } from './api';
import { usePages } from './pages';
import {
  AuditFilter, AuditRecord, auditQuery, errorText, kNoAuditFilter, listAudit, plural, Verification, verifyAudit,
} from './adminApi';

// UUIDs cut to their first 8 characters (the whole value is the cell's title).
export function shortIds(text: string): string {
  return text.replace(/\b([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '$1…');
}

// The audit log (docs/api.md "Audit log"), oldest first, with filters and "Load more", and the
// server's check of the chain against its signed checkpoints.
export function AuditSection({ api }: { api: ApiClient }) {
  const [draft, setDraft] = useState<AuditFilter>(kNoAuditFilter);
  const [filter, setFilter] = useState<AuditFilter>(kNoAuditFilter);
  const readPage = useCallback(
    async (cursor: string | null) => {
      const page = await listAudit(api, filter, cursor);
      return { items: page.items, next: page.next_cursor };
    },
    [api, filter],
  );
  const { items: records, next, loading, error, setError, load } = usePages<AuditRecord>(readPage);

  function apply(e: FormEvent) {
    e.preventDefault();
    try {
      auditQuery(draft, null); // a bad date is said here, before any call
      setFilter({ ...draft });
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  }

  const filtered = JSON.stringify(filter) !== JSON.stringify(kNoAuditFilter);
  const set = (k: keyof AuditFilter) => (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [k]: e.target.value }));
  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit log</h2>
      <VerifyChain api={api} />
      <form className="filters admin-filters" aria-label="Audit filters" onSubmit={apply}>
        <label>
          Action{' '}
          <input type="text" value={draft.action} onChange={set('action')} placeholder="keys. or keys.create" />
        </label>
        <label>
          Actor{' '}
          <input type="text" value={draft.actor} onChange={set('actor')} placeholder="user:<id>, key:<id>, system" />
        </label>
        <label>
          Outcome{' '}
          <select value={draft.outcome} onChange={set('outcome')}>
            <option value="">any</option>
            <option value="success">success</option>
            <option value="failure">failure</option>
            <option value="denied">denied</option>
          </select>
        </label>
        <label>
          Since <input type="datetime-local" value={draft.since} onChange={set('since')} />
        </label>
        <label>
          Until <input type="datetime-local" value={draft.until} onChange={set('until')} />
        </label>
        <button type="submit">Apply filters</button>
        {filtered && (
          <button
            type="button"
            className="secondary"
            onClick={() => {
              setDraft(kNoAuditFilter);
              setFilter(kNoAuditFilter);
            }}
          >
            Clear filters
          </button>
        )}
      </form>
      <small>An action ending in a dot is a prefix: <code>keys.</code> finds every key action.</small>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {records === null && !error && <p role="status">Loading the audit log…</p>}
      {records !== null && records.length === 0 && !error && (
        <p className="empty">{filtered ? 'No record matches these filters.' : 'No records yet: every change made through the API is recorded here.'}</p>
      )}
      {records !== null && records.length > 0 && (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Audit records table">
          <table className="devices audit">
            <caption className="visually-hidden">Audit records, oldest first</caption>
            <thead>
              <tr>
                <th scope="col">Seq</th>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
                <th scope="col">Source</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {records.map((r) => (
                <tr key={r.seq} data-seq={r.seq}>
                  <td>{r.seq}</td>
                  <td>{new Date(r.ts).toLocaleString()}</td>
                  <td>
                    <button
                      type="button"
                      className="linkish"
                      title={r.actor}
                      aria-label={`Show only records of ${r.actor}`}
                      onClick={() => {
                        const next = { ...filter, actor: r.actor };
                        setDraft(next);
                        setFilter(next);
                      }}
                    >
                      <code>{shortIds(r.actor)}</code>
                    </button>
                  </td>
                  <td>{r.action}</td>
                  <td>
                    <code title={r.target}>{r.target ? shortIds(r.target) : '—'}</code>
                  </td>
                  <td>
                    <span className={'badge outcome-' + r.outcome}>{r.outcome}</span>
                  </td>
                  <td>{r.source || '—'}</td>
                  <td className="detail">
                    <code>{r.detail === '{}' ? '' : r.detail}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next && (
        <button type="button" className="more" disabled={loading} onClick={() => void load(next)}>
          {loading ? 'Loading…' : 'Load more'}
        </button>
      )}
    </section>
  );
}

function VerifyChain({ api }: { api: ApiClient }) {
  const [result, setResult] = useState<Verification | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function run() {
    setBusy(true);
    setResult(null);
    try {
      setResult(await verifyAudit(api));
      setError(null);
    } catch (e) {
      const m = errorText(e);
      if (m) setError(m);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="verify">
      <button type="button" onClick={() => void run()} disabled={busy}>
        {busy ? 'Verifying…' : 'Verify chain'}
      </button>
      <div aria-live="polite" data-testid="verify-result">
        {result?.ok && (
          <p className="verify-ok">
            <strong>Chain OK</strong>: {plural(result.records, 'record')} and {plural(result.checkpoints, 'signed checkpoint')}{' '}
            verified.
            {result.checkpoints === 0 && ' No checkpoint covers the log yet, so this shows only that the chain is whole.'}
          </p>
        )}
        {result && !result.ok && (
          <p className="verify-bad" role="alert">
            <strong>Chain does not verify</strong>
            {result.first_bad_seq !== null && <>: first bad record is seq {result.first_bad_seq}</>}. {result.reason}
          </p>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </div>
      <small>
        This is hecs-control checking itself. For a check that does not trust the server, save checkpoints and run{' '}
        <code>hecsctl audit verify</code>, or export the log (<code>hecsctl audit export</code>) and verify it elsewhere.
      </small>
    </div>
  );
}
