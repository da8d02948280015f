// One WebSocket to the worker, reopened with backoff while it is wanted.
// The keepalive ping also keeps the service worker alive: since Chrome 116
// WebSocket traffic extends a service worker's lifetime.

export const KEEPALIVE_MS = 20000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10000;

// Exponential backoff with jitter: 0.5 s doubling to 10 s, each delay drawn
// from its upper half so many clients do not reconnect in step.
export function backoffDelay(attempt, random = Math.random) {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
  return Math.round(cap / 2 + (cap / 2) * random());
}

export class Connection {
  // onMessage(msg), onClose({code, reason}), onState(state)
  constructor(handlers) {
    this.handlers = handlers;
    this.url = null;
    this.ws = null;
    this.state = 'disconnected';
    this.attempt = 0;
    this.retryTimer = null;
    this.keepaliveTimer = null;
  }

  get open() { return this.state === 'connected'; }

  // Connects to url (or keeps an open connection to it).
  connect(url) {
    if (this.url === url && this.ws) return;
    this.close();
    this.url = url;
    this.attempt = 0;
    this._open();
  }

  close() {
    this.url = null;
    clearTimeout(this.retryTimer);
    this._drop(1000);
  }

  // Drops the socket and lets the backoff reconnect, e.g. after an error
  // that left the connection in an unknown state.
  reconnect() {
    if (!this.url) return;
    this._drop(1000);
    this._scheduleRetry();
  }

  send(message) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  _setState(state) {
    this.state = state;
    this.handlers.onState(state);
  }

  _open() {
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      this._setState('error: ' + err.message);
      return;
    }
    this.ws = ws;
    this._setState('connecting');
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      this._setState('connected');
      this.keepaliveTimer = setInterval(() => this.send({ type: 'ping' }), KEEPALIVE_MS);
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg && msg.type === 'ping') this.send({ type: 'pong' });
      this.handlers.onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.keepaliveTimer);
      this._setState('disconnected');
      this.handlers.onClose({ code: ev.code, reason: ev.reason });
      this._scheduleRetry();
    };
  }

  _drop(code) {
    clearInterval(this.keepaliveTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      try { ws.close(code); } catch { /* already closing */ }
      this._setState('disconnected');
      this.handlers.onClose({ code, reason: 'closed by the extension' });
    }
  }

  _scheduleRetry() {
    if (!this.url) return;
    clearTimeout(this.retryTimer);
    const delay = backoffDelay(this.attempt++);
    this.retryTimer = setTimeout(() => { if (this.url && !this.ws) this._open(); }, delay);
  }
}
