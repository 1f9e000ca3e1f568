import { useState } from 'react';
import { ApiClient, Role, roleAtLeast } from './api';
import { useAdminList, useSubmit } from './adminForm';
import { FormFoot } from './FormFoot';
import { ConfirmButton } from './CopyField';
import { createUser, grantableRoles, listUsers, updateUser, UserRow } from './adminApi';
import { when } from './tasksApi';

// Users and roles (docs/api.md "Roles"): nobody grants a role above their own, changes a user
// above them or themselves; the API says so when the panel lets a case through.
export function UsersSection({ api, role, username }: { api: ApiClient; role: Role; username: string }) {
  const { items: users, error, reload: load, act } = useAdminList(api, listUsers);
  const [notice, setNotice] = useState('');

  async function change(u: UserRow, what: { role?: Role; disabled?: boolean; password?: string }, done: string) {
    const ok = await act(() => updateUser(api, u.id, what));
    setNotice(ok ? done : '');
  }

  const roles = grantableRoles(role);
  return (
    <section aria-labelledby="users-title">
      <h2 id="users-title">Users and roles</h2>
      <p className="muted">
        viewer reads; operator also runs tasks; admin manages devices, tokens, users and keys and reads the audit log; owner
        may also grant owner.
      </p>
      <UserForm
        api={api}
        roles={roles}
        onCreated={(u) => {
          setNotice(`User ${u.username} created as ${u.role}.`);
          void load();
        }}
      />
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
      {users === null && !error && <p role="status">Loading users…</p>}
      {users !== null && users.length === 0 && <p className="empty">No users yet. Create one above.</p>}
      {users !== null && users.length > 0 && (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Users table">
          <table className="devices">
            <caption className="visually-hidden">Users of this tenant</caption>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Role</th>
                <th scope="col">State</th>
                <th scope="col">Created</th>
                <th scope="col">Password changed</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {users.map((u) => {
                const self = u.username === username;
                const above = !roleAtLeast(role, u.role);
                const locked = self || above;
                return (
                  <tr key={u.id} data-user={u.id}>
                    <td>
                      {u.username}
                      {self && <span className="muted"> (you)</span>}
                    </td>
                    <td>
                      {locked ? (
                        u.role
                      ) : (
                        <select
                          aria-label={`Role of ${u.username}`}
                          value={u.role}
                          onChange={(e) => void change(u, { role: e.target.value as Role }, `${u.username} is now ${e.target.value}.`)}
                        >
                          {roles.map((r) => (
                            <option key={r} value={r}>
                              {r}
                            </option>
                          ))}
                        </select>
                      )}
                    </td>
                    <td>
                      <span className={'badge state-' + (u.disabled_at ? 'revoked' : 'active')}>{u.disabled_at ? 'disabled' : 'active'}</span>
                    </td>
                    <td>{when(u.created_at)}</td>
                    <td>{when(u.password_changed_at)}</td>
                    <td className="actions">
                      {!locked && !u.disabled_at && (
                        <ConfirmButton
                          label="Disable"
                          name={`Disable ${u.username}`}
                          confirmLabel="Yes, disable"
                          question={`Disable ${u.username}? Their sessions end now.`}
                          onConfirm={() => change(u, { disabled: true }, `${u.username} is disabled.`)}
                        />
                      )}
                      {!locked && u.disabled_at && (
                        <button type="button" className="small" aria-label={`Enable ${u.username}`} onClick={() => void change(u, { disabled: false }, `${u.username} is enabled.`)}>
                          Enable
                        </button>
                      )}
                      {!above && !self && (
                        <PasswordReset user={u} onReset={(p) => change(u, { password: p }, `The password of ${u.username} is reset; their sessions ended.`)} />
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

function UserForm({ api, roles, onCreated }: { api: ApiClient; roles: Role[]; onCreated: (u: UserRow) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [userRole, setUserRole] = useState<Role>('viewer');
  const { busy, error, submit } = useSubmit();

  async function create() {
    if (!username.trim()) throw new Error('User name: required.');
    if ([...password].length < 12) throw new Error('Password: at least 12 characters.');
    const u = await createUser(api, username.trim(), password, userRole);
    setUsername('');
    setPassword('');
    onCreated(u);
  }

  return (
    <form className="admin-form" aria-label="Create a user" onSubmit={(e) => void submit(e, create)}>
      <h3>Create a user</h3>
      <div className="form-grid">
        <label className="block">
          User name
          <input type="text" autoComplete="off" value={username} maxLength={128} onChange={(e) => setUsername(e.target.value)} />
        </label>
        <div className="block-group">
          <label className="block">
            Password
            <input type="password" autoComplete="new-password" value={password} aria-describedby="new-user-password-hint" onChange={(e) => setPassword(e.target.value)} />
          </label>
          <small id="new-user-password-hint">12 characters or more.</small>
        </div>
        <label className="block narrow">
          Role
          <select value={userRole} onChange={(e) => setUserRole(e.target.value as Role)}>
            {roles.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
      </div>
      <FormFoot busy={busy} error={error} label="Create user" />
    </form>
  );
}

function PasswordReset({ user, onReset }: { user: UserRow; onReset: (password: string) => Promise<void> }) {
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  if (!open) {
    return (
      <button type="button" className="small secondary" aria-label={`Reset password of ${user.username}`} onClick={() => setOpen(true)}>
        Reset password
      </button>
    );
  }
  return (
    <form
      className="inline-form"
      aria-label={`Reset password of ${user.username}`}
      onSubmit={async (e) => {
        e.preventDefault();
        if ([...password].length < 12) {
          setError('At least 12 characters.');
          return;
        }
        await onReset(password);
        setOpen(false);
        setPassword('');
      }}
    >
      <label>
        New password for {user.username}{' '}
        <input type="password" autoComplete="new-password" value={password} autoFocus onChange={(e) => setPassword(e.target.value)} />
      </label>{' '}
      <button type="submit" className="small">
        Set password
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
