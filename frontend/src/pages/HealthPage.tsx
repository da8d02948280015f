// The health dashboard: one card per check of GET /api/health (PostgreSQL,
// the worker, S3, the extensions' connections), green, amber or red, with
// the facts behind each status, refreshed every few seconds; and the
// counts of what is stored.
import { useQuery } from '@tanstack/react-query';
import { adminApi, asApiError, publicApi, queryKeys } from '../api/hooks';
import type { CheckStatus, Counts, Health, HealthCheck } from '../api/types';
import { AdminGate } from '../components/AdminGate';
import { Button, Card, ErrorBox, StatusBadge, formatDuration } from '../components/ui';

const HEALTH_POLL_MS = 5000;

const STATUS_LABEL: Record<CheckStatus, string> = { ok: 'OK', warn: 'Warning', down: 'Down' };
const BORDER: Record<CheckStatus, string> = { ok: 'border-l-emerald-500', warn: 'border-l-amber-500', down: 'border-l-red-600' };

type Facts = [string, string][];

const num = (v: unknown) => (typeof v === 'number' ? v.toLocaleString() : '—');
const time = (v: unknown) => (typeof v === 'string' && v ? new Date(v).toLocaleString() : '—');
const seconds = (v: unknown) => (typeof v === 'number' ? formatDuration(v * 1000) : '—');
const text = (v: unknown) => (v == null || v === '' ? '—' : String(v));

// The facts worth reading in a check's details, in words.
function facts(c: HealthCheck): Facts {
  const d = c.details;
  switch (c.name) {
    case 'postgres':
      return [['Version', text(d.serverVersion)], ['Database', text(d.database)],
        ['Connections', `${num(d.connections)} of ${num(d.maxConnections)}`], ['Running since', time(d.startedAt)]];
    case 'worker':
      return [['Address', d.listening ? `${text(d.listenAddress)}:${text(d.port)}` : 'not listening'],
        ['Up for', seconds(d.uptimeSeconds)], ['Events committed', num(d.eventsCommitted)],
        ['Events waiting', num(d.queueDepth)], ['Events rejected', num(d.eventsRejected)],
        ['Last commit', time(d.lastCommitAt)], ['Batches (failed)', `${num(d.batches)} (${num(d.batchFailures)})`]];
    case 's3':
      return [['Endpoint', text(d.endpoint)], ['Bucket', text(d.bucket)],
        ['Answer time', typeof d.latencyMs === 'number' ? `${d.latencyMs} ms` : '—'],
        ['S3 answer', d.httpStatus ? `HTTP ${text(d.httpStatus)}${d.code ? ` ${text(d.code)}` : ''}` : '—']];
    case 'extensions':
      return [['Open connections', num(d.connections)], ['Recording now', num(d.recordingNow)],
        ['Active sessions', num(d.activeSessions)], ['Waiting for their extension', num(d.disconnectedSessions)]];
    default:
      return Object.entries(d).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : text(v)]);
  }
}

function CheckCard({ check }: { check: HealthCheck }) {
  return (
    <section aria-label={check.label} data-testid="health-check" data-name={check.name} data-status={check.status}
      className={`flex flex-col gap-2 rounded-lg border border-l-8 border-slate-200 bg-white p-4 shadow-sm ${BORDER[check.status] ?? ''}`}>
      <div className="flex items-center justify-between gap-2">
        <h2 className="text-lg font-semibold">{check.label}</h2>
        <StatusBadge status={check.status} label={STATUS_LABEL[check.status] ?? check.status} />
      </div>
      <p className="text-sm" data-testid="health-message">{check.message}</p>
      <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-0.5 text-xs text-slate-700">
        {facts(check).map(([k, v]) => (
          <div key={k} className="contents"><dt className="font-medium">{k}</dt><dd className="break-all">{v}</dd></div>
        ))}
      </dl>
    </section>
  );
}

function Overview({ health }: { health: Health }) {
  const down = health.checks.filter((c) => c.status === 'down');
  const warn = health.checks.filter((c) => c.status === 'warn');
  const [tone, message] = down.length
    ? ['border-red-300 bg-red-50 text-red-900', `Not working: ${down.map((c) => c.label).join(', ')}.`]
    : warn.length
      ? ['border-amber-300 bg-amber-50 text-amber-900', `Working, with warnings: ${warn.map((c) => c.label).join(', ')}.`]
      : ['border-emerald-300 bg-emerald-50 text-emerald-900', 'Everything works.'];
  return (
    <div role="status" data-testid="health-overview" className={`rounded-md border p-3 font-medium ${tone}`}>
      {message} <span className="text-xs font-normal">Checked {new Date(health.time).toLocaleTimeString()}.</span>
    </div>
  );
}

function CountTiles({ counts }: { counts: Counts }) {
  const tiles: [string, number | undefined][] = [
    ['Workers', counts.workers], ['Sessions', counts.sessions], ['Events', counts.events], ['Uploads', counts.uploads],
    ...Object.entries(counts.sessionsByStatus ?? {}).map(([k, v]): [string, number] => [`Sessions ${k}`, v]),
  ];
  return (
    <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4" data-testid="counts">
      {tiles.map(([k, v]) => (
        <div key={k} className="rounded-md bg-slate-50 p-3">
          <dt className="text-xs text-slate-600">{k}</dt>
          <dd className="text-xl font-semibold tabular-nums">{num(v)}</dd>
        </div>
      ))}
    </dl>
  );
}

export function HealthPage() {
  const health = useQuery({ queryKey: queryKeys.health, queryFn: () => publicApi.health(), refetchInterval: HEALTH_POLL_MS });
  const counts = useQuery({ queryKey: queryKeys.counts, queryFn: () => adminApi.counts() });
  return (
    <AdminGate>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h1 className="text-2xl font-bold">Health</h1>
        <Button variant="secondary" onClick={() => { void health.refetch(); void counts.refetch(); }}>Check now</Button>
      </div>
      {health.error && (
        <div data-testid="health-unreachable">
          <ErrorBox title="The CodeSight server does not answer its health check" error={asApiError(health.error)}
            onRetry={() => void health.refetch()} />
        </div>
      )}
      {health.data && !health.error && (
        <>
          <Overview health={health.data} />
          <div className="grid gap-4 md:grid-cols-2" data-testid="health">
            {health.data.checks.map((c) => <CheckCard key={c.name} check={c} />)}
          </div>
        </>
      )}
      <Card title="What is stored">
        {counts.error && <ErrorBox title="Could not load the counts" error={asApiError(counts.error)} onRetry={() => void counts.refetch()} />}
        {counts.data && <CountTiles counts={counts.data} />}
      </Card>
    </AdminGate>
  );
}
