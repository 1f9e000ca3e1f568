// The tenant a superadmin acts in (docs/api.md, "Tenants"): kept in this tab's sessionStorage,
// sent by the ApiClient as X-HECS-Tenant on every call, and as ?tenant= on the event streams
// (EventSource cannot send headers). No tenant chosen: the caller's own.

export interface ActingTenant {
  id: string;
  name: string;
}

export const kTenantKey = 'hecs.tenant';

const listeners = new Set<() => void>();
let memory: ActingTenant | null = null; // when storage is refused

function storage(): Storage | null {
  try {
    return typeof window !== 'undefined' ? window.sessionStorage : null;
  } catch {
    return null;
  }
}

export function actingTenant(): ActingTenant | null {
  const s = storage();
  if (!s) return memory;
  try {
    const parsed = JSON.parse(s.getItem(kTenantKey) ?? 'null') as Partial<ActingTenant> | null;
    return parsed && typeof parsed.id === 'string' && parsed.id
      ? { id: parsed.id, name: typeof parsed.name === 'string' ? parsed.name : parsed.id }
      : null;
  } catch {
    return null;
  }
}

// Acts in `tenant` from the next call on; null goes back to the caller's own tenant.
export function setActingTenant(tenant: ActingTenant | null): void {
  memory = tenant;
  try {
    if (tenant) storage()?.setItem(kTenantKey, JSON.stringify(tenant));
    else storage()?.removeItem(kTenantKey);
  } catch {
    // quota or privacy settings: kept in memory
  }
  listeners.forEach((l) => l());
}

export function onTenantChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// An event-stream URL with the acting tenant as ?tenant=.
export function withTenant(url: string): string {
  const tenant = actingTenant();
  if (!tenant) return url;
  return url + (url.includes('?') ? '&' : '?') + 'tenant=' + encodeURIComponent(tenant.id);
}
