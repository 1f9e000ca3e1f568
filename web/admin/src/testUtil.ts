// What the component tests share: JSON answers for a stubbed fetch, and an EventSource they
// drive by hand.
import { act } from '@testing-library/react';

// A JSON answer; from 400 on, typed as a problem (RFC 9457) unless `type` says otherwise.
export function json(body: unknown, status = 200, type = status >= 400 ? 'application/problem+json' : 'application/json') {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': type } });
}

// Stands in for EventSource: the last one made is FakeEventSource.last; emit() delivers an
// event to its listeners inside act().
export class FakeEventSource {
  static last: FakeEventSource | null = null;
  readonly url: string;
  closed = false;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  private listeners = new Map<string, ((e: MessageEvent) => void)[]>();
  constructor(url: string) {
    this.url = url;
    FakeEventSource.last = this;
  }
  addEventListener(name: string, f: (e: MessageEvent) => void) {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), f]);
  }
  close() {
    this.closed = true;
  }
  emit(name: string, data: unknown) {
    act(() => {
      for (const f of this.listeners.get(name) ?? []) f(new MessageEvent(name, { data: JSON.stringify(data) }));
    });
  }
}
