// One WebSocket to the worker, reopened with backoff while it is wanted.
// The keepalive ping also keeps the service worker alive: since Chrome 116
// WebSocket traffic extends a service worker's lifetime.
//
// The backoff grows with every failed or refused connection and is reset
// only by progress (the owner calls healthy() when an ack arrives) or by a
// connection that stayed up for STABLE_MS: a server that accepts the socket
// and then fails to store (store_failed) must not be hammered because each
// new socket opens fine. A server's retryAfterMs is a floor for the next
// delay. The backoff survives the service worker being stopped (persist).

export const KEEPALIVE_MS = 20000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30000;
export const STABLE_MS = 30000;

// Exponential backoff with jitter: 0.5 s doubling to 30 s, each delay drawn
// from its upper half so many clients do not reconnect in step.
export function backoffDelay(attempt, random = Math.random) {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
  return Math.round(cap / 2 + (cap / 2) * random());
}

// The delay before reconnect number attempt: the backoff, never below the
// server's hint (plus up to 20 % so clients told the same hint spread out).
export function retryDelay(attempt, hintMs, random = Math.random) {
  const delay = backoffDelay(attempt, random);
  if (!(hintMs > 0)) return delay;
  return Math.max(delay, Math.round(hintMs * (1 + 0.2 * random())));
}

export class Connection {
  // handlers: onMessage(msg), onOpen(), onClose({code, reason, wasOpen, local}),
  // onState(state); persist(backoff) saves {attempt, notBefore}.
  constructor(handlers, { persist = () => {}, random = Math.random } = {}) {
    this.handlers = handlers;
    this.persist = persist;
    this.random = random;
    this.url = null;
    this.ws = null;
    this.state = 'disconnected';
    this.attempt = 0;
    this.notBefore = 0;
    this.hintMs = 0;
    this.backoffUrl = null;
    this.retryTimer = null;
    this.keepaliveTimer = null;
    this.stableTimer = null;
  }

  get open() { return this.state === 'connected'; }

  // Backoff state saved by an earlier service worker.
  restore({ attempt = 0, notBefore = 0, url = null } = {}) {
    this.attempt = attempt;
    this.notBefore = notBefore;
    this.backoffUrl = url;
  }

  // Connects to url, or keeps the connection or the pending retry to it.
  connect(url) {
    if (this.url === url && (this.ws || this.retryTimer)) return;
    if (this.url !== url) this.close();
    // Another server starts with a clean slate.
    if (this.backoffUrl && this.backoffUrl !== url) this._resetBackoff();
    this.url = url;
    this.backoffUrl = url;
    this._openWhenDue();
  }

  close() {
    this.url = null;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this._drop(1000);
  }

  // Opens at once, ignoring the backoff: the worker asked for it.
  retryNow() {
    if (!this.url) return;
    this._resetBackoff();
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (!this.ws) this._open();
  }

  // The server said when to come back (store_failed's retryAfterMs).
  serverHint(ms) {
    this.hintMs = Math.max(this.hintMs, Number(ms) || 0);
  }

  // The server made progress (an ack): the next failure starts small again.
  healthy() { this._resetBackoff(); }

  send(message) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  _resetBackoff() {
    if (this.attempt === 0 && this.notBefore === 0) return;
    this.attempt = 0;
    this.notBefore = 0;
    this.persist({ attempt: 0, notBefore: 0, url: this.backoffUrl });
  }

  _setState(state) {
    this.state = state;
    this.handlers.onState(state);
  }

  _openWhenDue() {
    const wait = this.notBefore - Date.now();
    if (wait <= 0) { this._open(); return; }
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => { this.retryTimer = null; if (this.url && !this.ws) this._open(); }, wait);
  }

  _open() {
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      this._setState('disconnected');
      this.handlers.onClose({ code: 0, reason: err.message, wasOpen: false });
      return;
    }
    this.ws = ws;
    let wasOpen = false;
    this._setState('connecting');
    ws.onopen = () => {
      if (this.ws !== ws) return;
      wasOpen = true;
      this._setState('connected');
      this.keepaliveTimer = setInterval(() => this.send({ type: 'ping' }), KEEPALIVE_MS);
      this.stableTimer = setTimeout(() => this._resetBackoff(), STABLE_MS);
      this.handlers.onOpen();
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
      this._stopTimers();
      this._setState('disconnected');
      this._scheduleRetry();
      this.handlers.onClose({ code: ev.code, reason: ev.reason, wasOpen });
    };
  }

  _stopTimers() {
    clearInterval(this.keepaliveTimer);
    clearTimeout(this.stableTimer);
  }

  _drop(code) {
    this._stopTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      try { ws.close(code); } catch { /* already closing */ }
      this._setState('disconnected');
      this.handlers.onClose({ code, reason: 'closed by the extension', wasOpen: true, local: true });
    }
  }

  _scheduleRetry() {
    if (!this.url) return;
    const delay = retryDelay(this.attempt, this.hintMs, this.random);
    this.attempt += 1;
    this.hintMs = 0;
    this.notBefore = Date.now() + delay;
    this.persist({ attempt: this.attempt, notBefore: this.notBefore, url: this.url });
    this._openWhenDue();
  }
}
