import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from './api';
import { Schedules } from './Schedules';
import { firesQuery, inZone, Schedule, targetSummary } from './schedulesApi';
import { json } from './testUtil';

afterEach(cleanup);

function schedule(id: string, extra: Partial<Schedule> = {}): Schedule {
  return {
    id, name: 'nightly-' + id, cron: '30 2 * * *', timezone: 'Europe/Paris', missed: 'skip', max_catchup: 10, enabled: true,
    task: { target: { group: 'gateways' }, command: { argv: ['logrotate', '-f'] } },
    next_fire: '2026-10-25T00:30:00.000Z', last_fire: null, last_task: null, last_error: '',
    created_at: '2026-10-01T00:00:00.000Z', created_by: 'user:alice', ...extra,
  };
}

interface Call { url: string; method: string; body: unknown }

// Answers GET /api/v1/schedules from `list()` and each change with `change(call)`.
function scheduleFetch(list: () => Schedule[], change: (c: Call) => Response = () => json({})) {
  const calls: Call[] = [];
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    const c = { url, method: init?.method ?? 'GET', body: init?.body ? JSON.parse(String(init.body)) : undefined };
    calls.push(c);
    if (c.method === 'GET' && url === '/api/v1/schedules') return json({ items: list() });
    return change(c);
  });
  return { fetch, calls };
}

describe('schedule helpers', () => {
  it('builds the preview query and summarises targets', () => {
    expect(firesQuery('*/15 * * * *', 'Europe/Paris')).toBe('/api/v1/schedules/preview?cron=*%2F15+*+*+*+*&timezone=Europe%2FParis&count=5');
    expect(targetSummary({ target: { devices: ['d1'] } })).toBe('device d1');
    expect(targetSummary({ target: { devices: ['d1', 'd2'] } })).toBe('2 devices');
    expect(targetSummary({ target: { selector: 'site=x' } })).toBe('selector site=x');
    expect(targetSummary(null)).toBe('—');
  });

  it('shows an instant in the schedule zone, and the ISO text for a zone it does not know', () => {
    expect(inZone('2026-10-25T00:30:00.000Z', 'Europe/Paris')).toMatch(/02:30/);
    expect(inZone('2026-10-25T00:30:00.000Z', 'Mars/Olympus')).toBe('2026-10-25T00:30:00.000Z');
  });
});

describe('Schedules', () => {
  it('lists each schedule with its cron, zone, target, state and fires', async () => {
    const { fetch } = scheduleFetch(() => [
      schedule('a'),
      schedule('b', { enabled: false, next_fire: null, last_fire: '2026-10-20T00:30:00.000Z', last_error: 'target: no such group' }),
    ]);
    render(<Schedules api={new ApiClient({ fetch })} role="viewer" />);
    const row = (await screen.findByText('nightly-a')).closest('tr')!;
    expect(within(row).getByText('30 2 * * *')).toBeTruthy();
    expect(within(row).getByText('Europe/Paris')).toBeTruthy();
    expect(within(row).getByText('group gateways')).toBeTruthy();
    expect(within(row).getByText('logrotate -f')).toBeTruthy();
    expect(within(row).getByText('active')).toBeTruthy();
    const paused = screen.getByText('nightly-b').closest('tr')!;
    expect(within(paused).getByText('paused')).toBeTruthy();
    expect(within(paused).getByText('target: no such group')).toBeTruthy();
  });

  it('shows a viewer no form and no actions', async () => {
    const { fetch } = scheduleFetch(() => [schedule('a')]);
    render(<Schedules api={new ApiClient({ fetch })} role="viewer" />);
    await screen.findByText('nightly-a');
    expect(screen.queryByRole('form', { name: 'New schedule' })).toBeNull();
    expect(screen.queryByRole('button', { name: /Pause|Delete/ })).toBeNull();
  });

  it('says what to do when there is no schedule', async () => {
    const { fetch } = scheduleFetch(() => []);
    render(<Schedules api={new ApiClient({ fetch })} role="operator" />);
    expect((await screen.findByText(/No schedule yet/)).textContent).toMatch(/Fill in the form below/);
    expect(screen.getByRole('form', { name: 'New schedule' })).toBeTruthy();
  });

  it('pauses and resumes with PATCH enabled', async () => {
    let items = [schedule('a')];
    const { fetch, calls } = scheduleFetch(
      () => items,
      (c) => {
        items = [schedule('a', { enabled: (c.body as { enabled: boolean }).enabled })];
        return json(items[0]);
      },
    );
    render(<Schedules api={new ApiClient({ fetch })} role="operator" />);
    fireEvent.click(await screen.findByRole('button', { name: 'Pause nightly-a' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Resume nightly-a' }));
    await screen.findByRole('button', { name: 'Pause nightly-a' });
    const patches = calls.filter((c) => c.method === 'PATCH');
    expect(patches.map((c) => c.url)).toEqual(['/api/v1/schedules/a', '/api/v1/schedules/a']);
    expect(patches.map((c) => c.body)).toEqual([{ enabled: false }, { enabled: true }]);
  });

  it('deletes only after the confirmation step', async () => {
    let items = [schedule('a'), schedule('b')];
    const { fetch, calls } = scheduleFetch(
      () => items,
      (c) => {
        items = items.filter((s) => !c.url.endsWith('/' + s.id));
        return new Response(null, { status: 204 });
      },
    );
    render(<Schedules api={new ApiClient({ fetch })} role="operator" />);
    fireEvent.click(await screen.findByRole('button', { name: 'Delete nightly-a' }));
    fireEvent.click(screen.getByRole('button', { name: 'Keep' }));
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
    fireEvent.click(screen.getByRole('button', { name: 'Delete nightly-a' }));
    const confirm = screen.getByRole('group', { name: 'Confirm deleting nightly-a' });
    fireEvent.click(within(confirm).getByRole('button', { name: 'Yes, delete' }));
    await waitFor(() => expect(screen.queryByText('nightly-a')).toBeNull());
    expect(screen.getByText('nightly-b')).toBeTruthy();
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.url)).toEqual(['/api/v1/schedules/a']);
  });

  it('shows a refused change as a readable message', async () => {
    const { fetch } = scheduleFetch(
      () => [schedule('a')],
      () => json({ title: 'forbidden', status: 403, code: 'forbidden', detail: 'this needs the role operator' }, 403, 'application/problem+json'),
    );
    render(<Schedules api={new ApiClient({ fetch })} role="operator" />);
    fireEvent.click(await screen.findByRole('button', { name: 'Pause nightly-a' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Not allowed: this needs the role operator.');
  });

  it('shows a failed list readably', async () => {
    const fetch = vi.fn(async () => json({ title: 'service unavailable', status: 503, code: 'unavailable' }, 503, 'application/problem+json'));
    render(<Schedules api={new ApiClient({ fetch })} role="viewer" />);
    expect((await screen.findByRole('alert')).textContent).toMatch(/unavailable/);
  });
});
