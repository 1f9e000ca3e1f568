import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from './api';
import { AuditRecord, auditQuery, kNoAuditFilter } from './adminApi';
import { json, problem, routeFetch } from './adminTestUtil';
import { AuditSection, shortIds } from './AuditSection';

afterEach(cleanup);

function record(seq: number, action = 'keys.create', outcome = 'success'): AuditRecord {
  return {
    tenant_id: 't', seq, ts: 1_800_000_000_000 + seq, actor: 'user:u1', action, target: 'k' + seq, source: '198.51.100.7:4000',
    outcome, request_id: 'r', detail: '{"name":"ci"}', prev_hash: '0', hash: '1',
  };
}

const kOk = { tenant_id: 't', ok: true, records: 42, checkpoints: 3, first_bad_seq: null, reason: '' };

describe('audit query', () => {
  it('builds the query from the filters and the cursor', () => {
    expect(auditQuery(kNoAuditFilter, null)).toBe('/api/v1/audit?limit=100');
    const since = '2026-11-25T10:00';
    expect(auditQuery({ action: ' keys. ', actor: 'user:u1', outcome: 'denied', since, until: '' }, '17')).toBe(
      `/api/v1/audit?limit=100&action=keys.&actor=user%3Au1&outcome=denied&since=${new Date(since).getTime()}&cursor=17`);
    expect(() => auditQuery({ ...kNoAuditFilter, until: 'nonsense' }, null)).toThrow('Until: not a date and time.');
  });
});

describe('audit cells', () => {
  it('cuts UUIDs to 8 characters', () => {
    expect(shortIds('user:e57d6f69-fa0c-426f-8bf9-963359115206')).toBe('user:e57d6f69…');
    expect(shortIds('system')).toBe('system');
  });
});

describe('AuditSection', () => {
  it('lists records, applies filters to the query and follows next_cursor', async () => {
    const { fetch, calls } = routeFetch({
      'GET /api/v1/audit': [
        json({ items: [record(1), record(2)], next_cursor: '2' }),
        json({ items: [record(3, 'tokens.create')], next_cursor: null }),
        json({ items: [record(9, 'keys.revoke', 'denied')], next_cursor: null }),
      ],
    });
    render(<AuditSection api={new ApiClient({ fetch })} />);
    expect(await screen.findByText('k2')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Load more' }));
    expect(await screen.findByText('tokens.create')).toBeTruthy();
    expect(calls[1].url).toBe('/api/v1/audit?limit=100&cursor=2');
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();

    fireEvent.change(screen.getByLabelText('Action'), { target: { value: 'keys.' } });
    fireEvent.change(screen.getByLabelText('Actor'), { target: { value: 'user:u1' } });
    fireEvent.change(screen.getByLabelText('Outcome'), { target: { value: 'denied' } });
    fireEvent.change(screen.getByLabelText('Since'), { target: { value: '2026-11-25T10:00' } });
    expect(calls).toHaveLength(2); // nothing asked before Apply
    fireEvent.click(screen.getByRole('button', { name: 'Apply filters' }));
    expect(await screen.findByText('keys.revoke')).toBeTruthy();
    expect(calls[2].url).toBe(
      `/api/v1/audit?limit=100&action=keys.&actor=user%3Au1&outcome=denied&since=${new Date('2026-11-25T10:00').getTime()}`);
    expect(screen.queryByText('k1')).toBeNull();
    // An actor's cell filters by it.
    fireEvent.click(screen.getByRole('button', { name: 'Show only records of user:u1' }));
    await waitFor(() => expect(calls).toHaveLength(4));
    expect(calls[3].url).toContain('actor=user%3Au1');
    expect((screen.getByLabelText('Actor') as HTMLInputElement).value).toBe('user:u1');
  });

  it('says the chain is OK with its counts', async () => {
    const { fetch, calls } = routeFetch({
      'GET /api/v1/audit': [json({ items: [], next_cursor: null })],
      'POST /api/v1/audit/verify': [json(kOk)],
    });
    render(<AuditSection api={new ApiClient({ fetch })} />);
    expect(await screen.findByText(/No records yet/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Verify chain' }));
    const result = await screen.findByTestId('verify-result');
    await waitFor(() => expect(result.textContent).toBe('Chain OK: 42 records and 3 signed checkpoints verified.'));
    expect(calls.find((c) => c.method === 'POST')?.url).toBe('/api/v1/audit/verify');
  });

  it('names the first bad record when the chain does not verify', async () => {
    const { fetch } = routeFetch({
      'GET /api/v1/audit': [json({ items: [record(1)], next_cursor: null })],
      'POST /api/v1/audit/verify': [json({ ...kOk, ok: false, records: 7, first_bad_seq: 7, reason: 'record 7: hash does not match its contents' })],
    });
    render(<AuditSection api={new ApiClient({ fetch })} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Verify chain' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('Chain does not verify: first bad record is seq 7. record 7: hash does not match its contents');
    expect(screen.queryByText(/Chain OK/)).toBeNull();
  });

  it('shows a refused verification readably', async () => {
    const { fetch } = routeFetch({
      'GET /api/v1/audit': [json({ items: [], next_cursor: null })],
      'POST /api/v1/audit/verify': [problem(403, 'forbidden', 'this needs the role admin')],
    });
    render(<AuditSection api={new ApiClient({ fetch })} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Verify chain' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Not allowed: this needs the role admin.');
  });
});
