import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from './api';
import { Tasks } from './Tasks';
import { commandSummary, progressOf, splitArgv, Task, taskListQuery } from './tasksApi';
import { json } from './testUtil';

afterEach(cleanup);

function task(id: string, extra: Partial<Task> = {}): Task {
  return {
    id, state: 'finished', created_at: '2026-01-01T00:00:00.000Z', origin: 'api', target: { devices: ['d1'] },
    spec: { command: { argv: ['uname', '-a'] } }, total: 4, counts: { succeeded: 2, failed: 1 }, ...extra,
  };
}

// A fetch that answers GET /api/v1/tasks with `pages` in turn and records the URLs.
function taskFetch(...pages: { items: Task[]; next: string | null }[]) {
  const urls: string[] = [];
  let i = 0;
  const fetch = vi.fn(async (url: string) => {
    urls.push(url);
    return json(pages[Math.min(i++, pages.length - 1)]);
  });
  return { fetch, urls };
}

describe('task helpers', () => {
  it('builds the list query from the filters and the cursor', () => {
    expect(taskListQuery({ states: [], origin: '' }, null)).toBe('/api/v1/tasks?limit=50');
    expect(taskListQuery({ states: ['running', 'aborted'], origin: 'schedule' }, 'abc')).toBe(
      '/api/v1/tasks?limit=50&state=running%2Caborted&origin=schedule&after=abc');
  });

  it('splits a command line as a shell splits words, quotes respected', () => {
    expect(splitArgv('uname -a')).toEqual(['uname', '-a']);
    expect(splitArgv(`  sh -c 'echo "a b"'  "x y" z\\ w ""`)).toEqual(['sh', '-c', 'echo "a b"', 'x y', 'z w', '']);
    expect(() => splitArgv("echo 'oops")).toThrow('unclosed single quote');
  });

  it('summarises commands and progress', () => {
    expect(commandSummary(task('a'))).toBe('uname -a');
    expect(commandSummary({ spec: { command: { script: 'echo hi', interpreter: '/bin/bash' } } })).toBe('script: /bin/bash (7 bytes)');
    expect(commandSummary({ spec: { command: { summary: 'argv: date' } } })).toBe('argv: date');
    expect(progressOf(5, { succeeded: 2, failed: 1, timed_out: 1, running: 1 })).toEqual({ done: 4, failed: 2, succeeded: 2, total: 5 });
  });
});

describe('Tasks', () => {
  it('lists the tasks, and the filters change the query', async () => {
    const { fetch, urls } = taskFetch({ items: [task('11111111-aaaa')], next: null });
    render(<Tasks api={new ApiClient({ fetch })} role="viewer" />);
    await screen.findByText('11111111');
    expect(screen.getByText('3/4')).toBeTruthy();
    expect(screen.getByText('(1 failed)')).toBeTruthy();
    expect(screen.getByText('uname -a')).toBeTruthy();
    expect(urls[0]).toBe('/api/v1/tasks?limit=50');
    fireEvent.click(screen.getByLabelText('running'));
    await waitFor(() => expect(urls.at(-1)).toBe('/api/v1/tasks?limit=50&state=running'));
    fireEvent.click(screen.getByLabelText('aborted'));
    await waitFor(() => expect(urls.at(-1)).toBe('/api/v1/tasks?limit=50&state=running%2Caborted'));
    fireEvent.change(screen.getByLabelText('Origin'), { target: { value: 'local-schedule' } });
    await waitFor(() => expect(urls.at(-1)).toBe('/api/v1/tasks?limit=50&state=running%2Caborted&origin=local-schedule'));
    // A viewer gets no run form.
    expect(screen.queryByRole('form', { name: 'Run a task' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Run' })).toBeNull();
  });

  it('loads more with the next cursor', async () => {
    const { fetch, urls } = taskFetch({ items: [task('aaaaaaaa-1')], next: 'aaaaaaaa-1' }, { items: [task('bbbbbbbb-2')], next: null });
    render(<Tasks api={new ApiClient({ fetch })} role="viewer" />);
    fireEvent.click(await screen.findByRole('button', { name: 'Load more' }));
    await screen.findByText('bbbbbbbb');
    expect(screen.getByText('aaaaaaaa')).toBeTruthy();
    expect(urls[1]).toBe('/api/v1/tasks?limit=50&after=aaaaaaaa-1');
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();
  });

  it('says how to run a first task when there is none, and shows the form to an operator', async () => {
    const { fetch } = taskFetch({ items: [], next: null });
    render(<Tasks api={new ApiClient({ fetch })} role="operator" />);
    await screen.findByText('No tasks yet.');
    expect(screen.getByRole('form', { name: 'Run a task' })).toBeTruthy();
  });

  it('shows a failure as a readable message', async () => {
    const fetch = vi.fn(async () =>
      new Response(JSON.stringify({ title: 'bad', status: 400, detail: 'origin: expected api, schedule or local-schedule', code: 'invalid_input' }), {
        status: 400, headers: { 'Content-Type': 'application/problem+json' },
      }));
    render(<Tasks api={new ApiClient({ fetch })} role="viewer" />);
    expect((await screen.findByRole('alert')).textContent).toBe('Origin: expected api, schedule or local-schedule.');
  });
});
