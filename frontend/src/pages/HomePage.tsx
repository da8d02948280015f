import { useState } from 'react';
import { Card } from '../components/ui';
import { Link } from '../lib/router';
import { useSetting } from '../lib/settings';
import { OnboardingPage } from './OnboardingPage';

export function HomePage() {
  const token = useSetting('workerToken');
  const name = useSetting('workerName');
  const adminToken = useSetting('adminToken');
  // Registering stores a token; stay on onboarding so the token is shown once.
  const [onboarding] = useState(!token && !adminToken);
  if (onboarding) return <OnboardingPage />;
  const linkClass = 'block rounded-md border border-slate-200 p-4 hover:bg-slate-50';
  return (
    <>
      <h1 className="text-2xl font-bold">{name ? `Hello, ${name}` : 'CodeSight'}</h1>
      <Card>
        <ul className="grid gap-4 sm:grid-cols-2">
          {token && <li><Link className={linkClass} href="/record"><strong>Record a session</strong><br />Screen, narration and your clicks.</Link></li>}
          {token && <li><Link className={linkClass} href="/sessions"><strong>My sessions</strong><br />Review, clean up and submit them.</Link></li>}
          {adminToken && <li><Link className={linkClass} href="/admin/sessions"><strong>All sessions</strong><br />Watch recordings with their events.</Link></li>}
          {adminToken && <li><Link className={linkClass} href="/admin/tasks"><strong>Tasks</strong><br />What workers demonstrate.</Link></li>}
          {adminToken && <li><Link className={linkClass} href="/admin/health"><strong>Health</strong><br />Database, worker, storage and extensions.</Link></li>}
          {!token && <li><Link className={linkClass} href="/register"><strong>Register as a worker</strong><br />Get a token to record.</Link></li>}
        </ul>
      </Card>
    </>
  );
}
