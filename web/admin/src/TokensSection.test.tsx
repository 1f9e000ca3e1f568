import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from './api';
import { enrolFile, installCommand, NewEnrolmentToken, parseTags, tokenState } from './adminApi';
import { json, problem, routeFetch } from './adminTestUtil';
import { TokensSection } from './TokensSection';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const kFuture = '2099-01-01T00:00:00.000Z';
const kToken = {
  id: 't1', prefix: 'hecs_et_Zq81xP', description: 'line 3', tags: ['site=berlin'], auto_approve: false, max_uses: 10,
  uses: 2, created_at: '2026-11-25T23:30:00.000Z', expires_at: kFuture, revoked_at: null,
};
const kCreated: NewEnrolmentToken = {
  ...kToken, id: 't2', prefix: 'hecs_et_Ab12Cd', uses: 0, max_uses: 3, token: 'hecs_et_Ab12CdSECRETSECRETSECRETSECRETXX',
  ca_sha256: 'ab'.repeat(32),
};

describe('token helpers', () => {
  it('says the state of a token', () => {
    expect(tokenState(kToken)).toBe('active');
    expect(tokenState({ ...kToken, uses: 10 })).toBe('used up');
    expect(tokenState({ ...kToken, expires_at: '2001-01-01T00:00:00Z' })).toBe('expired');
    expect(tokenState({ ...kToken, revoked_at: '2026-11-26T00:00:00Z' })).toBe('revoked');
  });

  it('reads tags and names a bad one', () => {
    expect(parseTags(' site=berlin, role=gw  x ')).toEqual(['site=berlin', 'role=gw', 'x']);
    expect(parseTags('')).toEqual([]);
    expect(() => parseTags('ok, b@d')).toThrow('The tag "b@d" is not valid');
  });

  it('builds the install command and the enrol file from the origin', () => {
    expect(installCommand('https://control.lan:8443', kCreated)).toBe(
      `hecs-agent --control-url https://control.lan:8443 --control-ca-sha256 ${'ab'.repeat(32)} --enroll-token ${kCreated.token}`);
    expect(enrolFile('https://control.lan:8443', kCreated)).toBe(
      `token: ${kCreated.token}\ncontrol_url: https://control.lan:8443\nca_sha256: "${'ab'.repeat(32)}"\n`);
  });
});

