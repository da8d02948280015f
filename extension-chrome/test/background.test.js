import { describe, it, expect, vi, afterEach } from 'vitest';
import { newSessionId, isValidSessionId } from '../background/session-id.js';
import { backoffDelay, retryDelay, Connection, STABLE_MS } from '../background/connection.js';
import { sessionDataBlob } from '../background/session-data.js';
import { diagnose } from '../background/diagnose.js';
import { isTrustedOrigin, pageOriginOf, pairingRequest } from '../background/trust.js';
import { isShownTopFrame } from '../background/browser-events.js';

describe('session ids', () => {
  it('generates cs_<base36 ms>_<5 [a-z0-9]>', () => {
    const id = newSessionId(Date.UTC(2025, 0, 1), () => 0.5);
    expect(id).toBe(`cs_${Date.UTC(2025, 0, 1).toString(36)}_sssss`);
    for (let i = 0; i < 50; i++) expect(newSessionId()).toMatch(/^cs_[0-9a-z]+_[a-z0-9]{5}$/);
  });

  it('validates the protocol pattern', () => {
    expect(isValidSessionId('cs_md0ap0gn_thwyx')).toBe(true);
    expect(isValidSessionId('a'.repeat(64))).toBe(true);
    for (const bad of ['', 'a'.repeat(65), 'has space', 'semi;colon', 'ümlaut', null, 7]) expect(isValidSessionId(bad)).toBe(false);
  });
});

describe('backoff', () => {
  it('grows from 0.5 s to at most 30 s with jitter in the upper half', () => {
    expect(backoffDelay(0, () => 0)).toBe(250);
    expect(backoffDelay(0, () => 1)).toBe(500);
    expect(backoffDelay(3, () => 1)).toBe(4000);
    expect(backoffDelay(10, () => 1)).toBe(30000);
    expect(backoffDelay(10, () => 0)).toBe(15000);
  });

  it('never goes below the server hint, and spreads clients told the same hint', () => {
    expect(retryDelay(0, 8000, () => 0)).toBe(8000);
    expect(retryDelay(0, 8000, () => 1)).toBe(9600);
    expect(retryDelay(10, 8000, () => 1)).toBe(30000);
    expect(retryDelay(2, 0, () => 1)).toBe(2000);
  });
});

// A WebSocket the tests open, fail and answer by hand.
class FakeSocket {
  static all = [];
  constructor(url) { this.url = url; this.sent = []; FakeSocket.all.push(this); }
  send(text) { this.sent.push(JSON.parse(text)); }
  close() {}
  open() { this.onopen(); }
  fail(code = 1006) { this.onclose({ code, reason: '' }); }
  receive(msg) { this.onmessage({ data: JSON.stringify(msg) }); }
}

