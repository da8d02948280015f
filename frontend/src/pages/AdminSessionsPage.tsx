import { adminApi } from '../api/hooks';
import { SessionTable } from '../components/SessionTable';
import { AdminGate } from '../components/AdminGate';
import { Card } from '../components/ui';

export function AdminSessionsPage() {
  return (
    <AdminGate>
      <h1 className="text-2xl font-bold">All sessions</h1>
      <Card>
        <SessionTable load={adminApi.allSessions} showWorker linkTo={(id) => `/admin/sessions/${encodeURIComponent(id)}`} />
      </Card>
    </AdminGate>
  );
}
