import { SessionTable } from '../components/SessionTable';
import { Card } from '../components/ui';

export function MySessionsPage() {
  return (
    <>
      <h1 className="text-2xl font-bold">My sessions</h1>
      <Card>
        <SessionTable scope="worker" showWorker={false} linkTo={(id) => `/sessions/${encodeURIComponent(id)}`} />
      </Card>
    </>
  );
}
