import { useState } from 'react';
import { ApiClient, Role } from './api';
import { useAdminList, useSubmit } from './adminForm';
import { FormFoot } from './FormFoot';
import { ConfirmButton, CopyField } from './CopyField';
import { ApiKey, createKey, grantableRoles, listKeys, NewApiKey, revokeKey, rotateKey } from './adminApi';
import { when } from './tasksApi';

// API keys (docs/api.md "Users, API keys, tenants"): the list, create (the key shown once),
// rotate with an overlap, revoke.
export function KeysSection({ api, role }: { api: ApiClient; role: Role }) {
  const { items: keys, error, reload: load, act } = useAdminList(api, listKeys);
  const [shown, setShown] = useState<{ key: NewApiKey; rotated: boolean } | null>(null);
  const [notice, setNotice] = useState('');

  const revoke = (k: ApiKey) =>
    act(async () => {
      await revokeKey(api, k.id);
      setNotice(`The key ${k.name} (${k.prefix}…) is revoked: calls with it are refused.`);
    });
  const rotate = (k: ApiKey, overlapS: number) =>
    act(async () => {
      setShown({ key: await rotateKey(api, k.id, overlapS), rotated: true });
      setNotice('');
    });

  return (
    <section aria-labelledby="keys-title">
      <h2 id="keys-title">API keys</h2>
      <p className="muted">Keys let scripts and hecsctl call the API with a role of this tenant.</p>
      <KeyForm
        api={api}
        role={role}
        onCreated={(k) => {
          setShown({ key: k, rotated: false });
          setNotice('');
          void load();
        }}
      />
      {shown && (
        <div className="secret" role="region" aria-labelledby="created-key-title">
          <h3 id="created-key-title">{shown.rotated ? 'Key rotated: copy the new key now' : 'Key created: copy it now'}</h3>
          <p>
            This is the only time the key is shown. Use it as <code>Authorization: Bearer …</code> or with{' '}
            <code>hecsctl login --api-key-stdin</code>.
            {shown.rotated && shown.key.old_key_expires_at && ` The old key keeps working until ${when(shown.key.old_key_expires_at)}.`}
          </p>
          <CopyField label="API key" value={shown.key.key} />
          <button type="button" onClick={() => setShown(null)}>
            Done
          </button>
        </div>
      )}
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {keys === null && !error && <p role="status">Loading keys…</p>}
      {keys !== null && keys.length === 0 && <p className="empty">No API keys yet. Create one above for a script or for hecsctl.</p>}
      {keys !== null && keys.length > 0 && (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="API keys table">
          <table className="devices">
            <caption className="visually-hidden">API keys of this tenant</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Prefix</th>
                <th scope="col">Role</th>
                <th scope="col">State</th>
                <th scope="col">Last used</th>
                <th scope="col">Expires</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.id} data-key={k.id}>
                  <td>{k.name}</td>
                  <td>
                    <code>{k.prefix}…</code>
                  </td>
                  <td>{k.role}</td>
                  <td>
                    <span className={'badge state-' + k.state}>{k.state}</span>
                  </td>
                  <td>{k.last_used_at ? when(k.last_used_at) : 'never'}</td>
                  <td>{when(k.expires_at)}</td>
                  <td className="actions">
                    {k.state === 'active' && <RotateButton k={k} onRotate={(s) => rotate(k, s)} />}
                    {(k.state === 'active' || k.state === 'rotating') && (
                      <ConfirmButton
                        label="Revoke"
                        name={`Revoke key ${k.name} (${k.prefix})`}
                        confirmLabel="Yes, revoke"
                        question={`Revoke ${k.name} (${k.prefix}…)? Calls with it are refused at once.`}
                        onConfirm={() => revoke(k)}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

const kDay = 86400;

function KeyForm({ api, role, onCreated }: { api: ApiClient; role: Role; onCreated: (k: NewApiKey) => void }) {
  const roles = grantableRoles(role);
  const [name, setName] = useState('');
  const [keyRole, setKeyRole] = useState<Role>('viewer');
  const [days, setDays] = useState('90');
  const { busy, error, submit } = useSubmit();

  async function create() {
    if (!name.trim()) throw new Error('Name: required.');
    const d = Number(days);
    if (!Number.isInteger(d) || d < 1 || d > 730) throw new Error('Expires in: a whole number of days from 1 to 730.');
    const k = await createKey(api, name.trim(), keyRole, d * kDay);
    setName('');
    onCreated(k);
  }

  return (
    <form className="admin-form" aria-label="Create an API key" onSubmit={(e) => void submit(e, create)}>
      <h3>Create an API key</h3>
      <div className="form-grid">
        <label className="block">
          Key name
          <input type="text" value={name} maxLength={64} onChange={(e) => setName(e.target.value)} placeholder="ci-deploy" />
        </label>
        <label className="block narrow">
          Key role
          <select value={keyRole} onChange={(e) => setKeyRole(e.target.value as Role)}>
            {roles.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label className="block narrow">
          Expires in (days)
          <input type="number" min={1} max={730} value={days} onChange={(e) => setDays(e.target.value)} />
        </label>
      </div>
      <FormFoot busy={busy} error={error} label="Create key" />
    </form>
  );
}

// Rotation: a new key with the same name and role; the old one keeps working for the overlap.
function RotateButton({ k, onRotate }: { k: ApiKey; onRotate: (overlapS: number) => Promise<unknown> }) {
  const [open, setOpen] = useState(false);
  const [hours, setHours] = useState('24');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (!open) {
    return (
      <button type="button" className="small" aria-label={`Rotate key ${k.name} (${k.prefix})`} onClick={() => setOpen(true)}>
        Rotate
      </button>
    );
  }
  return (
    <form
      className="inline-form"
      aria-label={`Rotate key ${k.name}`}
      onSubmit={async (e) => {
        e.preventDefault();
        const h = Number(hours);
        if (!Number.isFinite(h) || h < 0 || h > 720) {
          setError('Overlap: 0 to 720 hours (30 days).');
          return;
        }
        setBusy(true);
        await onRotate(Math.round(h * 3600));
        setBusy(false);
        setOpen(false);
      }}
    >
      <label>
        Old key works for (hours){' '}
        <input type="number" className="short" min={0} max={720} step="any" value={hours} autoFocus onChange={(e) => setHours(e.target.value)} />
      </label>{' '}
      <button type="submit" className="small" disabled={busy}>
        Rotate now
      </button>{' '}
      <button type="button" className="small secondary" onClick={() => setOpen(false)}>
        Cancel
      </button>
      {error && (
        <span className="error" role="alert">
          {error}
        </span>
      )}
    </form>
  );
}
