// A page of sessions with status filter and paging; polls while any listed
// session is still active so live sessions update.
import { useEffect, useState } from 'react';
import type { ListQuery } from '../api/endpoints';
import type { SessionList, SessionRow } from '../api/types';
import { useLoad } from '../api/hooks';
import { Link } from '../lib/router';
import { Button, ErrorBox, StatusBadge, formatDuration } from './ui';

export const POLL_MS = 3000;
const PAGE = 25;
const STATUSES = ['', 'active', 'completed', 'disconnected', 'abandoned'];

// Active sessions have no durationMs yet: show the time since they started.
function durationOf(s: SessionRow): string {
  if (s.durationMs != null) return formatDuration(s.durationMs);
  return s.status === 'active' ? formatDuration(Date.now() - Date.parse(s.startTime)) : '';
}

function uploadsOf(s: SessionRow): string {
  if (s.uploads.length === 0) return 'none';
  return s.uploads.map((u) => `${u.kind} (${u.status})`).join(', ');
}

export function SessionTable({ load, linkTo, showWorker }: {
  load: (q: ListQuery) => Promise<SessionList>;
  linkTo: (sessionId: string) => string;
  showWorker: boolean;
}) {
  const [status, setStatus] = useState('');
  const [offset, setOffset] = useState(0);
  const list = useLoad(() => load({ status, limit: PAGE, offset }), [status, offset]);
  const anyActive = list.data?.sessions.some((s) => s.status === 'active') ?? false;
  const { reload } = list;
  useEffect(() => {
    if (!anyActive) return;
    const t = setInterval(reload, POLL_MS);
    return () => clearInterval(t);
  }, [anyActive, reload]);

  const total = list.data?.total ?? 0;
  return (
    <div className="flex flex-col gap-4">
      <div className="flex flex-wrap items-end gap-3">
        <label className="flex flex-col gap-1 text-sm font-medium">
          Status
          <select className="rounded-md border border-slate-300 bg-white px-3 py-2" value={status}
            onChange={(e) => { setStatus(e.target.value); setOffset(0); }}>
            {STATUSES.map((s) => <option key={s} value={s}>{s || 'all'}</option>)}
          </select>
        </label>
        <Button variant="secondary" onClick={reload}>Refresh</Button>
        {anyActive && <span className="text-xs text-slate-600" role="status">Live: refreshing every {POLL_MS / 1000} s</span>}
      </div>
      {list.error && <ErrorBox title="Could not load sessions" error={list.error} onRetry={reload} />}
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
