import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from './api';
import { addOutput, TaskDetail } from './TaskDetail';
import { setActingTenant } from './tenant';
import { FakeEventSource, json } from './testUtil';

afterEach(cleanup);

// An EventSource the test drives: emit(name, data) delivers one server-sent event.

const kId = '0193aaaa-bbbb-7ccc-8ddd-eeeeffff0000';
const kTask = {
  id: kId, state: 'running', created_at: '2026-01-01T00:00:00.000Z', created_by: 'alice', origin: 'api',
  target: { devices: ['d1', 'd2'] }, spec: { command: { argv: ['uname', '-a'] } }, total: 2, counts: { running: 2 },
};

function detailFetch(runs: unknown[]) {
  const calls: { url: string; method: string }[] = [];
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    calls.push({ url, method: init?.method ?? 'GET' });
    if (url.startsWith('/api/v1/devices')) {
      return json({ items: [{ id: 'd1', hostname: 'pi-1' }, { id: 'd2', hostname: 'pi-2' }], next_cursor: null, total: 2 });
    }
    if (url.includes('/runs?')) return json({ items: runs, next: null });
    if (url.endsWith('/artifact')) return new Response('tar.gz bytes', { status: 200, headers: { 'Content-Type': 'application/gzip' } });
    if (init?.method === 'POST') return new Response(null, { status: 204 });
    return json(kTask);
  });
  return { fetch, calls };
}

function renderDetail(fetch: ReturnType<typeof vi.fn>, role: 'viewer' | 'operator' = 'operator') {
  const factory = (url: string) => new FakeEventSource(url) as unknown as EventSource;
  return render(<TaskDetail api={new ApiClient({ fetch })} role={role} id={kId} eventSource={factory} />);
}

describe('addOutput', () => {
  it('appends pieces and skips one seen already', () => {
    let o = addOutput({}, 'd1', 'stdout', 0, 'héllo\n');
    o = addOutput(o, 'd1', 'stdout', 7, 'world\n');
    expect(o.d1.stdout).toEqual({ text: 'héllo\nworld\n', next: 13 });
    expect(addOutput(o, 'd1', 'stdout', 0, 'héllo\n')).toBe(o);
    expect(addOutput(o, 'd1', 'stderr', 0, 'oops').d1.stderr.text).toBe('oops');
  });
});

