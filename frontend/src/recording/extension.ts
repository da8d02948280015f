// Messages to the CodeSight Chrome extension. The page can only reach it
// when the extension is installed and lists this origin as externally
// connectable; otherwise chrome.runtime is absent or the call fails.

export type ExtensionMessage =
  | { type: 'start_tracking'; sessionId: string; serverUrl: string; token: string }
  | { type: 'stop_tracking'; sessionId: string }
  | { type: 'status' };

export type ExtensionReply = { ok: true; response: unknown } | { ok: false; reason: string };

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

export function sendToExtension(extensionId: string | null, message: ExtensionMessage, timeoutMs = 3000): Promise<ExtensionReply> {
  const rt = runtime();
  if (!extensionId) return Promise.resolve({ ok: false, reason: 'No extension id is set (see Settings).' });
  if (!rt?.sendMessage) {
    return Promise.resolve({ ok: false, reason: 'The CodeSight extension is not installed in this browser, or does not allow this page.' });
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, reason: 'The extension did not answer.' }), timeoutMs);
    try {
      rt.sendMessage(extensionId, message, (response) => {
        clearTimeout(timer);
        const err = rt.lastError;
        if (err) resolve({ ok: false, reason: err.message ?? 'The extension could not be reached.' });
        else if (response && typeof response === 'object' && 'error' in response) {
          resolve({ ok: false, reason: String((response as { error: unknown }).error) });
        } else resolve({ ok: true, response });
      });
    } catch (e) {
      clearTimeout(timer);
      resolve({ ok: false, reason: (e as Error).message });
    }
  });
}
