'use strict';
// Small HTTP helpers for the worker's API tests: a fetch wrapper that
// returns status, headers and the parsed body, and a raw request over a
// plain socket for paths fetch would normalise (/../, %2e%2e).

const net = require('node:net');

// Calls the API.  opts: token, body (object: sent as JSON; string/Buffer:
// sent as is), headers, origin.  Resolves {status, headers, text, json}.
async function api(baseUrl, method, path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.origin) headers.Origin = opts.origin;
  let body;
  if (opts.body !== undefined) {
    if (typeof opts.body === 'string' || Buffer.isBuffer(opts.body)) body = opts.body;
    else body = JSON.stringify(opts.body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['Content-Type'] = 'application/json';
    }
  }
  const res = await fetch(baseUrl + path, { method, headers, body });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

// Sends one raw HTTP/1.1 request and resolves {status, headers, body} once
// the server closes the connection or the Content-Length is read.
function rawRequest(port, requestText, { host = '127.0.0.1', timeoutMs = 10000, localAddress } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host, ...(localAddress ? { localAddress } : {}) });
    const chunks = [];
    let done = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) { reject(err); return; }
      resolve(parse(Buffer.concat(chunks)));
    };
    const parse = (buf) => {
      const s = buf.toString('latin1');
      const end = s.indexOf('\r\n\r\n');
      const head = end >= 0 ? s.slice(0, end) : s;
      const lines = head.split('\r\n');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] || '');
      const headers = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      return { status: m ? Number(m[1]) : 0, headers, body: end >= 0 ? buf.slice(Buffer.byteLength(s.slice(0, end + 4), 'latin1')).toString() : '' };
    };
    const timer = setTimeout(() => finish(new Error('raw request timed out; got ' + Buffer.concat(chunks).toString().slice(0, 200))), timeoutMs);
    sock.on('data', (d) => {
      chunks.push(d);
      const r = parse(Buffer.concat(chunks));
      const len = Number(r.headers['content-length']);
      if (r.status && Number.isFinite(len) && Buffer.byteLength(r.body) >= len) finish();
    });
    sock.on('end', () => finish());
    sock.on('error', (e) => (chunks.length ? finish() : finish(e)));
    sock.write(requestText);
  });
}

// A raw GET of a path exactly as written.
function rawGet(port, path, extraHeaders = '') {
  return rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extraHeaders}Connection: close\r\n\r\n`);
}

module.exports = { api, rawRequest, rawGet };
