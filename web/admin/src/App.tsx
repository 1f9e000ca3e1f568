import { Fragment, lazy, Suspense, useEffect, useMemo, useState } from 'react';
import { ApiClient, LoginReply, Me, Role } from './api';
import { DevicePage } from './DevicePage';
import { Fleet } from './Fleet';
import { navigate, usePath } from './router';
import { Schedules } from './Schedules';
import { kNav, Shell } from './Shell';
import { SignIn } from './SignIn';
import { TaskDetail } from './TaskDetail';
import { Tasks } from './Tasks';
import { actingTenant, setActingTenant } from './tenant';
import { TenantSwitcher } from './TenantSwitcher';

// Only admins open it: loaded when first shown, outside the initial bundle.
const Admin = lazy(() => import('./Admin').then((m) => ({ default: m.Admin })));

interface Session {
  username: string;
  role: Role;
  tenantId: string; // the user's own tenant
  tenantName: string;
}

function Placeholder({ title }: { title: string }) {
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">{title}</h1>
      <p>This page is not built yet.</p>
    </section>
  );
}

export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [notice, setNotice] = useState<string | undefined>();
  const path = usePath();
  const [restoring, setRestoring] = useState(true);
  const [acting, setActing] = useState(() => actingTenant()?.id ?? ''); // remounts the page
  const api = useMemo(
    () =>
      new ApiClient({
        onUnauthorized: (message) => {
          setSession(null);
          setNotice(message);
        },
      }),
    [],
  );

  // After a reload: the CSRF token kept in sessionStorage, with the session cookie, still signs in.
  useEffect(() => {
    if (!api.hasSession) {
      setRestoring(false);
      return;
    }
    // Asked without the acting tenant, so that me names the user's own tenant.
    const kept = actingTenant();
    setActingTenant(null);
    api
      .me()
      .then((me) => {
        if (me.kind === 'session' && me.username) {
          setSession({ username: me.username, role: me.role, tenantId: me.tenant_id, tenantName: me.tenant_name ?? me.tenant_id });
          if (kept && me.role === 'superadmin') setActingTenant(kept);
        }
      })
      .catch(() => {})
      .finally(() => setRestoring(false));
  }, [api]);

  useEffect(() => {
    if (restoring) return;
    if (!session && path !== '/signin') navigate('/signin', true);
    if (session && (path === '/signin' || path === '/')) navigate('/fleet', true);
  }, [session, path, restoring]);

  async function signedIn(reply: LoginReply) {
    let me: Me | null = null;
    try {
      me = await api.me();
    } catch {
      me = null; // the tenant name is only shown; the session works without it
    }
    setNotice(undefined);
    setSession({
      username: reply.user.username,
      role: reply.user.role,
      tenantId: reply.user.tenant_id,
      tenantName: me?.tenant_name ?? reply.user.tenant_id,
    });
  }

  async function logout() {
    try {
      await api.logout();
    } catch {
      // Signed out locally either way; the server ends an unused session within the hour.
    }
    setSession(null);
    setNotice('You are signed out.');
  }

  if (restoring) return <p role="status">Loading…</p>;
  if (!session) return <SignIn api={api} notice={notice} onSignedIn={(r) => void signedIn(r)} />;

  const item = kNav.find((i) => path.startsWith(i.path));
  let page;
  if (item && item.path === '/fleet' && /^\/fleet\/[^/]+$/.test(path)) page = <DevicePage key={path} api={api} id={decodeURIComponent(path.slice('/fleet/'.length))} />;
  else if (item && item.path === '/fleet') page = <Fleet api={api} role={session.role} />;
  else if (item && item.path === '/tasks' && /^\/tasks\/?$/.test(path)) page = <Tasks api={api} role={session.role} />;
  else if (item && item.path === '/tasks') page = <TaskDetail key={path} api={api} role={session.role} id={decodeURIComponent(path.slice('/tasks/'.length))} />;
  else if (item && item.path === '/schedules') page = <Schedules api={api} role={session.role} />;
  else if (item && item.path === '/admin') page = <Suspense fallback={<p role="status">Loading…</p>}><Admin api={api} role={session.role} username={session.username} path={path} /></Suspense>;
  else page = <Placeholder title="Not found" />;
  return (
    <Shell
      username={session.username}
      role={session.role}
      tenantName={session.tenantName}
      path={path}
      tenantControl={
        session.role === 'superadmin' ? (
          <TenantSwitcher
            api={api}
            homeId={session.tenantId}
            homeName={session.tenantName}
            onSwitched={() => setActing(actingTenant()?.id ?? '')}
          />
        ) : undefined
      }
      onLogout={() => void logout()}
    >
      <Fragment key={acting}>{page}</Fragment>
    </Shell>
  );
}
