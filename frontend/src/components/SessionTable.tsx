// A page of sessions with status filter and paging; polls while any listed
// session is still active so live sessions update.
import { useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { SessionList, SessionRow } from '../api/types';
import { adminApi, asApiError, queryKeys, workerApi, type Scope } from '../api/hooks';
import { Link } from '../lib/router';
import { Button, ErrorBox, StatusBadge, formatDuration } from './ui';

export const POLL_MS = 3000;
const PAGE = 25;
const STATUSES = ['', 'active', 'completed', 'disconnected', 'abandoned', 'submitted'];

// Active sessions have no durationMs yet: show the time since they started.
function durationOf(s: SessionRow): string {
  if (s.durationMs != null) return formatDuration(s.durationMs);
  return s.status === 'active' ? formatDuration(Date.now() - Date.parse(s.startTime)) : '';
}

function uploadsOf(s: SessionRow): string {
  if (s.uploads.length === 0) return 'none';
  return s.uploads.map((u) => `${u.kind} (${u.status})`).join(', ');
}

const isActive = (list: SessionList | undefined) => list?.sessions.some((s) => s.status === 'active') ?? false;

// What a session is for and where its review stands.
function reviewOf(s: SessionRow): string {
  const parts = [s.submittedAt ? 'submitted' : null, s.score != null ? `score ${s.score}` : null].filter(Boolean);
  return parts.join(', ') || '—';
}

// scope "worker": the worker's own sessions; "admin": everyone's.
export function SessionTable({ scope, linkTo, showWorker }: {
  scope: Scope;
  linkTo: (sessionId: string) => string;
  showWorker: boolean;
}) {
  const [status, setStatus] = useState('');
  const [offset, setOffset] = useState(0);
  const query = { status, limit: PAGE, offset };
  const list = useQuery({
    queryKey: queryKeys.sessions(scope, query),
    queryFn: () => (scope === 'admin' ? adminApi.allSessions(query) : workerApi.mySessions(query)),
    placeholderData: keepPreviousData,
    refetchInterval: (q) => (isActive(q.state.data) ? POLL_MS : false),
  });
  const anyActive = isActive(list.data);
  const reload = () => void list.refetch();

  const total = list.data?.total ?? 0;
  return (
    <div className="flex flex-col gap-4">
      <div className="flex flex-wrap items-end gap-3">
        <label className="flex flex-col gap-1 text-sm font-medium">
          Status
          <select className="rounded-md border border-slate-300 bg-white px-3 py-2" value={status}
            onChange={(e) => { setStatus(e.target.value); setOffset(0); }}>
            {STATUSES.map((s) => <option key={s} value={s}>{s === 'submitted' ? 'submitted for review' : s || 'all'}</option>)}
          </select>
        </label>
        <Button variant="secondary" onClick={reload}>Refresh</Button>
        {anyActive && <span className="text-xs text-slate-600" role="status">Live: refreshing every {POLL_MS / 1000} s</span>}
      </div>
      {list.error && <ErrorBox title="Could not load sessions" error={asApiError(list.error)} onRetry={reload} />}
      {list.data && (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Sessions</caption>
            <thead className="border-b border-slate-300">
              <tr>
                <th scope="col" className="p-2">Session</th>
                <th scope="col" className="p-2">Status</th>
                {showWorker && <th scope="col" className="p-2">Worker</th>}
                <th scope="col" className="p-2">Started</th>
                <th scope="col" className="p-2">Duration</th>
                <th scope="col" className="p-2">Events</th>
                <th scope="col" className="p-2">Uploads</th>
                <th scope="col" className="p-2">Task</th>
                <th scope="col" className="p-2">Review</th>
              </tr>
            </thead>
            <tbody>
              {list.data.sessions.map((s) => (
                <tr key={s.sessionId} className="border-b border-slate-100" data-testid="session-row">
                  <td className="p-2"><Link href={linkTo(s.sessionId)} className="font-mono text-indigo-700 underline">{s.sessionId}</Link></td>
                  <td className="p-2"><StatusBadge status={s.status} /></td>
                  {showWorker && <td className="p-2">{s.workerName ?? s.workerId ?? '—'}</td>}
                  <td className="p-2">{new Date(s.startTime).toLocaleString()}</td>
                  <td className="p-2 tabular-nums">{durationOf(s)}</td>
                  <td className="p-2 tabular-nums">{s.eventCount}</td>
                  <td className="p-2">{uploadsOf(s)}</td>
                  <td className="max-w-xs truncate p-2" title={s.confirmedTask ?? s.task ?? undefined}>{s.confirmedTask ?? s.task ?? '—'}</td>
                  <td className="p-2">{reviewOf(s)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {list.data.sessions.length === 0 && <p className="p-2 text-sm text-slate-600">No sessions{status ? ` with status ${status}` : ''}.</p>}
        </div>
      )}
      <nav aria-label="Pages" className="flex items-center gap-3 text-sm">
        <Button variant="secondary" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>Previous</Button>
        <span>{total ? `${offset + 1}–${Math.min(offset + PAGE, total)} of ${total}` : ''}</span>
        <Button variant="secondary" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>Next</Button>
      </nav>
    </div>
  );
}
