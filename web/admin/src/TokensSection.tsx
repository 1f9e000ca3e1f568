import { useState } from 'react';
import { ApiClient } from './api';
import { useAdminList, useSubmit } from './adminForm';
import { FormFoot } from './FormFoot';
import { ConfirmButton, CopyField } from './CopyField';
import {
  createToken, EnrolmentToken, enrolFile, installCommand, listTokens, NewEnrolmentToken, parseTags,
  revokeToken, tokenState,
} from './adminApi';
import { when } from './tasksApi';

// Enrolment tokens (docs/api.md "Enrolment"): the list, a form that makes one, and the token
// with the agent's install command, shown once.
export function TokensSection({ api, origin }: { api: ApiClient; origin: string }) {
  const { items: tokens, error, reload: load, act } = useAdminList(api, listTokens);
  const [created, setCreated] = useState<NewEnrolmentToken | null>(null);

  const revoke = (t: EnrolmentToken) => act(() => revokeToken(api, t.id));

  return (
    <section aria-labelledby="tokens-title">
      <h2 id="tokens-title">Enrolment tokens</h2>
      <p className="muted">A new device enrols once with a token; devices that enrolled keep working when the token is revoked.</p>
      <TokenForm
        api={api}
        onCreated={(t) => {
          setCreated(t);
          void load();
        }}
      />
      {created && <CreatedToken token={created} origin={origin} onDone={() => setCreated(null)} />}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {tokens === null && !error && <p role="status">Loading tokens…</p>}
      {tokens !== null && tokens.length === 0 && (
        <p className="empty">No enrolment tokens yet. Create one above, then start the agent on the device with the command it shows.</p>
      )}
      {tokens !== null && tokens.length > 0 && (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Enrolment tokens table">
          <table className="devices">
            <caption className="visually-hidden">Enrolment tokens of this tenant</caption>
            <thead>
              <tr>
                <th scope="col">Prefix</th>
                <th scope="col">Description</th>
                <th scope="col">State</th>
                <th scope="col">Uses</th>
                <th scope="col">Expires</th>
                <th scope="col">Tags</th>
                <th scope="col">Approval</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {tokens.map((t) => {
                const state = tokenState(t);
                return (
                  <tr key={t.id} data-token={t.id}>
                    <td>
                      <code>{t.prefix}…</code>
                    </td>
                    <td>{t.description || '—'}</td>
                    <td>
                      <span className={'badge state-' + state.replace(' ', '-')}>{state}</span>
                    </td>
                    <td>{`${t.uses}/${t.max_uses}`}</td>
                    <td>{when(t.expires_at)}</td>
                    <td>{t.tags.length > 0 ? t.tags.join(', ') : '—'}</td>
                    <td>{t.auto_approve ? 'automatic' : 'manual'}</td>
                    <td>
                      {state !== 'revoked' && (
                        <ConfirmButton
                          label="Revoke"
                          name={`Revoke token ${t.prefix}`}
                          confirmLabel="Yes, revoke"
                          question={`Revoke ${t.prefix}…? No more devices enrol with it.`}
                          onConfirm={() => revoke(t)}
                        />
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function TokenForm({ api, onCreated }: { api: ApiClient; onCreated: (t: NewEnrolmentToken) => void }) {
  const [description, setDescription] = useState('');
  const [maxUses, setMaxUses] = useState('1');
  const [hours, setHours] = useState('24');
  const [tags, setTags] = useState('');
  const [autoApprove, setAutoApprove] = useState(false);
  const { busy, error, submit } = useSubmit();

  async function create() {
    const parsedTags = parseTags(tags);
    const uses = Number(maxUses);
    const h = Number(hours);
    if (!Number.isInteger(uses) || uses < 1 || uses > 100000) throw new Error('Max uses: a whole number from 1 to 100000.');
    if (!Number.isFinite(h) || h * 3600 < 60 || h > 8760) throw new Error('Expires in: from 1 minute (0.02 h) to 8760 hours (a year).');
    const t = await createToken(api, {
      description: description.trim(),
      max_uses: uses,
      expires_in_s: Math.round(h * 3600),
      tags: parsedTags,
      auto_approve: autoApprove,
    });
    setDescription('');
    setTags('');
    onCreated(t);
  }

  return (
    <form className="admin-form" aria-label="Create an enrolment token" onSubmit={(e) => void submit(e, create)}>
      <h3>Create an enrolment token</h3>
      <div className="form-grid">
        <label className="block">
          Description
          <input type="text" value={description} maxLength={200} onChange={(e) => setDescription(e.target.value)} placeholder="line 3, rack 2" />
        </label>
        <label className="block narrow">
          Max uses
          <input type="number" min={1} max={100000} value={maxUses} onChange={(e) => setMaxUses(e.target.value)} />
        </label>
        <label className="block narrow">
          Expires in (hours)
          <input type="number" min={0.02} max={8760} step="any" value={hours} onChange={(e) => setHours(e.target.value)} />
        </label>
        <div className="block-group">
          <label className="block">
            Tags
            <input type="text" value={tags} aria-describedby="token-tags-hint" onChange={(e) => setTags(e.target.value)} placeholder="site=berlin, role=gateway" />
          </label>
          <small id="token-tags-hint">Given to every device enrolled with the token; commas or spaces between them.</small>
        </div>
      </div>
      <label className="confirm">
        <input type="checkbox" checked={autoApprove} onChange={(e) => setAutoApprove(e.target.checked)} /> Accept devices at once
        (auto-approve)
      </label>
      <small>Without it, devices wait as pending until an admin accepts them on the Fleet page.</small>
      <FormFoot busy={busy} error={error} label="Create token" />
    </form>
  );
}

function CreatedToken({ token, origin, onDone }: { token: NewEnrolmentToken; origin: string; onDone: () => void }) {
  return (
    <div className="secret" role="region" aria-labelledby="created-token-title">
      <h3 id="created-token-title">Token created: copy it now</h3>
      <p>
        This is the only time the token is shown; hecs-control keeps only its hash. It enrols up to {token.max_uses}{' '}
        {token.max_uses === 1 ? 'device' : 'devices'} until {when(token.expires_at)}.
      </p>
      <CopyField label="Enrolment token" value={token.token} />
      <CopyField label="Install command" value={installCommand(origin, token)} rows={3} />
      <p className="muted">
        Run it as root on the device (the agent keeps its key in <code>/var/lib/hecs-agent</code>; <code>--state-dir</code> picks
        another folder). The agent checks the control plane&apos;s CA against the SHA-256 before it sends the token.
        {!origin.startsWith('https://') && ' Agents enrol over HTTPS only: use the https:// address devices reach.'}
      </p>
      <details>
        <summary>Or as hecs-enroll.yaml on the boot partition (keeps the token out of the process list)</summary>
        <CopyField label="hecs-enroll.yaml" value={enrolFile(origin, token)} rows={3} />
      </details>
      <button type="button" onClick={onDone}>
        Done
      </button>
    </div>
  );
}