describe('TokensSection', () => {
  it('lists tokens with state, uses, expiry and tags, and says what to do when there are none', async () => {
    const { fetch } = routeFetch({ 'GET /api/v1/enrollment-tokens': [json({ items: [kToken] })] });
    render(<TokensSection api={new ApiClient({ fetch })} origin="https://c.example" />);
    const row = (await screen.findByText('hecs_et_Zq81xP…')).closest('tr')!;
    expect(within(row).getByText('active')).toBeTruthy();
    expect(within(row).getByText('2/10')).toBeTruthy();
    expect(within(row).getByText('site=berlin')).toBeTruthy();
    expect(within(row).getByText('manual')).toBeTruthy();
    cleanup();
    const empty = routeFetch({ 'GET /api/v1/enrollment-tokens': [json({ items: [] })] });
    render(<TokensSection api={new ApiClient({ fetch: empty.fetch })} origin="https://c.example" />);
    expect(await screen.findByText(/No enrolment tokens yet/)).toBeTruthy();
  });

  it('creates a token and shows it once, with Copy and the install command', async () => {
    const writeText = vi.fn(async () => {});
    vi.stubGlobal('navigator', { ...navigator, clipboard: { writeText } });
    const { fetch, calls } = routeFetch({
      'GET /api/v1/enrollment-tokens': [json({ items: [] }), json({ items: [kCreated] })],
      'POST /api/v1/enrollment-tokens': [json(kCreated, 201)],
    });
    render(<TokensSection api={new ApiClient({ fetch })} origin="https://c.example:8443" />);
    await screen.findByText(/No enrolment tokens yet/);
    fireEvent.change(screen.getByLabelText('Description'), { target: { value: 'rack 2' } });
    fireEvent.change(screen.getByLabelText('Max uses'), { target: { value: '3' } });
    fireEvent.change(screen.getByLabelText('Expires in (hours)'), { target: { value: '2' } });
    fireEvent.change(screen.getByLabelText('Tags'), { target: { value: 'site=berlin, role=gw' } });
    fireEvent.click(screen.getByLabelText(/auto-approve/));
    fireEvent.click(screen.getByRole('button', { name: 'Create token' }));
    await screen.findByRole('heading', { name: 'Token created: copy it now' });
    const post = calls.find((c) => c.method === 'POST')!;
    expect(post.url).toBe('/api/v1/enrollment-tokens');
    expect(post.body).toEqual({ description: 'rack 2', max_uses: 3, expires_in_s: 7200, tags: ['site=berlin', 'role=gw'], auto_approve: true });
    expect((screen.getByLabelText('Enrolment token') as HTMLInputElement).value).toBe(kCreated.token);
    const command = (screen.getByLabelText('Install command') as HTMLInputElement).value;
    expect(command).toBe(installCommand('https://c.example:8443', kCreated));
    fireEvent.click(screen.getByRole('button', { name: 'Copy install command' }));
    await waitFor(() => expect(writeText).toHaveBeenCalledWith(command));
    expect(await screen.findByText('Copied.')).toBeTruthy();
    // Done: the secret is gone from the page and cannot be shown again.
    fireEvent.click(screen.getByRole('button', { name: 'Done' }));
    expect(screen.queryByLabelText('Enrolment token')).toBeNull();
    expect(document.body.textContent).not.toContain(kCreated.token);
  });

  it('selects the text when the clipboard is refused', async () => {
    vi.stubGlobal('navigator', { ...navigator, clipboard: { writeText: vi.fn(async () => { throw new Error('denied'); }) } });
    const { fetch } = routeFetch({
      'GET /api/v1/enrollment-tokens': [json({ items: [] })],
      'POST /api/v1/enrollment-tokens': [json(kCreated, 201)],
    });
    render(<TokensSection api={new ApiClient({ fetch })} origin="https://c.example" />);
    await screen.findByText(/No enrolment tokens yet/);
    fireEvent.click(screen.getByRole('button', { name: 'Create token' }));
    const field = (await screen.findByLabelText('Enrolment token')) as HTMLInputElement;
    fireEvent.click(screen.getByRole('button', { name: 'Copy enrolment token' }));
    expect(await screen.findByText(/press Ctrl\+C/)).toBeTruthy();
    expect(document.activeElement).toBe(field);
    expect(field.selectionStart).toBe(0);
    expect(field.selectionEnd).toBe(kCreated.token.length);
  });

  it('warns that agents need an https address', async () => {
    const { fetch } = routeFetch({
      'GET /api/v1/enrollment-tokens': [json({ items: [] })],
      'POST /api/v1/enrollment-tokens': [json(kCreated, 201)],
    });
    render(<TokensSection api={new ApiClient({ fetch })} origin="http://127.0.0.1:8080" />);
    await screen.findByText(/No enrolment tokens yet/);
    fireEvent.click(screen.getByRole('button', { name: 'Create token' }));
    expect(await screen.findByText(/Agents enrol over HTTPS only/)).toBeTruthy();
  });

  it('checks the form before calling and shows the API error readably', async () => {
    const { fetch, calls } = routeFetch({
      'GET /api/v1/enrollment-tokens': [json({ items: [] })],
      'POST /api/v1/enrollment-tokens': [problem(400, 'invalid_input', 'max_uses: expected 1..100000')],
    });
    render(<TokensSection api={new ApiClient({ fetch })} origin="https://c.example" />);
    await screen.findByText(/No enrolment tokens yet/);
    fireEvent.change(screen.getByLabelText('Tags'), { target: { value: 'b@d' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create token' }));
    expect((await screen.findByRole('alert')).textContent).toContain('The tag "b@d" is not valid');
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
    fireEvent.change(screen.getByLabelText('Tags'), { target: { value: '' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create token' }));
    await waitFor(() => expect(screen.getByRole('alert').textContent).toBe('Max_uses: expected 1..100000.'));
    expect(screen.queryByLabelText('Enrolment token')).toBeNull();
  });

  it('revokes a token after a confirmation', async () => {
    const { fetch, calls } = routeFetch({
      'GET /api/v1/enrollment-tokens': [json({ items: [kToken] }), json({ items: [{ ...kToken, revoked_at: '2026-11-26T00:00:00.000Z' }] })],
      'DELETE /api/v1/enrollment-tokens/t1': [json({ ...kToken, revoked_at: '2026-11-26T00:00:00.000Z' })],
    });
    render(<TokensSection api={new ApiClient({ fetch })} origin="https://c.example" />);
    fireEvent.click(await screen.findByRole('button', { name: 'Revoke token hecs_et_Zq81xP' }));
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
    fireEvent.click(screen.getByRole('button', { name: 'Yes, revoke' }));
    await screen.findByText('revoked');
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.url)).toEqual(['/api/v1/enrollment-tokens/t1']);
    expect(screen.queryByRole('button', { name: /Revoke token/ })).toBeNull();
  });
});
