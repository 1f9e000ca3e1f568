import { MouseEvent, ReactNode } from 'react';
import { Role, roleAtLeast } from './api';
import { navigate } from './router';

export interface NavItem {
  path: string;
  label: string;
  least: Role; // the least role that may use the page (docs/api.md "Roles")
}

export const kNav: NavItem[] = [
  { path: '/fleet', label: 'Fleet', least: 'viewer' },
  { path: '/tasks', label: 'Tasks', least: 'viewer' },
  { path: '/schedules', label: 'Schedules', least: 'viewer' },
  { path: '/admin', label: 'Administration', least: 'admin' },
];

interface Props {
  username: string;
  role: Role;
  tenantName: string;
  path: string;
  tenantControl?: ReactNode; // the superadmin's tenant switcher, in place of the tenant's name
  onLogout: () => void;
  children: ReactNode;
}

// The top bar and navigation around every page. Items the role may not use are not shown;
// the API refuses those calls anyway.
export function Shell({ username, role, tenantName, path, tenantControl, onLogout, children }: Props) {
  const items = kNav.filter((i) => roleAtLeast(role, i.least));
  const go = (e: MouseEvent<HTMLAnchorElement>, to: string) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">HECS</span>
        {tenantControl ?? (
          <span className="tenant" title="Tenant">
            Tenant: <strong>{tenantName}</strong>
          </span>
        )}
        <span className="who">
          <span data-testid="username">{username}</span> <span className="role">({role})</span>
        </span>
        <button type="button" className="logout" onClick={onLogout}>
          Sign out
        </button>
      </header>
      <nav className="nav" aria-label="Main">
        <ul>
          {items.map((i) => (
            <li key={i.path}>
              <a
                href={i.path}
                aria-current={path.startsWith(i.path) ? 'page' : undefined}
                onClick={(e) => go(e, i.path)}
              >
                {i.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main className="content">{children}</main>
    </div>
  );
}