describe('Connection', () => {
  afterEach(() => { vi.useRealTimers(); vi.unstubAllGlobals(); FakeSocket.all = []; });

  function connection(persisted = []) {
    vi.useFakeTimers();
    vi.stubGlobal('WebSocket', FakeSocket);
    const closes = [];
    const c = new Connection({ onMessage() {}, onOpen() {}, onClose: (i) => closes.push(i), onState() {} },
      { persist: (b) => persisted.push(b), random: () => 1 });
    return { c, closes };
  }

  it('keeps backing off while sockets open and fail, until an ack says the server works', () => {
    const persisted = [];
    const { c } = connection(persisted);
    c.connect('ws://h/extension-ws');
    const delays = [];
    for (let i = 0; i < 4; i++) {
      const ws = FakeSocket.all.at(-1);
      ws.open();
      ws.fail(1011);
      delays.push(c.notBefore - Date.now());
      vi.advanceTimersByTime(c.notBefore - Date.now());
    }
    expect(delays).toEqual([500, 1000, 2000, 4000]);
    expect(persisted.at(-1).attempt).toBe(4);
    c.healthy();
    expect(c.attempt).toBe(0);
    expect(persisted.at(-1)).toEqual({ attempt: 0, notBefore: 0, url: 'ws://h/extension-ws' });
  });

  it('waits at least the server hint before reconnecting', () => {
    const { c } = connection();
    c.connect('ws://h/extension-ws');
    FakeSocket.all[0].open();
    c.serverHint(7000);
    FakeSocket.all[0].fail(1011);
    expect(c.notBefore - Date.now()).toBe(8400);
    vi.advanceTimersByTime(8399);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(2);
  });

  it('a connection that stays up resets the backoff; asking again does not skip it', () => {
    const { c, closes } = connection();
    c.connect('ws://h/extension-ws');
    FakeSocket.all[0].fail();
    expect(closes[0]).toMatchObject({ wasOpen: false });
    c.connect('ws://h/extension-ws'); // e.g. the alarm: the pending retry stands
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(500);
    FakeSocket.all[1].open();
    expect(c.attempt).toBe(1);
    vi.advanceTimersByTime(STABLE_MS);
    expect(c.attempt).toBe(0);
  });

  it('honours a backoff saved by an earlier service worker', () => {
    const { c } = connection();
    c.restore({ attempt: 3, notBefore: Date.now() + 5000, url: 'ws://h/extension-ws' });
    c.connect('ws://h/extension-ws');
    expect(FakeSocket.all).toHaveLength(0);
    vi.advanceTimersByTime(5000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(c.attempt).toBe(3);
  });
});

describe('session data', () => {
  const events = [
    { seq: 1, type: 'navigation', timestamp: 1, data: { url: 'http://127.0.0.1:5000/' } },
    { seq: 2, type: 'click', timestamp: 2, data: { url: 'http://127.0.0.1:5000/p/1' } },
    { seq: 3, type: 'input', timestamp: 3, data: { url: 'http://shop.test/cart', value: 'ünï <EMAIL>' } },
    { seq: 4, type: 'scroll', timestamp: 4, data: { url: 'http://shop.test/cart' } },
  ];
  const meta = { sessionId: 'cs_a_b', startTime: Date.UTC(2025, 0, 1), endTime: Date.UTC(2025, 0, 1) + 5000 };
  const pages = (list) => async (after, limit) => list.filter((e) => e.seq > after).slice(0, limit);

  it('is exactly JSON.stringify of the Extension Session Data document, read page by page', async () => {
    const many = Array.from({ length: 2500 }, (_, i) => ({ ...events[i % 4], seq: i + 1 }));
    const text = await (await sessionDataBlob(meta, pages(many))).text();
    const doc = JSON.parse(text);
    expect(doc).toMatchObject({
      sessionId: 'cs_a_b', startTime: '2025-01-01T00:00:00.000Z', endTime: '2025-01-01T00:00:05.000Z', duration: 5000, totalEvents: 2500,
      summary: { clicks: 625, inputs: 625, scrolls: 625, navigations: 625, pagesVisited: ['127.0.0.1:5000', 'shop.test'] },
    });
    expect(doc.events).toEqual(many);
    expect(text).toBe(JSON.stringify(doc, null, 2));
  });

  it('is valid for a session without events', async () => {
    const text = await (await sessionDataBlob({ ...meta, endTime: null }, pages([]))).text();
    expect(text).toBe(JSON.stringify(JSON.parse(text), null, 2));
    expect(JSON.parse(text)).toMatchObject({ totalEvents: 0, events: [], duration: null });
  });
});

describe('diagnose', () => {
  // fetch as a server at answers[origin] = {status, json} or 'refused'.
  const fetchFrom = (answers) => async (url, init) => {
    const origin = new URL(url).origin;
    const a = answers[origin];
    if (!a || a === 'refused') throw new TypeError('Failed to fetch');
    if (init.mode === 'no-cors') return { ok: false, status: 0, type: 'opaque' };
    if (a.cors === false) throw new TypeError('Failed to fetch');
    return { ok: a.status === 200, status: a.status, json: async () => a.json };
  };
  const codesight = { status: 200, json: { status: 'ok' } };

  it('tells refused, TLS mismatch, not CodeSight, wrong path and a refused upgrade apart', async () => {
    const cases = [
      ['ws://127.0.0.1:9/extension-ws', {}, 'refused'],
      ['wss://h:8443/extension-ws', {}, 'unreachable_tls'],
      ['wss://h:8787/extension-ws', { 'http://h:8787': codesight }, 'tls'],
      ['ws://h:8443/extension-ws', { 'https://h:8443': codesight }, 'tls'],
      ['ws://127.0.0.1:5173/extension-ws', { 'http://127.0.0.1:5173': { status: 404, cors: false } }, 'not_codesight'],
      ['ws://127.0.0.1:8787/ws', { 'http://127.0.0.1:8787': codesight }, 'wrong_path'],
      ['ws://127.0.0.1:8787/extension-ws', { 'http://127.0.0.1:8787': codesight }, 'rejected'],
      ['http://127.0.0.1:8787/extension-ws', {}, 'invalid_url'],
    ];
    for (const [url, answers, code] of cases) {
      const d = await diagnose(url, { fetchImpl: fetchFrom(answers), online: true });
      expect(d.code, url).toBe(code);
      expect(d.message.length).toBeGreaterThan(20);
      expect(d.detail).toBeTruthy();
    }
    expect((await diagnose('ws://h/extension-ws', { fetchImpl: fetchFrom({}), online: false })).code).toBe('offline');
  });
});

describe('trust', () => {
  it('trusts only the page served with the configured stream', () => {
    expect(pageOriginOf('ws://127.0.0.1:8787/extension-ws')).toBe('http://127.0.0.1:8787');
    expect(pageOriginOf('wss://rec.example.com/extension-ws')).toBe('https://rec.example.com');
    expect(isTrustedOrigin('ws://127.0.0.1:8787/extension-ws', 'http://127.0.0.1:8787')).toBe(true);
    for (const other of ['http://127.0.0.1:5173', 'http://localhost:8787', 'https://127.0.0.1:8787', undefined]) {
      expect(isTrustedOrigin('ws://127.0.0.1:8787/extension-ws', other)).toBe(false);
    }
  });

  it('lets a page offer its own server only', () => {
    expect(pairingRequest('http://127.0.0.1:5173', { serverUrl: 'ws://127.0.0.1:5173/extension-ws', token: 't' }, 7))
      .toEqual({ origin: 'http://127.0.0.1:5173', serverUrl: 'ws://127.0.0.1:5173/extension-ws', token: 't', at: 7 });
    expect(() => pairingRequest('http://localhost:3000', { serverUrl: 'wss://evil.example/extension-ws' })).toThrow(/its own server/);
    expect(() => pairingRequest('http://localhost:3000', { serverUrl: 'http://localhost:3000/x' })).toThrow(/ws:\/\//);
  });
});

describe('navigation frames', () => {
  it('records the tab page only: not iframes, prerendering or cached documents', () => {
    expect(isShownTopFrame({ frameId: 0, frameType: 'outermost_frame', documentLifecycle: 'active' })).toBe(true);
    expect(isShownTopFrame({ frameId: 7, frameType: 'outermost_frame', documentLifecycle: 'active' })).toBe(true);
    expect(isShownTopFrame({ frameId: 7, frameType: 'outermost_frame', documentLifecycle: 'prerender' })).toBe(false);
    expect(isShownTopFrame({ frameId: 3, frameType: 'sub_frame', documentLifecycle: 'active' })).toBe(false);
    expect(isShownTopFrame({ frameId: 0 })).toBe(true);
  });
});
