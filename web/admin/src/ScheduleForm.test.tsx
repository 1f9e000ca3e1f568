import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from './api';
import { ScheduleForm } from './ScheduleForm';
import { browserTimeZone } from './schedulesApi';
import { json } from './testUtil';

afterEach(cleanup);

const kFires = {
  next: ['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z', '2026-10-27T01:30:00.000Z', '2026-10-28T01:30:00.000Z'],
};
const kTargets = { count: 1, devices: [{ id: 'd1', hostname: 'pi-1', online: true }], confirm_required: false, confirm_above: 50 };

interface Call { url: string; method: string; body: unknown }

function formFetch(fires: (url: string) => Response, ...posts: Response[]) {
  const calls: Call[] = [];
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    calls.push({ url, method: init?.method ?? 'GET', body: init?.body ? JSON.parse(String(init.body)) : undefined });
    if (url.startsWith('/api/v1/schedules/preview')) return fires(url);
    if (url.startsWith('/api/v1/targets')) return json(kTargets);
    return posts.shift() ?? json({}, 500);
  });
  return { fetch, calls };
}

const previews = (calls: Call[]) => calls.filter((c) => c.url.startsWith('/api/v1/schedules/preview')).map((c) => new URL(c.url, 'http://x').searchParams);

describe('ScheduleForm', () => {
  it('shows the next five fire times once typing stops, asked once', async () => {
    const { fetch, calls } = formFetch(() => json(kFires));
    render(<ScheduleForm api={new ApiClient({ fetch })} onCreated={vi.fn()} />);
    expect((screen.getByLabelText('Time zone') as HTMLInputElement).value).toBe(browserTimeZone());
    fireEvent.change(screen.getByLabelText('Time zone'), { target: { value: 'Europe/Paris' } });
    fireEvent.change(screen.getByLabelText('Cron expression'), { target: { value: '30' } });
    fireEvent.change(screen.getByLabelText('Cron expression'), { target: { value: '30 2 * * *' } });
    const list = await screen.findByRole('list', { name: 'Next fire times' });
    const times = [...list.querySelectorAll('time')].map((t) => t.getAttribute('datetime'));
    expect(times).toEqual(kFires.next);
    expect(list.textContent).toMatch(/02:30/); // shown in the schedule's zone
    const asked = previews(calls);
    expect(asked).toHaveLength(1); // debounced
    expect(asked[0].get('cron')).toBe('30 2 * * *');
    expect(asked[0].get('timezone')).toBe('Europe/Paris');
    expect(asked[0].get('count')).toBe('5');
  });

  it("shows the server's message for a cron expression that does not parse", async () => {
    const { fetch } = formFetch((url) =>
      url.includes('61')
        ? json({ title: 'invalid request', status: 400, code: 'invalid_input', detail: 'cron: minute: 61 out of range 0..59' }, 400, 'application/problem+json')
        : json(kFires));
    render(<ScheduleForm api={new ApiClient({ fetch })} onCreated={vi.fn()} />);
    fireEvent.change(screen.getByLabelText('Cron expression'), { target: { value: '61 * * * *' } });
    expect(await screen.findByText('Cron: minute: 61 out of range 0..59.')).toBeTruthy();
    expect(screen.queryByRole('list', { name: 'Next fire times' })).toBeNull();
    fireEvent.change(screen.getByLabelText('Cron expression'), { target: { value: '0 * * * *' } });
    await screen.findByRole('list', { name: 'Next fire times' });
    expect(screen.queryByText(/out of range/)).toBeNull();
  });

  it('previews the target and creates the schedule', async () => {
    const made = { id: 's1', name: 'rotate' };
    const { fetch, calls } = formFetch(() => json(kFires), json(made, 201));
    const onCreated = vi.fn();
    render(<ScheduleForm api={new ApiClient({ fetch })} onCreated={onCreated} />);
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'rotate' } });
    fireEvent.change(screen.getByLabelText('Cron expression'), { target: { value: '@daily' } });
    fireEvent.change(screen.getByLabelText('Time zone'), { target: { value: 'UTC' } });
    fireEvent.change(screen.getByLabelText('Missed fires'), { target: { value: 'once' } });
    fireEvent.change(screen.getByLabelText('Device ids'), { target: { value: 'd1' } });
    expect((await screen.findByTestId('target-count')).textContent).toBe('1');
    expect(screen.getByTestId('target-preview').textContent).toContain('pi-1');
    fireEvent.change(screen.getByLabelText('Command'), { target: { value: "logrotate -f '/etc/log rotate.conf'" } });
    fireEvent.click(screen.getByRole('button', { name: 'Create schedule' }));
    await waitFor(() => expect(onCreated).toHaveBeenCalledWith(made));
    const post = calls.find((c) => c.method === 'POST')!;
    expect(post.url).toBe('/api/v1/schedules');
    expect(post.body).toEqual({
      name: 'rotate', cron: '@daily', timezone: 'UTC', missed: 'once',
      task: { target: { devices: ['d1'] }, command: { argv: ['logrotate', '-f', '/etc/log rotate.conf'] }, timeout_s: 300 },
    });
    expect((screen.getByLabelText('Name') as HTMLInputElement).value).toBe('');
  });

  it('checks the fields before sending and shows a refusal of the server', async () => {
    const refused = json({ title: 'invalid request', status: 400, code: 'invalid_input', detail: 'task.target: no such group' }, 400, 'application/problem+json');
    const { fetch, calls } = formFetch(() => json(kFires), refused);
    render(<ScheduleForm api={new ApiClient({ fetch })} onCreated={vi.fn()} />);
    fireEvent.click(screen.getByRole('button', { name: 'Create schedule' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Give the schedule a name.');
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'x' } });
    fireEvent.change(screen.getByLabelText('Cron expression'), { target: { value: '@hourly' } });
    fireEvent.click(screen.getByLabelText('Group'));
    fireEvent.change(screen.getByLabelText('Group name'), { target: { value: 'nope' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create schedule' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Type the command to run.');
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
    fireEvent.change(screen.getByLabelText('Command'), { target: { value: 'uptime' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create schedule' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Task.target: no such group.');
  });
});
