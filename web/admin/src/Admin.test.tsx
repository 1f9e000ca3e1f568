import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Admin } from './Admin';
import { ApiClient } from './api';
import { json, routeFetch } from './adminTestUtil';

afterEach(cleanup);

describe('Admin', () => {
  it('tells a viewer or operator who opens it directly that it is not allowed, and asks nothing', () => {
    for (const role of ['viewer', 'operator'] as const) {
      const fetch = vi.fn();
      render(<Admin api={new ApiClient({ fetch })} role={role} username="x" path="/admin" />);
      expect(screen.getByRole('heading', { name: 'Administration' })).toBeTruthy();
      expect(screen.getByRole('alert').textContent).toContain('Not allowed: administration needs the admin role');
      expect(screen.queryByRole('navigation', { name: 'Administration sections' })).toBeNull();
      expect(fetch).not.toHaveBeenCalled();
      cleanup();
    }
  });

  it('shows an admin the section its path names, enrolment tokens by default', async () => {
    const { fetch } = routeFetch({
      'GET /api/v1/enrollment-tokens': [json({ items: [] })],
      'GET /api/v1/audit': [json({ items: [], next_cursor: null })],
    });
    render(<Admin api={new ApiClient({ fetch })} role="admin" username="a" path="/admin" origin="https://c.example" />);
    expect(screen.getByRole('heading', { name: 'Enrolment tokens' })).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Enrolment tokens' }).getAttribute('aria-current')).toBe('page');
    cleanup();
    render(<Admin api={new ApiClient({ fetch })} role="owner" username="a" path="/admin/audit" />);
    expect(screen.getByRole('heading', { name: 'Audit log' })).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Audit log' }).getAttribute('aria-current')).toBe('page');
    expect(await screen.findByText(/No records yet/)).toBeTruthy();
  });
});
