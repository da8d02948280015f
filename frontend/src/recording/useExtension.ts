// The extension as it is now, polled every second while the page is shown,
// so the page never shows a stale state: missing, waiting for the worker to
// allow the connection, or connected with its recording state and problems.
import { useCallback, useEffect, useRef, useState } from 'react';
import { getSetting, useSetting } from '../lib/settings';
import { extensionServerUrl, sendToExtension, type ExtensionStatus, type UnpairedStatus } from './extension';

export const POLL_MS = 1000;

export type ExtensionView =
  | { kind: 'checking' }
  | { kind: 'missing'; reason: string }
  // Installed, but connected to another server (or none): it waits for
  // the worker to allow this page's server in its popup.
  | { kind: 'unpaired'; pending: boolean }
  | { kind: 'paired'; status: ExtensionStatus };

export async function readExtension(extensionId: string | null): Promise<ExtensionView> {
  const reply = await sendToExtension<ExtensionStatus | UnpairedStatus>(extensionId, { type: 'status' });
  if (!reply.ok) return reply.missing ? { kind: 'missing', reason: reply.reason } : { kind: 'checking' };
  const r = reply.response;
  return r.paired ? { kind: 'paired', status: r } : { kind: 'unpaired', pending: r.pairing === 'pending' };
}

// Hands the extension this page's server and the worker's token. The first
// time (another server configured) the worker confirms it in the popup.
export async function connectExtension(token: string): Promise<void> {
  await sendToExtension(getSetting('extensionId'), { type: 'connect', serverUrl: extensionServerUrl(), token });
}

export function useExtension(): { view: ExtensionView; refresh: () => Promise<ExtensionView> } {
  const extensionId = useSetting('extensionId');
  const [view, setView] = useState<ExtensionView>({ kind: 'checking' });
  const alive = useRef(true);
  const refresh = useCallback(async () => {
    const v = await readExtension(extensionId);
    if (alive.current) setView(v);
    return v;
  }, [extensionId]);
  useEffect(() => {
    alive.current = true;
    let timer: ReturnType<typeof setTimeout>;
    const tick = async () => {
      if (document.visibilityState === 'visible') await refresh();
      if (alive.current) timer = setTimeout(() => void tick(), POLL_MS);
    };
    void tick();
    return () => { alive.current = false; clearTimeout(timer); };
  }, [refresh]);
  return { view, refresh };
}
