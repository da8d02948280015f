import { Layout } from './components/Layout';
import { match, usePath } from './lib/router';
import { HomePage } from './pages/HomePage';
import { OnboardingPage } from './pages/OnboardingPage';
import { RecordPage } from './pages/RecordPage';
import { MySessionsPage } from './pages/MySessionsPage';
import { ReviewPage } from './pages/ReviewPage';
import { SettingsPage } from './pages/SettingsPage';
import { AdminSessionsPage } from './pages/AdminSessionsPage';
import { AdminSessionPage } from './pages/AdminSessionPage';
import { HealthPage } from './pages/HealthPage';
import { Card } from './components/ui';

function route(path: string) {
  let m: Record<string, string> | null;
  if (path === '/') return <HomePage />;
  if (path === '/register') return <OnboardingPage />;
  if (path === '/record') return <RecordPage />;
  if (path === '/sessions') return <MySessionsPage />;
  if ((m = match('/sessions/:sessionId', path))) return <ReviewPage sessionId={m.sessionId!} />;
  if (path === '/settings') return <SettingsPage />;
  if (path === '/admin/sessions') return <AdminSessionsPage />;
  if ((m = match('/admin/sessions/:sessionId', path))) return <AdminSessionPage sessionId={m.sessionId!} />;
  if (path === '/admin/health') return <HealthPage />;
  return <Card title="Page not found"><p>There is no page at {path}.</p></Card>;
}

export function App() {
  const path = usePath();
  return <Layout>{route(path)}</Layout>;
}
