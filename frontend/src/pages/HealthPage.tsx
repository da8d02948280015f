import { adminApi, publicApi, useLoad } from '../api/hooks';
import { AdminGate } from '../components/AdminGate';
import { Button, Card, ErrorBox } from '../components/ui';

function JsonTable({ doc }: { doc: Record<string, unknown> }) {
  return (
    <dl className="grid grid-cols-[auto_1fr] gap-x-6 gap-y-1 text-sm">
      {Object.entries(doc).map(([k, v]) => (
        <div key={k} className="contents">
          <dt className="font-medium">{k}</dt>
          <dd className="break-all font-mono">{typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}</dd>
        </div>
      ))}
    </dl>
  );
}

export function HealthPage() {
  const health = useLoad(() => publicApi.health(), []);
  const counts = useLoad(() => adminApi.counts(), []);
  return (
    <AdminGate>
      <h1 className="text-2xl font-bold">Health</h1>
      <Card title="Server health" actions={<Button variant="secondary" onClick={health.reload}>Refresh</Button>}>
        {health.error && <ErrorBox title="Health check failed" error={health.error} onRetry={health.reload} />}
        {health.data && <div data-testid="health"><JsonTable doc={health.data} /></div>}
      </Card>
      <Card title="Counts" actions={<Button variant="secondary" onClick={counts.reload}>Refresh</Button>}>
        {counts.error && <ErrorBox title="Could not load counts" error={counts.error} onRetry={counts.reload} />}
        {counts.data && <div data-testid="counts"><JsonTable doc={counts.data} /></div>}
      </Card>
    </AdminGate>
  );
}
