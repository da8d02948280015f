import type { ReactNode } from 'react';
import { Link } from '../lib/router';
import { useSetting } from '../lib/settings';
import { Card } from './ui';

export function AdminGate({ children }: { children: ReactNode }) {
  const token = useSetting('adminToken');
  if (!token) {
    return (
      <Card title="Admin token needed">
        <p>Paste an admin token (cs_a_…) in <Link href="/settings" className="text-indigo-700 underline">Settings</Link> to see this page.</p>
      </Card>
    );
  }
  return <>{children}</>;
}
