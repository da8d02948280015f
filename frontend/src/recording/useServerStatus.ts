// Whether the CodeSight server answers and takes the worker's token, checked
// every few seconds so a banner never outlives the problem it reports.
import { useEffect, useState } from 'react';
import { ApiError } from '../api/client';
import { workerApi } from '../api/hooks';

const POLL_MS = 5000;

export type ServerView =
  | { kind: 'checking' }
  | { kind: 'ok' }
  | { kind: 'unreachable'; detail: string }
  | { kind: 'unauthorized'; detail: string };

export function useServerStatus(token: string | null): ServerView {
  const [view, setView] = useState<ServerView>({ kind: 'checking' });
  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout>;
    const check = async () => {
      let next: ServerView;
      try {
        const me = await workerApi.me();
        next = (me.kind as string) === 'anonymous' && token ? { kind: 'unauthorized', detail: 'the server sees no valid token' } : { kind: 'ok' };
      } catch (e) {
        const err = e instanceof ApiError ? e : new ApiError(0, 'network_error', String(e));
        next = err.code === 'unauthorized'
          ? { kind: 'unauthorized', detail: `${err.status} ${err.code}: ${err.message}` }
          : err.status === 0 || err.status >= 500
            ? { kind: 'unreachable', detail: `${err.status || 'no answer'} ${err.code}: ${err.message}` }
            : { kind: 'ok' };
      }
      if (!alive) return;
      setView(next);
      timer = setTimeout(() => void check(), POLL_MS);
    };
    void check();
    return () => { alive = false; clearTimeout(timer); };
  }, [token]);
  return view;
}
