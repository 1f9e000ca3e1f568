import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from './api';
import { RunForm } from './RunForm';
import { json } from './testUtil';

afterEach(cleanup);

const kPreview = {
  count: 2, devices: [{ id: 'd1', hostname: 'pi-1', online: true }, { id: 'd2', hostname: 'pi-2', online: false }],
  confirm_required: false, confirm_above: 50, max_targets: 100000,
};

interface Call { url: string; method: string; body: unknown }

// Answers the preview with `preview` and each POST with the next of `posts`.
function formFetch(preview: unknown, ...posts: Response[]) {
  const calls: Call[] = [];
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    calls.push({ url, method: init?.method ?? 'GET', body: init?.body ? JSON.parse(String(init.body)) : undefined });
    if (url.startsWith('/api/v1/targets')) return json(preview);
    return posts.shift() ?? json({}, 500);
  });
  return { fetch, calls };
}

function fill(target: string, command: string) {
  fireEvent.change(screen.getByLabelText('Device ids'), { target: { value: target } });
  fireEvent.change(screen.getByLabelText('Command'), { target: { value: command } });
}

describe('RunForm', () => {
  it('previews the target once typing stops, then runs the task', async () => {
    const { fetch, calls } = formFetch(kPreview, json({ id: 't1', state: 'running' }, 201));
    const onCreated = vi.fn();
    render(<RunForm api={new ApiClient({ fetch })} onCreated={onCreated} />);
    fireEvent.change(screen.getByLabelText('Device ids'), { target: { value: 'd1' } });
    fireEvent.change(screen.getByLabelText('Device ids'), { target: { value: 'd1, d2' } });
    expect((await screen.findByTestId('preview-count')).textContent).toBe('2');
    expect(screen.getByText('pi-1')).toBeTruthy();
    const previews = calls.filter((c) => c.url.startsWith('/api/v1/targets'));
    expect(previews.map((c) => c.url)).toEqual(['/api/v1/targets?devices=d1%2Cd2']); // debounced: one call
    fireEvent.change(screen.getByLabelText('Command'), { target: { value: `sh -c 'echo "hi there"'` } });
    fireEvent.change(screen.getByLabelText('Timeout (seconds)'), { target: { value: '60' } });
    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    await waitFor(() => expect(onCreated).toHaveBeenCalled());
    const post = calls.find((c) => c.method === 'POST')!;
    expect(post.url).toBe('/api/v1/tasks');
    expect(post.body).toEqual({ target: { devices: ['d1', 'd2'] }, command: { argv: ['sh', '-c', 'echo "hi there"'] }, timeout_s: 60 });
  });

  it('asks for confirmation when the preview says so, and sends confirm: true', async () => {
    const { fetch, calls } = formFetch({ ...kPreview, count: 62, confirm_required: true }, json({ id: 't1' }, 201));
    const onCreated = vi.fn();
    render(<RunForm api={new ApiClient({ fetch })} onCreated={onCreated} />);
    fireEvent.click(screen.getByLabelText('Selector'));
    fireEvent.change(screen.getByLabelText('Tag selector'), { target: { value: 'role=gateway' } });
    fireEvent.change(screen.getByLabelText('Command'), { target: { value: 'uptime' } });
    await screen.findByText('needs confirmation');
    expect(calls[0].url).toBe('/api/v1/targets?selector=role%3Dgateway');
    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    expect((await screen.findByRole('alert')).textContent).toContain('needs confirmation');
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
    fireEvent.click(screen.getByLabelText(/Yes, run on all 62 devices/));
    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    await waitFor(() => expect(onCreated).toHaveBeenCalled());
    expect(calls.find((c) => c.method === 'POST')!.body).toMatchObject({ target: { selector: 'role=gateway' }, confirm: true });
  });

  it('turns a confirmation_required answer into the checkbox', async () => {
    const refused = json({ title: 'confirmation required', status: 400, code: 'confirmation_required', detail: 'target: 60 devices, more than 50: repeat with "confirm": true', devices: 60, confirm_above: 50 }, 400, 'application/problem+json');
    const { fetch, calls } = formFetch(kPreview, refused, json({ id: 't2' }, 201));
    const onCreated = vi.fn();
    render(<RunForm api={new ApiClient({ fetch })} onCreated={onCreated} />);
    fill('d1', 'uptime');
    await screen.findByTestId('preview-count');
    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    expect((await screen.findByRole('alert')).textContent).toContain('tick the box to confirm');
    fireEvent.click(screen.getByLabelText(/Yes, run on all/));
    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    await waitFor(() => expect(onCreated).toHaveBeenCalledWith({ id: 't2' }));
    expect(calls.filter((c) => c.method === 'POST').map((c) => (c.body as { confirm?: boolean }).confirm)).toEqual([undefined, true]);
  });

  it('shows problems of the preview and of the POST as sentences', async () => {
    const badPreview = json({ title: 'bad', status: 400, code: 'invalid_input', detail: 'selector: expected a key' }, 400, 'application/problem+json');
    const fetch = vi.fn(async (url: string) =>
      url.startsWith('/api/v1/targets')
        ? badPreview.clone()
        : json({ title: 'forbidden', status: 403, code: 'forbidden', detail: 'needs the operator role' }, 403, 'application/problem+json'));
    render(<RunForm api={new ApiClient({ fetch })} onCreated={vi.fn()} />);
    fireEvent.click(screen.getByLabelText('Selector'));
    fireEvent.change(screen.getByLabelText('Tag selector'), { target: { value: '=x' } });
    await screen.findByText('Selector: expected a key.');
    fireEvent.change(screen.getByLabelText('Command'), { target: { value: 'uptime' } });
    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Not allowed: needs the operator role.');
  });

  it('checks the command and the script before sending', async () => {
    const { fetch, calls } = formFetch(kPreview, json({ id: 't3' }, 201));
    const onCreated = vi.fn();
    render(<RunForm api={new ApiClient({ fetch })} onCreated={onCreated} />);
    fill('d1', "echo 'open");
    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    expect((await screen.findByRole('alert')).textContent).toBe('The command has an unclosed single quote.');
    fireEvent.click(screen.getByLabelText('Script with an interpreter'));
    fireEvent.change(screen.getByLabelText('Interpreter'), { target: { value: '/bin/bash' } });
    fireEvent.change(screen.getByLabelText('Script'), { target: { value: 'echo hi\n' } });
    fireEvent.click(screen.getByRole('button', { name: 'Run' }));
    await waitFor(() => expect(onCreated).toHaveBeenCalled());
    expect(calls.find((c) => c.method === 'POST')!.body).toMatchObject({ command: { script: 'echo hi\n', interpreter: '/bin/bash' } });
  });
});
