import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { POLL_MS, SessionTable } from '../SessionTable';
import type { SessionRow } from '../../api/types';
import { fakeFetch } from '../../test/fakeFetch';
import { renderWithQuery } from '../../test/render';
import { setSetting } from '../../lib/settings';

afterEach(() => { vi.useRealTimers(); vi.unstubAllGlobals(); });

const row = (sessionId: string, status: SessionRow['status'], eventCount: number, extra: Partial<SessionRow> = {}): SessionRow => ({
  sessionId, status, workerId: 1, workerName: 'Ann', startTime: '2025-03-01T10:00:00.000Z',
  endTime: status === 'active' ? null : '2025-03-01T10:01:05.000Z', durationMs: status === 'active' ? null : 65000,
  lastEventAt: null, eventCount, uploads: status === 'active' ? [] : [{ kind: 'screen', status: 'complete' }], ...extra,
});

describe('SessionTable', () => {
  it('shows status, worker, duration, events, uploads, task and review, and filters by status', async () => {
    setSetting('adminToken', 'cs_a_1_s');
    const f = fakeFetch({
      'GET /api/extension/sessions': (c) => {
        const submitted = c.path.includes('status=submitted');
        return { json: {
          sessions: submitted
            ? [row('cs_b', 'completed', 9, { confirmedTask: 'Bought shoes', submittedAt: '2025-03-01T11:00:00.000Z', score: 4 })]
            : [row('cs_b', 'completed', 9, { confirmedTask: 'Bought shoes', submittedAt: '2025-03-01T11:00:00.000Z', score: 4 }),
              row('cs_c', 'abandoned', 0, { task: 'Find a tent' })],
          limit: 25, offset: 0, total: submitted ? 1 : 2,
        } };
      },
    });
    renderWithQuery(<SessionTable scope="admin" showWorker linkTo={(id) => `/x/${id}`} />);
    const rows = await screen.findAllByTestId('session-row');
    expect(rows).toHaveLength(2);
    expect(within(rows[0]!).getAllByRole('cell').map((c) => c.textContent)).toEqual(
      ['cs_b', 'completed', 'Ann', expect.any(String), '01:05', '9', 'screen (complete)', 'Bought shoes', 'submitted, score 4']);
    expect(within(rows[1]!).getAllByRole('cell').at(-2)!.textContent).toBe('Find a tent');
    expect(f.calls[0]!.auth).toBe('Bearer cs_a_1_s');
    await userEvent.setup().selectOptions(screen.getByLabelText('Status'), 'submitted');
    expect(await screen.findAllByTestId('session-row')).toHaveLength(1);
    expect(f.calls.at(-1)!.path).toBe('/api/extension/sessions?status=submitted&limit=25&offset=0');
  });

  it('polls while a listed session is active, and stops once none is', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    setSetting('workerToken', 'cs_w_1_s');
    let active = true;
    const f = fakeFetch({
      'GET /api/sessions': () => ({ json: { sessions: [row('cs_a', active ? 'active' : 'completed', 3)], limit: 25, offset: 0, total: 1 } }),
    });
    renderWithQuery(<SessionTable scope="worker" showWorker={false} linkTo={(id) => id} />);
    await screen.findByText('Live: refreshing every 3 s');
    expect(f.calls).toHaveLength(1);
    active = false;
    await act(async () => { await vi.advanceTimersByTimeAsync(POLL_MS); });
    expect(f.calls).toHaveLength(2);
    expect(screen.queryByText(/Live:/)).toBeNull();
    await act(async () => { await vi.advanceTimersByTimeAsync(POLL_MS * 3); });
    expect(f.calls).toHaveLength(2);
  });

  it('shows a rejected token with what to do', async () => {
    fakeFetch({ 'GET /api/extension/sessions': () => ({ status: 401, json: { error: { code: 'unauthorized', message: 'invalid token' } } }) });
    renderWithQuery(<SessionTable scope="admin" showWorker linkTo={(id) => id} />);
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('invalid token');
    expect(alert).toHaveTextContent(/Paste a valid token in Settings/);
    expect(within(alert).getByRole('button', { name: 'Try again' })).toBeInTheDocument();
  });
});
