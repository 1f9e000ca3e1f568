import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from './api';
import { Shell } from './Shell';
import { SignIn } from './SignIn';

afterEach(cleanup);

function problem(status: number, detail: string) {
  return new Response(JSON.stringify({ title: 'x', status, detail, code: 'unauthorized' }), {
    status,
    headers: { 'Content-Type': 'application/problem+json' },
  });
}

describe('SignIn', () => {
  it('has labelled inputs', () => {
    render(<SignIn api={new ApiClient({ fetch: vi.fn() })} onSignedIn={vi.fn()} />);
    expect(screen.getByLabelText('User name')).toBeTruthy();
    expect((screen.getByLabelText('Password') as HTMLInputElement).type).toBe('password');
  });

  it('signs in and hands the login answer over', async () => {
    const reply = { user: { id: 'u', username: 'alice', role: 'viewer', tenant_id: 't' }, session: { id: 's', expires_at: '' }, csrf_token: 'c' };
    const fetch = vi.fn().mockResolvedValue(new Response(JSON.stringify(reply), { status: 201, headers: { 'Content-Type': 'application/json' } }));
    const onSignedIn = vi.fn();
    render(<SignIn api={new ApiClient({ fetch })} onSignedIn={onSignedIn} />);
    fireEvent.change(screen.getByLabelText('User name'), { target: { value: 'alice' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'secret password' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await vi.waitFor(() => expect(onSignedIn).toHaveBeenCalledWith(reply));
  });

  it('shows a wrong password readably, as an alert', async () => {
    const fetch = vi.fn().mockResolvedValue(problem(401, 'wrong username or password'));
    const onSignedIn = vi.fn();
    render(<SignIn api={new ApiClient({ fetch })} onSignedIn={onSignedIn} />);
    fireEvent.change(screen.getByLabelText('User name'), { target: { value: 'alice' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'nope' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Wrong user name or password.');
    expect(onSignedIn).not.toHaveBeenCalled();
  });

  it('asks for both fields before calling the server', async () => {
    const fetch = vi.fn();
    render(<SignIn api={new ApiClient({ fetch })} onSignedIn={vi.fn()} />);
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/user name and password/);
    expect(fetch).not.toHaveBeenCalled();
  });

  it('shows why the user is back on the sign-in page', () => {
    render(<SignIn api={new ApiClient({ fetch: vi.fn() })} notice="Your session expired, sign in again." onSignedIn={vi.fn()} />);
    expect(screen.getByRole('status').textContent).toBe('Your session expired, sign in again.');
  });
});

describe('Shell', () => {
  it('hides Administration from a viewer', () => {
    render(<Shell username="v" role="viewer" tenantName="default" path="/fleet" onLogout={vi.fn()}>x</Shell>);
    const nav = screen.getByRole('navigation', { name: 'Main' });
    expect(nav.textContent).toContain('Fleet');
    expect(nav.textContent).not.toContain('Administration');
  });

  it('shows Administration to an admin', () => {
    render(<Shell username="a" role="admin" tenantName="default" path="/fleet" onLogout={vi.fn()}>x</Shell>);
    expect(screen.getByRole('link', { name: 'Administration' })).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Fleet' }).getAttribute('aria-current')).toBe('page');
  });
});
