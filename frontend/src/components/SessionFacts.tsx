// A session's facts for the review and admin pages: status, worker, times,
// the first and last page of the shop (not the recorder page) and the task.
import type { SessionSummary } from '../api/types';
import type { PageVisit } from '../lib/steps';
import { StatusBadge, formatDuration } from './ui';

function Page({ visit }: { visit: PageVisit | null }) {
  if (!visit) return <>—</>;
  return (
    <span className="break-all">
      {visit.title && <strong className="mr-1">{visit.title}</strong>}
      <span className="text-slate-600">{visit.url}</span>
    </span>
  );
}

export function SessionFacts({ s, pages, showWorker }: {
  s: SessionSummary;
  pages: { first: PageVisit | null; last: PageVisit | null };
  showWorker?: boolean;
}) {
  return (
    <dl className="grid grid-cols-[auto_1fr] gap-x-6 gap-y-1 text-sm" data-testid="summary">
      <dt className="font-medium">Status</dt>
      <dd className="flex gap-2">
        <StatusBadge status={s.status} />
        {s.submittedAt && <StatusBadge status="submitted" label={`submitted ${new Date(s.submittedAt).toLocaleString()}`} />}
      </dd>
      {showWorker && <><dt className="font-medium">Worker</dt><dd>{s.workerName ?? s.workerId ?? '—'}</dd></>}
      <dt className="font-medium">Started</dt><dd>{new Date(s.startTime).toLocaleString()}</dd>
      <dt className="font-medium">Duration</dt><dd>{s.durationMs != null ? formatDuration(s.durationMs) : 'still recording'}</dd>
      <dt className="font-medium">Events</dt><dd>{s.totalEvents}</dd>
      <dt className="font-medium">First page</dt><dd data-testid="first-page"><Page visit={pages.first} /></dd>
      <dt className="font-medium">Last page</dt><dd data-testid="last-page"><Page visit={pages.last} /></dd>
      <dt className="font-medium">Task</dt><dd data-testid="task">{s.task ?? '—'}</dd>
      <dt className="font-medium">What was done</dt><dd data-testid="confirmed-task">{s.confirmedTask ?? '— (not submitted yet)'}</dd>
    </dl>
  );
}