describe('TaskDetail', () => {
  it('follows the task events: runs, output, end', async () => {
    const { fetch } = detailFetch([
      { device: 'd1', state: 'running', exit_code: null, started_at: '2026-01-01T00:00:00.000Z', ended_at: null },
      { device: 'd2', state: 'sent', exit_code: null },
    ]);
    renderDetail(fetch);
    await screen.findByText('pi-1');
    const source = FakeEventSource.last!;
    expect(source.url).toBe(`/api/v1/tasks/${kId}/events`);
    source.emit('task', { id: kId, state: 'running', total: 2 });
    source.emit('output', { device: 'd1', stream: 'stdout', offset: 0, data: 'Linux pi-1 6.1\n' });
    source.emit('output', { device: 'd1', stream: 'stderr', offset: 0, data: 'warning\n' });
    source.emit('output', { device: 'd1', stream: 'stdout', offset: 0, data: 'Linux pi-1 6.1\n' }); // again: skipped
    expect(screen.getByLabelText('Standard output of pi-1').textContent).toBe('Linux pi-1 6.1\n');
    expect(screen.getByLabelText('Standard error of pi-1').textContent).toBe('warning\n');
    source.emit('run', { device: 'd1', state: 'succeeded', exit_code: 0, error: '', truncated: false });
    source.emit('run', { device: 'd2', state: 'failed', exit_code: 2, error: '', truncated: false });
    expect(screen.getByTestId('task-progress').textContent).toBe('2 of 2 done, 1 succeeded, 1 failed');
    const states = screen.getAllByTestId('run-state').map((e) => e.textContent);
    expect(states).toEqual(['succeeded', 'failed']);
    expect((screen.getByRole('progressbar') as HTMLProgressElement).value).toBe(2);
    source.emit('end', { state: 'finished' });
    expect(source.closed).toBe(true);
    expect(screen.getByTestId('task-state').textContent).toBe('finished');
  });

  it('closes the stream on unmount', async () => {
    const { fetch } = detailFetch([]);
    const view = renderDetail(fetch);
    await screen.findByText(/0 of 2 done/);
    const source = FakeEventSource.last!;
    view.unmount();
    expect(source.closed).toBe(true);
  });

  it('downloads an artifact through the API client, in the acting tenant', async () => {
    setActingTenant({ id: 'tenant-b', name: 'B' });
    const { fetch } = detailFetch([
      { device: 'd2', state: 'succeeded', exit_code: 0, artifact: { name: 'collect-logs-x.tar.gz', size: 2048, sha256: 'a'.repeat(64), state: 'complete', received: 2048 } },
    ]);
    const created: Blob[] = [];
    const clicked: string[] = [];
    const createObjectURL = vi.fn((b: Blob) => {
      created.push(b);
      return 'blob:artifact';
    });
    Object.assign(URL, { createObjectURL, revokeObjectURL: vi.fn() });
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(`${this.getAttribute('href')} ${this.download}`);
    });
    try {
      renderDetail(fetch);
      fireEvent.click(await screen.findByRole('button', { name: /Download collect-logs-x.tar.gz \(2 KiB\)/ }));
      await waitFor(() => expect(clicked).toEqual(['blob:artifact collect-logs-x.tar.gz']));
      const call = fetch.mock.calls.find(([url]) => url === `/api/v1/tasks/${kId}/runs/d2/artifact`);
      expect(call).toBeDefined();
      expect((call![1] as RequestInit).headers).toMatchObject({ 'X-HECS-Tenant': 'tenant-b' });
      expect(await created[0].text()).toBe('tar.gz bytes');
    } finally {
      click.mockRestore();
      setActingTenant(null);
    }
  });

  it('says why an artifact could not be downloaded', async () => {
    const { fetch } = detailFetch([
      { device: 'd2', state: 'succeeded', exit_code: 0, artifact: { name: 'logs.tar.gz', size: 10, sha256: 'a'.repeat(64), state: 'complete', received: 10 } },
    ]);
    const failing = vi.fn(async (url: string, init?: RequestInit) =>
      url.endsWith('/artifact')
        ? new Response(JSON.stringify({ title: 'Not Found', detail: 'no such artifact' }), { status: 404, headers: { 'Content-Type': 'application/problem+json' } })
        : fetch(url, init));
    renderDetail(failing);
    fireEvent.click(await screen.findByRole('button', { name: /Download logs.tar.gz/ }));
    expect(await screen.findByText('No such artifact.')).toBeTruthy();
  });

  it('cancels the task and one run for an operator, not for a viewer', async () => {
    const { fetch, calls } = detailFetch([
      { device: 'd1', state: 'running', exit_code: null },
      { device: 'd2', state: 'succeeded', exit_code: 0, artifact: { name: 'collect-logs-x.tar.gz', size: 2048, sha256: 'a'.repeat(64), state: 'complete', received: 2048 } },
    ]);
    renderDetail(fetch);
    await screen.findByRole('button', { name: /Download collect-logs-x.tar.gz/ });
    fireEvent.click(screen.getByRole('button', { name: 'Cancel the run on pi-1' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'POST' && c.url === `/api/v1/tasks/${kId}/runs/d1/cancel`)).toBe(true));
    fireEvent.click(screen.getByRole('button', { name: 'Cancel task' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'POST' && c.url === `/api/v1/tasks/${kId}/cancel`)).toBe(true));
    cleanup();
    renderDetail(detailFetch([{ device: 'd1', state: 'running', exit_code: null }]).fetch, 'viewer');
    await screen.findByText('pi-1');
    expect(screen.queryByRole('button', { name: /Cancel/ })).toBeNull();
  });
});
