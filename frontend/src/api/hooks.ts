// API clients bound to the stored tokens, and a small loader hook.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiClient, ApiError } from './client';
import { endpoints, type Endpoints } from './endpoints';
import { getSetting, type SettingKey } from '../lib/settings';

function clientFor(key: SettingKey | null): Endpoints {
  return endpoints(new ApiClient({ token: () => (key ? getSetting(key) : null) }));
}

export const workerApi = clientFor('workerToken');
export const adminApi = clientFor('adminToken');
export const publicApi = clientFor(null);

export function asApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  return new ApiError(0, 'internal_error', e instanceof Error ? e.message : String(e));
}

export interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

// Runs load() on mount and whenever deps change; keeps the last data while
// reloading so polling does not flash the screen.
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: ApiError | null; loading: boolean }>(
    { data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let cancelled = false;
    setState((s) => ({ ...s, loading: true }));
    loadRef.current().then(
      (data) => { if (!cancelled) setState({ data, error: null, loading: false }); },
      (e: unknown) => { if (!cancelled) setState((s) => ({ data: s.data, error: asApiError(e), loading: false })); },
    );
    return () => { cancelled = true; };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return useMemo(() => ({ ...state, reload }), [state, reload]);
}
