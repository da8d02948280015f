import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { POLL_MS, SessionTable } from '../SessionTable';
import type { ListQuery } from '../../api/endpoints';
import type { SessionList, SessionRow } from '../../api/types';
import { ApiError } from '../../api/client';

afterEach(() => vi.useRealTimers());

const row = (sessionId: string, status: SessionRow['status'], eventCount: number): SessionRow => ({
  sessionId, status, workerId: 1, workerName: 'Ann', startTime: '2025-03-01T10:00:00.000Z',
  endTime: status === 'active' ? null : '2025-03-01T10:01:05.000Z', durationMs: status === 'active' ? null : 65000,
  lastEventAt: null, eventCount, uploads: status === 'active' ? [] : [{ kind: 'screen', status: 'complete' }],
});

describe('SessionTable', () => {
  it('shows status, worker, duration, events and uploads, and filters by status', async () => {
    const load = vi.fn(async (q: ListQuery): Promise<SessionList> => ({
      sessions: q.status === 'completed' ? [row('cs_b', 'completed', 9)] : [row('cs_b', 'completed', 9), row('cs_c', 'abandoned', 0)],
      limit: 25, offset: 0, total: q.status === 'completed' ? 1 : 2,
    }));
    render(<SessionTable load={load} showWorker linkTo={(id) => `/x/${id}`} />);
    const rows = await screen.findAllByTestId('session-row');
    expect(rows).toHaveLength(2);
    const cells = within(rows[0]!).getAllByRole('cell').map((c) => c.textContent);
    expect(cells).toEqual(['cs_b', 'completed', 'Ann', expect.any(String), '01:05', '9', 'screen (complete)']);
    await userEvent.setup().selectOptions(screen.getByLabelText('Status'), 'completed');
    expect(load).toHaveBeenLastCalledWith({ status: 'completed', limit: 25, offset: 0 });
    expect(await screen.findAllByTestId('session-row')).toHaveLength(1);
  });

  it('polls while a listed session is active, and stops once none is', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let active = true;
    const load = vi.fn(async (): Promise<SessionList> => ({
      sessions: [row('cs_a', active ? 'active' : 'completed', 3)], limit: 25, offset: 0, total: 1,
    }));
    render(<SessionTable load={load} showWorker={false} linkTo={(id) => id} />);
    await screen.findByText('Live: refreshing every 3 s');
    expect(load).toHaveBeenCalledTimes(1);
    active = false;
    await act(async () => { await vi.advanceTimersByTimeAsync(POLL_MS); });
    expect(load).toHaveBeenCalledTimes(2);
    expect(screen.queryByText(/Live:/)).toBeNull();
    await act(async () => { await vi.advanceTimersByTimeAsync(POLL_MS * 3); });
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('shows a rejected token with what to do', async () => {
    const load = vi.fn(async (): Promise<SessionList> => { throw new ApiError(401, 'unauthorized', 'invalid token'); });
    render(<SessionTable load={load} showWorker linkTo={(id) => id} />);
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('invalid token');
    expect(alert).toHaveTextContent(/Paste a valid token in Settings/);
    expect(within(alert).getByRole('button', { name: 'Try again' })).toBeInTheDocument();
  });
});
