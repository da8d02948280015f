import { AdminGate } from '../components/AdminGate';
import { DatasetExport } from '../components/DatasetExport';
import { SessionTable } from '../components/SessionTable';
import { Card } from '../components/ui';

export function AdminSessionsPage() {
  return (
    <AdminGate>
      <h1 className="text-2xl font-bold">All sessions</h1>
      <Card title="Export the dataset">
        <DatasetExport />
      </Card>
      <Card>
        <SessionTable scope="admin" showWorker linkTo={(id) => `/admin/sessions/${encodeURIComponent(id)}`} />
      </Card>
    </AdminGate>
  );
}
