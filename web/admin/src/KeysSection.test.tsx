import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from './api';
import { ApiKey } from './adminApi';
import { json, problem, routeFetch } from './adminTestUtil';
import { KeysSection } from './KeysSection';

afterEach(cleanup);

const kKey: ApiKey = {
  id: 'k1', name: 'ci', prefix: 'hecs_AbCdEf', role: 'operator', state: 'active', created_at: '2026-11-01T00:00:00.000Z',
  created_by: 'user:u1', expires_at: '2099-01-01T00:00:00.000Z', last_used_at: null, revoked_at: null, replaced_by: null,
};
const kSecret = 'hecs_XyZ123' + 'a'.repeat(32);

describe('KeysSection', () => {
  it('lists keys by name, prefix, role, state, last use and expiry', async () => {
    const { fetch } = routeFetch({ 'GET /api/v1/keys': [json({ items: [kKey, { ...kKey, id: 'k2', name: 'old', state: 'revoked', last_used_at: '2026-11-02T00:00:00.000Z' }] })] });
    render(<KeysSection api={new ApiClient({ fetch })} role="admin" />);
    const row = (await screen.findByText('ci')).closest('tr')!;
    expect(within(row).getByText('hecs_AbCdEf…')).toBeTruthy();
    expect(within(row).getByText('operator')).toBeTruthy();
    expect(within(row).getByText('active')).toBeTruthy();
    expect(within(row).getByText('never')).toBeTruthy();
    // A revoked key has no actions left.
    const revoked = screen.getByText('old').closest('tr')!;
    expect(within(revoked).queryByRole('button')).toBeNull();
  });

  it('creates a key, shows it once, and offers only roles up to the own one', async () => {
    const { fetch, calls } = routeFetch({
      'GET /api/v1/keys': [json({ items: [] }), json({ items: [kKey] })],
      'POST /api/v1/keys': [json({ ...kKey, key: kSecret }, 201)],
    });
    render(<KeysSection api={new ApiClient({ fetch })} role="admin" />);
    await screen.findByText(/No API keys yet/);
    const roles = Array.from((screen.getByLabelText('Key role') as HTMLSelectElement).options).map((o) => o.value);
    expect(roles).toEqual(['viewer', 'operator', 'admin']);
    fireEvent.change(screen.getByLabelText('Key name'), { target: { value: 'ci' } });
    fireEvent.change(screen.getByLabelText('Key role'), { target: { value: 'operator' } });
    fireEvent.change(screen.getByLabelText('Expires in (days)'), { target: { value: '30' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create key' }));
    await screen.findByRole('heading', { name: 'Key created: copy it now' });
    const post = calls.find((c) => c.method === 'POST')!;
    expect(post.url).toBe('/api/v1/keys');
    expect(post.body).toEqual({ name: 'ci', role: 'operator', expires_in_s: 30 * 86400 });
    expect((screen.getByLabelText('API key') as HTMLInputElement).value).toBe(kSecret);
    expect(screen.getByRole('button', { name: 'Copy api key' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Done' }));
    expect(document.body.textContent).not.toContain(kSecret);
  });

  it('revokes a key only after the confirmation, with DELETE on its id', async () => {
    const { fetch, calls } = routeFetch({
      'GET /api/v1/keys': [json({ items: [kKey] }), json({ items: [{ ...kKey, state: 'revoked' }] })],
      'DELETE /api/v1/keys/k1': [json({ ...kKey, state: 'revoked' })],
    });
    render(<KeysSection api={new ApiClient({ fetch })} role="owner" />);
    fireEvent.click(await screen.findByRole('button', { name: 'Revoke key ci (hecs_AbCdEf)' }));
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
    fireEvent.click(screen.getByRole('button', { name: 'Revoke key ci (hecs_AbCdEf)' }));
    fireEvent.click(screen.getByRole('button', { name: 'Yes, revoke' }));
    expect(await screen.findByText(/is revoked: calls with it are refused/)).toBeTruthy();
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.url)).toEqual(['/api/v1/keys/k1']);
    await waitFor(() => expect(screen.getByText('revoked')).toBeTruthy());
  });

  it('rotates a key with the overlap asked for and shows the new key once', async () => {
    const { fetch, calls } = routeFetch({
      'GET /api/v1/keys': [json({ items: [kKey] })],
      'POST /api/v1/keys/k1/rotate': [json({ ...kKey, id: 'k3', key: kSecret, replaces: 'k1', old_key_expires_at: '2026-12-06T10:00:00.000Z' }, 201)],
    });
    render(<KeysSection api={new ApiClient({ fetch })} role="admin" />);
    fireEvent.click(await screen.findByRole('button', { name: 'Rotate key ci (hecs_AbCdEf)' }));
    fireEvent.change(screen.getByLabelText('Old key works for (hours)'), { target: { value: '2' } });
    fireEvent.click(screen.getByRole('button', { name: 'Rotate now' }));
    await screen.findByRole('heading', { name: 'Key rotated: copy the new key now' });
    expect(calls.find((c) => c.method === 'POST')).toMatchObject({ url: '/api/v1/keys/k1/rotate', body: { overlap_s: 7200 } });
    expect(screen.getByText(/The old key keeps working until/)).toBeTruthy();
  });

  it('shows a refused creation as a readable message', async () => {
    const { fetch } = routeFetch({
      'GET /api/v1/keys': [json({ items: [] })],
      'POST /api/v1/keys': [problem(403, 'forbidden', 'you cannot make a key with a role above your own (admin)')],
    });
    render(<KeysSection api={new ApiClient({ fetch })} role="admin" />);
    await screen.findByText(/No API keys yet/);
    fireEvent.change(screen.getByLabelText('Key name'), { target: { value: 'x' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create key' }));
    expect((await screen.findByRole('alert')).textContent).toBe(
      'Not allowed: you cannot make a key with a role above your own (admin).');
    expect(screen.queryByLabelText('API key')).toBeNull();
  });
});
