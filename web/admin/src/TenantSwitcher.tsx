import { useEffect, useState } from 'react';
import { ApiClient, ApiError } from './api';
import { actingTenant, setActingTenant } from './tenant';
import './tenant.css';

export interface TenantRow {
  id: string;
  name: string;
  disabled_at: string | null;
}

// The superadmin's tenant switcher (docs/admin-panel.md): lists every tenant
// (GET /api/v1/tenants); choosing one makes every later call act in it (X-HECS-Tenant) until
// "Own tenant" is chosen again. `onSwitched` lets the app reload the page's data.
export function TenantSwitcher({
  api, homeId, homeName, onSwitched,
}: { api: ApiClient; homeId: string; homeName: string; onSwitched: () => void }) {
  const [tenants, setTenants] = useState<TenantRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [acting, setActing] = useState(actingTenant);

  useEffect(() => {
    api
      .request<{ items: TenantRow[] }>('GET', '/api/v1/tenants')
      .then((r) => setTenants(r.items))
      .catch((e: unknown) => {
        if (!(e instanceof ApiError && e.status === 401)) setError(e instanceof Error ? e.message : String(e));
      });
  }, [api]);

  function choose(id: string) {
    const row = tenants?.find((t) => t.id === id);
    const next = id && row ? { id: row.id, name: row.name } : null;
    setActingTenant(next);
    setActing(next);
    onSwitched();
  }

  // The chosen tenant stays listed even before the list arrives.
  const rows = (tenants ?? (acting ? [{ id: acting.id, name: acting.name, disabled_at: null }] : [])).filter(
    (t) => t.id !== homeId || t.id === acting?.id,
  );
  return (
    <div className="tenant-switcher">
      <label>
        Tenant{' '}
        <select value={acting?.id ?? ''} onChange={(e) => choose(e.target.value)} disabled={!tenants && !error} aria-describedby="tenant-acting">
          <option value="">Own tenant ({homeName})</option>
          {rows.map((t) => (
            <option key={t.id} value={t.id} disabled={t.disabled_at !== null && t.id !== acting?.id}>
              {t.name}
              {t.disabled_at ? ' (disabled)' : ''}
            </option>
          ))}
        </select>
      </label>
      <span id="tenant-acting" role="status" data-testid="acting-tenant">
        {acting ? (
          <span className="badge warn">
            Acting in <strong>{acting.name}</strong>
          </span>
        ) : (
          <span className="visually-hidden">Acting in your own tenant</span>
        )}
      </span>
      {error && <span className="error">Tenants: {error}</span>}
    </div>
  );
}
