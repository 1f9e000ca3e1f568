import { MouseEvent } from 'react';
import { ApiClient, Role, roleAtLeast } from './api';
import { AuditSection } from './AuditSection';
import { KeysSection } from './KeysSection';
import { navigate } from './router';
import { TokensSection } from './TokensSection';
import { UsersSection } from './UsersSection';

export const kAdminSections = [
  { path: '/admin/tokens', label: 'Enrolment tokens' },
  { path: '/admin/keys', label: 'API keys' },
  { path: '/admin/users', label: 'Users' },
  { path: '/admin/audit', label: 'Audit log' },
] as const;

function follow(e: MouseEvent<HTMLAnchorElement>, to: string) {
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(to);
}

interface Props {
  api: ApiClient;
  role: Role;
  username: string;
  path: string; // /admin, /admin/tokens, /admin/keys, /admin/users, /admin/audit
  origin?: string; // the address agents enrol with; the panel's own by default
}

// Administration (admin and above): enrolment tokens, API keys, users, the audit log, each at
// its own address. A lower role opening it directly is told so; the API refuses it anyway.
export function Admin({ api, role, username, path, origin = window.location.origin }: Props) {
  if (!roleAtLeast(role, 'admin')) {
    return (
      <section aria-labelledby="admin-title">
        <h1 id="admin-title">Administration</h1>
        <p className="error" role="alert">
          Not allowed: administration needs the admin role, and you are {role === 'operator' ? 'an' : 'a'} {role}.
        </p>
      </section>
    );
  }
  const current = kAdminSections.find((s) => path.startsWith(s.path)) ?? kAdminSections[0];
  let section;
  if (current.path === '/admin/keys') section = <KeysSection api={api} role={role} />;
  else if (current.path === '/admin/users') section = <UsersSection api={api} role={role} username={username} />;
  else if (current.path === '/admin/audit') section = <AuditSection api={api} />;
  else section = <TokensSection api={api} origin={origin} />;
  return (
    <section aria-labelledby="admin-title" className="admin">
      <h1 id="admin-title">Administration</h1>
      <nav aria-label="Administration sections" className="subnav">
        <ul>
          {kAdminSections.map((s) => (
            <li key={s.path}>
              <a href={s.path} aria-current={s === current ? 'page' : undefined} onClick={(e) => follow(e, s.path)}>
                {s.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {section}
    </section>
  );
}
