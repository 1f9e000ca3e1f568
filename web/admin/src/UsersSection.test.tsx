import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from './api';
import { UserRow } from './adminApi';
import { json, problem, routeFetch } from './adminTestUtil';
import { UsersSection } from './UsersSection';

afterEach(cleanup);

function user(id: string, username: string, role: UserRow['role'], disabled = false): UserRow {
  return {
    id, tenant_id: 't', username, role, created_at: '2026-11-01T00:00:00.000Z', password_changed_at: '2026-11-01T00:00:00.000Z',
    disabled_at: disabled ? '2026-11-03T00:00:00.000Z' : null,
  };
}

const kUsers = [user('u1', 'me', 'admin'), user('u2', 'bob', 'viewer'), user('u3', 'boss', 'owner')];

describe('UsersSection', () => {
  it('changes a role with PATCH and shows the new one', async () => {
    const { fetch, calls } = routeFetch({
      'GET /api/v1/users': [json({ items: kUsers }), json({ items: [kUsers[0], user('u2', 'bob', 'operator'), kUsers[2]] })],
      'PATCH /api/v1/users/u2': [json(user('u2', 'bob', 'operator'))],
    });
    render(<UsersSection api={new ApiClient({ fetch })} role="admin" username="me" />);
    const select = (await screen.findByLabelText('Role of bob')) as HTMLSelectElement;
    expect(Array.from(select.options).map((o) => o.value)).toEqual(['viewer', 'operator', 'admin']);
    // Oneself and a user above one's role cannot be changed here.
    expect(screen.queryByLabelText('Role of me')).toBeNull();
    expect(screen.queryByLabelText('Role of boss')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Disable boss' })).toBeNull();
    fireEvent.change(select, { target: { value: 'operator' } });
    expect(await screen.findByText('bob is now operator.')).toBeTruthy();
    expect(calls.find((c) => c.method === 'PATCH')).toMatchObject({ url: '/api/v1/users/u2', body: { role: 'operator' } });
    expect(((await screen.findByLabelText('Role of bob')) as HTMLSelectElement).value).toBe('operator');
  });

  it('shows a refused change readably and keeps the stored role', async () => {
    const { fetch } = routeFetch({
      'GET /api/v1/users': [json({ items: kUsers })],
      'PATCH /api/v1/users/u2': [problem(409, 'conflict', "this is the tenant's last owner")],
    });
    render(<UsersSection api={new ApiClient({ fetch })} role="admin" username="me" />);
    fireEvent.change(await screen.findByLabelText('Role of bob'), { target: { value: 'admin' } });
    expect((await screen.findByRole('alert')).textContent).toBe("This is the tenant's last owner.");
    expect((screen.getByLabelText('Role of bob') as HTMLSelectElement).value).toBe('viewer');
  });

  it('creates a user, disables one after a confirmation, enables and resets a password', async () => {
    const { fetch, calls } = routeFetch({
      'GET /api/v1/users': [json({ items: [...kUsers, user('u4', 'eve', 'viewer', true)] })],
      'POST /api/v1/users': [json(user('u5', 'carol', 'operator'), 201)],
      'PATCH /api/v1/users/u2': [json(user('u2', 'bob', 'viewer', true))],
      'PATCH /api/v1/users/u4': [json(user('u4', 'eve', 'viewer'))],
    });
    render(<UsersSection api={new ApiClient({ fetch })} role="admin" username="me" />);
    await screen.findByText('bob');
    const form = screen.getByRole('form', { name: 'Create a user' });
    fireEvent.change(within(form).getByLabelText('User name'), { target: { value: 'carol' } });
    fireEvent.change(within(form).getByLabelText('Password'), { target: { value: 'short' } });
    fireEvent.change(within(form).getByLabelText('Role'), { target: { value: 'operator' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Create user' }));
    expect((await within(form).findByRole('alert')).textContent).toBe('Password: at least 12 characters.');
    fireEvent.change(within(form).getByLabelText('Password'), { target: { value: 'correct horse battery' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Create user' }));
    expect(await screen.findByText('User carol created as operator.')).toBeTruthy();
    expect(calls.find((c) => c.method === 'POST')).toMatchObject({
      url: '/api/v1/users', body: { username: 'carol', password: 'correct horse battery', role: 'operator' },
    });

    fireEvent.click(screen.getByRole('button', { name: 'Disable bob' }));
    fireEvent.click(screen.getByRole('button', { name: 'Yes, disable' }));
    expect(await screen.findByText('bob is disabled.')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Enable eve' }));
    expect(await screen.findByText('eve is enabled.')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Reset password of bob' }));
    fireEvent.change(screen.getByLabelText('New password for bob'), { target: { value: 'another long secret' } });
    fireEvent.click(screen.getByRole('button', { name: 'Set password' }));
    expect(await screen.findByText(/The password of bob is reset/)).toBeTruthy();
    const patches = calls.filter((c) => c.method === 'PATCH').map((c) => [c.url, c.body]);
    expect(patches).toEqual([
      ['/api/v1/users/u2', { disabled: true }],
      ['/api/v1/users/u4', { disabled: false }],
      ['/api/v1/users/u2', { password: 'another long secret' }],
    ]);
  });
});
