// Messages to the CodeSight Chrome extension (extension-chrome/README.md).
// The page reaches it only when the extension is installed and lists this
// origin as externally connectable; it obeys the page only when the page is
// the one its server serves (otherwise the page may only ask to connect it,
// and the worker confirms in the extension's popup).

export type ExtensionMessage =
  | { type: 'start_tracking'; sessionId: string; token?: string }
  | { type: 'stop_tracking'; sessionId: string }
  | { type: 'connect'; serverUrl: string; token: string }
  | { type: 'status' };

export interface ExtensionProblem {
  code: string;
  message: string;
  detail?: string;
  severity?: 'warn' | 'error';
  retryAt?: number | null;
}

// The extension's status as its own server's page sees it.
export interface ExtensionStatus {
  ok: true;
  paired: true;
  state: 'idle' | 'recording' | 'paused';
  sessionId: string | null;
  startedBy: 'page' | 'popup' | null;
  lastSessionId: string | null;
  lastStop: { sessionId: string; by: 'popup' | 'page' | 'server'; at: number } | null;
  connection: 'connected' | 'connecting' | 'disconnected';
  problem: ExtensionProblem | null;
  serverUrl: string;
  hasToken: boolean;
  tokenRejected: boolean;
  counters: { captured: number; sent: number; acknowledged: number; queued: number };
  queuedTotal: number;
  pendingSessions: string[];
}

// What any other page learns: that the extension is there, and whether its
// request to connect waits for the worker.
export interface UnpairedStatus {
  ok: true;
  paired: false;
  pairing: 'pending' | null;
}

export type ExtensionReply<T = ExtensionStatus> =
  | { ok: true; response: T }
  | { ok: false; reason: string; code?: string; sessionId?: string; missing?: boolean };

interface ChromeRuntime {
  sendMessage(id: string, message: unknown, callback: (response: unknown) => void): void;
  lastError?: { message?: string };
}

function runtime(): ChromeRuntime | undefined {
  return (globalThis as { chrome?: { runtime?: ChromeRuntime } }).chrome?.runtime;
}

// The WebSocket URL of the worker that served this page, for the extension.
export function extensionServerUrl(origin: string = window.location.origin): string {
  return `${origin.replace(/^http/, 'ws')}/extension-ws`;
}

const MISSING = 'The CodeSight extension is not installed in this browser (or is turned off).';

export function sendToExtension<T = ExtensionStatus>(
  extensionId: string | null, message: ExtensionMessage, timeoutMs = 3000,
): Promise<ExtensionReply<T>> {
  const rt = runtime();
  if (!extensionId) return Promise.resolve({ ok: false, reason: 'No extension id is set (see Settings).', missing: true });
  // Chrome gives pages chrome.runtime only when an installed extension lists them.
  if (!rt?.sendMessage) return Promise.resolve({ ok: false, reason: MISSING, missing: true });
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, reason: 'The extension did not answer.' }), timeoutMs);
    try {
      rt.sendMessage(extensionId, message, (response) => {
        clearTimeout(timer);
        const err = rt.lastError;
        if (err) {
          // "Could not establish connection. Receiving end does not exist."
          resolve({ ok: false, reason: MISSING, missing: true });
          return;
        }
        const r = response as { ok?: boolean; error?: string; code?: string; sessionId?: string } | undefined;
        if (r && r.ok === false) resolve({ ok: false, reason: String(r.error ?? 'refused'), code: r.code, sessionId: r.sessionId });
        else resolve({ ok: true, response: response as T });
      });
    } catch {
      clearTimeout(timer);
      resolve({ ok: false, reason: MISSING, missing: true });
    }
  });
}
