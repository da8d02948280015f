// Which web pages may drive the extension (externally_connectable).
//
// The manifest lets pages on loopback reach the extension at all; only the
// CodeSight page of the configured server may control it: the page the
// same worker serves on the same host and port as the stream
// (ws://host:port/extension-ws is served with http://host:port/). Any other
// page can only ask to be connected, which the worker confirms or refuses
// in the popup; it never gets to start, stop or read a session.

export function validServerUrl(url) {
  try { return /^wss?:$/.test(new URL(url).protocol); } catch { return false; }
}

// http(s)://host:port of the page served with a ws(s):// stream URL.
export function pageOriginOf(serverUrl) {
  if (!validServerUrl(serverUrl)) return null;
  const u = new URL(serverUrl);
  return `${u.protocol === 'wss:' ? 'https' : 'http'}://${u.host}`;
}

export function isTrustedOrigin(serverUrl, origin) {
  const own = pageOriginOf(serverUrl);
  return !!own && own === origin;
}

// A page's request to connect the extension to its server, checked: a page
// may only offer its own server (the stream next to it), so a page cannot
// send recordings to a third party even if the worker clicks Allow.
export function pairingRequest(origin, { serverUrl, token }, now = Date.now()) {
  if (!validServerUrl(serverUrl)) throw Object.assign(new Error('serverUrl must be a ws:// or wss:// URL'), { code: 'invalid_request' });
  if (pageOriginOf(serverUrl) !== origin) {
    throw Object.assign(new Error(`a page on ${origin} can only connect the extension to its own server`), { code: 'forbidden' });
  }
  return { origin, serverUrl, token: typeof token === 'string' ? token : '', at: now };
}
