'use strict';
// A WebSocket client for tests: collects every message the server sends and
// lets a test wait, with a deadline, for the first one matching a predicate.

const WebSocket = require('ws');

class WsClient {
  constructor(url, options = {}) {
    this.url = url;
    this.messages = [];
    this.waiters = [];
    this.closed = null;
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data, isBinary) => {
      let msg;
      try { msg = JSON.parse(data.toString()); } catch { msg = { type: '__unparsable', raw: data.toString(), isBinary }; }
      this.messages.push(msg);
      this._wake();
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this._wake();
    });
    this.ws.on('error', (err) => {
      this.error = err;
      this._wake();
    });
  }

  _wake() {
    for (const w of this.waiters.slice()) w();
  }

  // Resolves once the socket is open.
  opened(timeoutMs = 10000) {
    if (this.ws.readyState === WebSocket.OPEN) return Promise.resolve(this);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out opening ' + this.url)), timeoutMs);
      this.ws.once('open', () => { clearTimeout(t); resolve(this); });
      this.ws.once('error', (e) => { clearTimeout(t); reject(e); });
      this.ws.once('close', (code) => { clearTimeout(t); reject(new Error('closed while opening: ' + code)); });
    });
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' || Buffer.isBuffer(obj) ? obj : JSON.stringify(obj));
  }

  // Waits for the first message (from index `from`) that matches pred.
  next(pred, { timeoutMs = 10000, from = 0 } = {}) {
    const match = typeof pred === 'string' ? (m) => m.type === pred : pred;
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let i = from; i < this.messages.length; i++) {
          if (match(this.messages[i])) { done(); resolve(this.messages[i]); return true; }
        }
        if (this.closed) { done(); reject(new Error(`closed (${this.closed.code}) before a matching message; got ${JSON.stringify(this.messages.slice(-5))}`)); return true; }
        return false;
      };
      const t = setTimeout(() => { done(); reject(new Error(`timed out waiting for a message; got ${JSON.stringify(this.messages.slice(-5))}`)); }, timeoutMs);
      const done = () => { clearTimeout(t); this.waiters = this.waiters.filter((w) => w !== check); };
      if (!check()) this.waiters.push(check);
    });
  }

  // Waits for the connection to close and returns {code, reason}.
  waitClose(timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.closed) { done(); resolve(this.closed); return true; }
        return false;
      };
      const t = setTimeout(() => { done(); reject(new Error('timed out waiting for close')); }, timeoutMs);
      const done = () => { clearTimeout(t); this.waiters = this.waiters.filter((w) => w !== check); };
      if (!check()) this.waiters.push(check);
    });
  }

  close(code = 1000) {
    try { this.ws.close(code); } catch { /* ignore */ }
  }

  terminate() {
    this.ws.terminate();
  }
}

// Opens a client and waits for the server's `connected` greeting.
async function connect(url, options) {
  const c = new WsClient(url, options);
  await c.opened();
  await c.next('connected');
  return c;
}

module.exports = { WsClient, connect };
