// A stubbed fetch for the Administration tests: answers by method and path, records each call.
import { vi } from 'vitest';
import { json } from './testUtil';

export interface Call {
  url: string;
  method: string;
  body: unknown;
  headers: Record<string, string>;
}

export { json } from './testUtil';

export function problem(status: number, code: string, detail: string) {
  return json({ status, code, title: code, detail }, status);
}

type Answer = Response | ((call: Call) => Response);

// `routes`: "METHOD /path" (query excluded) → answers used in turn, the last one repeated.
export function routeFetch(routes: Record<string, Answer[]>) {
  const calls: Call[] = [];
  const used: Record<string, number> = {};
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    const method = init?.method ?? 'GET';
    const call: Call = {
      url,
      method,
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
      headers: (init?.headers ?? {}) as Record<string, string>,
    };
    calls.push(call);
    const key = `${method} ${url.split('?')[0]}`;
    const answers = routes[key];
    if (!answers) return problem(404, 'not_found', `no stub for ${key}`);
    const i = Math.min(used[key] ?? 0, answers.length - 1);
    used[key] = (used[key] ?? 0) + 1;
    const a = answers[i];
    return typeof a === 'function' ? a(call) : a.clone();
  });
  return { fetch, calls };
}
