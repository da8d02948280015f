import { useEffect } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Layout } from './components/Layout';
import { PageErrorBoundary } from './components/PageError';
import { match, usePath } from './lib/router';
import { useSetting } from './lib/settings';
import { HomePage } from './pages/HomePage';
import { OnboardingPage } from './pages/OnboardingPage';
import { RecordPage } from './pages/RecordPage';
import { MySessionsPage } from './pages/MySessionsPage';
import { ReviewPage } from './pages/ReviewPage';
import { SettingsPage } from './pages/SettingsPage';
import { AdminSessionsPage } from './pages/AdminSessionsPage';
import { AdminSessionPage } from './pages/AdminSessionPage';
import { AdminTasksPage } from './pages/AdminTasksPage';
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
  if (path === '/admin/tasks') return <AdminTasksPage />;
  if (path === '/admin/health') return <HealthPage />;
  return <Card title="Page not found"><p>There is no page at {path}.</p></Card>;
}

// Answers fetched with one token are not the next token's: drop them all
// when a token changes (Settings, registration, another tab).
function useFreshDataPerToken() {
  const queryClient = useQueryClient();
  const worker = useSetting('workerToken');
  const admin = useSetting('adminToken');
  useEffect(() => () => { void queryClient.resetQueries(); }, [queryClient, worker, admin]);
}

export function App() {
  const path = usePath();
  useFreshDataPerToken();
  return <Layout><PageErrorBoundary path={path}>{route(path)}</PageErrorBoundary></Layout>;
}
