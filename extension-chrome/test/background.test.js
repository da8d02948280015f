import { describe, it, expect } from 'vitest';
import { newSessionId, isValidSessionId } from '../background/session-id.js';
import { backoffDelay } from '../background/connection.js';
import { buildSessionData, jsonDataUrl } from '../background/session-data.js';

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

describe('backoffDelay', () => {
  it('grows from 0.5 s to at most 10 s with jitter in the upper half', () => {
    expect(backoffDelay(0, () => 0)).toBe(250);
    expect(backoffDelay(0, () => 1)).toBe(500);
    expect(backoffDelay(3, () => 1)).toBe(4000);
    expect(backoffDelay(10, () => 1)).toBe(10000);
    expect(backoffDelay(10, () => 0)).toBe(5000);
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

  it('has the Extension Session Data shape and summary', () => {
    const doc = buildSessionData(meta, events);
    expect(doc).toMatchObject({
      sessionId: 'cs_a_b', startTime: '2025-01-01T00:00:00.000Z', endTime: '2025-01-01T00:00:05.000Z', duration: 5000, totalEvents: 4,
      summary: { clicks: 1, inputs: 1, scrolls: 1, navigations: 1, pagesVisited: ['127.0.0.1:5000', 'shop.test'] },
    });
    expect(doc.events).toEqual(events);
  });

  it('encodes UTF-8 JSON as a data: URL', () => {
    const url = jsonDataUrl({ s: 'ünï' });
    expect(url.startsWith('data:application/json;base64,')).toBe(true);
    expect(JSON.parse(Buffer.from(url.split(',')[1], 'base64').toString('utf8'))).toEqual({ s: 'ünï' });
  });
});
