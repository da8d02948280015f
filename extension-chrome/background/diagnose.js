// Why a WebSocket to the worker could not open. A browser tells a script
// nothing about a failed handshake (close 1006, no reason), so the worker's
// HTTP side is probed: its public /health answers CORS requests from
// extensions (docs/http-api.md).
//
// Returns {code, message, detail}: code is one of offline, invalid_url,
// refused, tls, unreachable_tls, not_codesight, wrong_path, rejected;
// message is for the worker, detail for whoever helps them.

const PROBE_TIMEOUT_MS = 5000;
export const STREAM_PATH = '/extension-ws';

async function probe(fetchImpl, url, init) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), PROBE_TIMEOUT_MS);
  try {
    return await fetchImpl(url, { ...init, cache: 'no-store', credentials: 'omit', signal: ctl.signal });
  } finally {
    clearTimeout(timer);
  }
}

// True when anything answers HTTP at origin (an opaque answer counts).
async function answers(fetchImpl, origin) {
  try {
    await probe(fetchImpl, `${origin}/health`, { mode: 'no-cors' });
    return true;
  } catch {
    return false;
  }
}

export async function diagnose(wsUrl, { fetchImpl = globalThis.fetch.bind(globalThis), online = navigator.onLine } = {}) {
  let url;
  try {
    url = new URL(wsUrl);
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new Error('not a ws:// or wss:// URL');
  } catch (err) {
    return { code: 'invalid_url', message: 'The server address is not valid.', detail: `${wsUrl}: ${err.message}` };
  }
  if (!online) {
    return { code: 'offline', message: 'This computer is offline. Recording goes on; events are sent when the network is back.', detail: 'navigator.onLine is false' };
  }
  const secure = url.protocol === 'wss:';
  const origin = `${secure ? 'https' : 'http'}://${url.host}`;
  const other = `${secure ? 'http' : 'https'}://${url.host}`;
  if (!(await answers(fetchImpl, origin))) {
    if (await answers(fetchImpl, other)) {
      return secure
        ? { code: 'tls', message: `The server at ${url.host} does not use a secure connection: its address starts with ws://, not wss://.`, detail: `https://${url.host}/health failed; http://${url.host}/health answered` }
        : { code: 'tls', message: `The server at ${url.host} only accepts secure connections: its address starts with wss://, not ws://.`, detail: `http://${url.host}/health failed; https://${url.host}/health answered` };
    }
    return secure
      ? { code: 'unreachable_tls', message: `Cannot open a secure connection to ${url.host}: the server is down, or this browser does not trust its certificate. Open https://${url.host}/health in a tab to see which.`, detail: `GET https://${url.host}/health failed (connection refused, no answer, or TLS certificate not trusted)` }
      : { code: 'refused', message: `The CodeSight server at ${url.host} is not reachable: it is not running, or the address or port is wrong.`, detail: `GET http://${url.host}/health failed: connection refused or no answer` };
  }
  let health = null;
  try {
    const res = await probe(fetchImpl, `${origin}/health`, { mode: 'cors' });
    health = res.ok ? await res.json() : null;
  } catch { /* not a CodeSight server, or one that refuses this extension */ }
  if (!health || health.status !== 'ok') {
    return { code: 'not_codesight', message: `Something answers at ${url.host}, but it is not a CodeSight server. Check the port.`, detail: `${origin}/health did not answer {"status":"ok"} to this extension` };
  }
  if (url.pathname !== STREAM_PATH) {
    return { code: 'wrong_path', message: `The server at ${url.host} is CodeSight, but the address should end in ${STREAM_PATH}.`, detail: `no WebSocket at ${url.pathname}` };
  }
  return { code: 'rejected', message: 'The CodeSight server is up but refused the connection; it may be busy or restarting. Retrying.', detail: `WebSocket handshake to ${wsUrl} failed although ${origin}/health answers` };
}
