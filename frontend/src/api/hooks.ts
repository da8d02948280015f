// API clients bound to the stored tokens, and the data every page reads
// through TanStack Query (caching, polling, retries, invalidation).
import { QueryClient, useQuery } from '@tanstack/react-query';
import { ApiClient, ApiError } from './client';
import { allEvents, endpoints, type Endpoints } from './endpoints';
import { getSetting, type SettingKey } from '../lib/settings';

function clientFor(key: SettingKey | null): Endpoints {
  return endpoints(new ApiClient({ token: () => (key ? getSetting(key) : null) }));
}

export const workerApi = clientFor('workerToken');
export const adminApi = clientFor('adminToken');
export const publicApi = clientFor(null);

// Whose token a query runs with: part of every query key, so the worker's
// and the admin's answers are never mixed up.
export type Scope = 'worker' | 'admin';
const apiFor = (scope: Scope): Endpoints => (scope === 'admin' ? adminApi : workerApi);

export function asApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  return new ApiError(0, 'internal_error', e instanceof Error ? e.message : String(e));
}

// Only failures another try can fix are retried: not a rejected token or a
// missing session.
function retry(failures: number, error: unknown): boolean {
  const e = asApiError(error);
  const transient = e.code === 'network_error' || e.code === 'rate_limited' || e.status >= 500;
  return transient && failures < 2;
}

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: { queries: { retry, staleTime: 1000 }, mutations: { retry: false } },
  });
}

export const queryKeys = {
  session: (scope: Scope, sessionId: string) => [scope, 'session', sessionId] as const,
  sessions: (scope: Scope, q: object) => [scope, 'sessions', q] as const,
  tasks: (scope: Scope) => [scope, 'tasks'] as const,
  health: ['health'] as const,
  counts: ['admin', 'counts'] as const,
};

// A session's events, summary and uploads, for the review and admin pages.
export function useSessionData(scope: Scope, sessionId: string) {
  const api = apiFor(scope);
  const key = queryKeys.session(scope, sessionId);
  return {
    events: useQuery({ queryKey: [...key, 'events'], queryFn: () => allEvents(api, sessionId) }),
    summary: useQuery({ queryKey: [...key, 'summary'], queryFn: () => api.summary(sessionId) }),
    media: useQuery({ queryKey: [...key, 'media'], queryFn: () => api.media(sessionId) }),
  };
}

// The tasks a worker picks from, or all of them for an admin.
export function useTasks(scope: Scope) {
  return useQuery({
    queryKey: queryKeys.tasks(scope),
    queryFn: () => (scope === 'admin' ? adminApi.allTasks() : workerApi.tasks()),
  });
}
