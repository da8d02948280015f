import { describe, it, expect } from 'vitest';
import { Outbox, newSessionMeta, BATCH_MAX, RECENT_EVENT_IDS } from '../background/outbox.js';
import { MemoryStore } from './memory-store.js';

function event(i) { return { type: 'click', timestamp: 1000 + i, data: { i } }; }

async function filled(n) {
  const store = new MemoryStore();
  const ob = new Outbox(store, newSessionMeta('cs_test_abcde', 1000));
  for (let i = 0; i < n; i++) await ob.add(event(i));
  return { store, ob };
}

// Plays a server that stores every event it is sent, at most once, and
// returns the seqs it stored.
async function drain(ob, server) {
  for (let batch = await ob.nextBatch(); batch.length; batch = await ob.nextBatch()) {
    for (const e of batch) server.add(e.seq);
  }
}

describe('Outbox', () => {
  it('numbers events from 1 and stores each before add resolves', async () => {
    const { store, ob } = await filled(3);
    expect([...store.rows('cs_test_abcde').keys()]).toEqual([1, 2, 3]);
    expect(store.metas.get('cs_test_abcde').nextSeq).toBe(4);
    expect(ob.counters).toEqual({ captured: 3, sent: 0, acknowledged: 0, queued: 3 });
  });

  it('keeps call order for concurrent adds', async () => {
    const { store, ob } = await filled(0);
    const seqs = await Promise.all([0, 1, 2, 3].map((i) => ob.add(event(i)).then((e) => [e.seq, e.data.i])));
    expect(seqs).toEqual([[1, 0], [2, 1], [3, 2], [4, 3]]);
    expect(store.appends).toBe(4);
  });

  it('sends nothing before the server answered session_start', async () => {
    const { ob } = await filled(2);
    expect(await ob.nextBatch()).toEqual([]);
  });

  it('hands out batches of at most 50 in seq order, each once per connection', async () => {
    const { ob } = await filled(120);
    await ob.started(0);
    const sizes = [];
    const seqs = [];
    for (let b = await ob.nextBatch(); b.length; b = await ob.nextBatch()) {
      sizes.push(b.length);
      seqs.push(...b.map((e) => e.seq));
    }
    expect(sizes).toEqual([BATCH_MAX, BATCH_MAX, 20]);
    expect(seqs).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect(ob.counters.sent).toBe(120);
  });

  it('keeps events until an ack covers them', async () => {
    const { store, ob } = await filled(5);
    await ob.started(0);
    await ob.nextBatch();
    await ob.ack(3);
    expect([...store.rows('cs_test_abcde').keys()]).toEqual([4, 5]);
    expect(ob.counters).toEqual({ captured: 5, sent: 5, acknowledged: 3, queued: 2 });
    expect(ob.settled).toBe(false);
    await ob.ack(2); // late, smaller ack changes nothing
    expect(ob.counters.acknowledged).toBe(3);
    await ob.ack(99); // never beyond what was captured
    expect(ob.counters.acknowledged).toBe(5);
    expect(ob.settled).toBe(true);
  });

  it('resends exactly what the server lacks after a reconnect', async () => {
    const { ob } = await filled(10);
    const server = new Set();
    await ob.started(0);
    const first = await ob.nextBatch();
    for (const e of first.slice(0, 6)) server.add(e.seq); // the connection dies after 6 were stored
    await ob.ack(4); // and only 4 were acknowledged
    ob.disconnected();
    expect(await ob.nextBatch()).toEqual([]);
    for (let i = 10; i < 13; i++) await ob.add(event(i)); // recorded while offline
    await ob.started(Math.max(...server)); // session_started {lastSeq: 6}
    await drain(ob, server);
    expect([...server].sort((a, b) => a - b)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(ob.counters.acknowledged).toBe(6);
  });

  it('survives a restart from its persisted meta without reusing a seq', async () => {
    const { store, ob } = await filled(4);
    await ob.started(0);
    await ob.nextBatch();
    await ob.ack(2);
    const revived = new Outbox(store, structuredClone(store.metas.get('cs_test_abcde')));
    const e = await revived.add(event(9));
    expect(e.seq).toBe(5);
    await revived.started(2);
    expect((await revived.nextBatch()).map((x) => x.seq)).toEqual([3, 4, 5]);
  });

  it('ignores a batch read that raced with a reconnect', async () => {
    const { ob } = await filled(3);
    await ob.started(0);
    const pending = ob.nextBatch();
    ob.disconnected();
    await ob.started(1);
    expect(await pending).toEqual([]);
    expect((await ob.nextBatch()).map((x) => x.seq)).toEqual([2, 3]);
  });

  it('drops a retried event it already stored, also after a restart', async () => {
    const { store, ob } = await filled(0);
    const click = (id) => ({ type: 'click', timestamp: 1, data: { eventId: id } });
    // A content script's first try arrived but its answer did not; the
    // retry carries the same id. Concurrent tries keep call order too.
    const [a, b] = await Promise.all([ob.add(click('e-1')), ob.add(click('e-1'))]);
    expect(a.seq).toBe(1);
    expect(b).toBe(null);
    expect(await ob.add(click('e-2'))).toMatchObject({ seq: 2 });
    const revived = new Outbox(store, structuredClone(store.metas.get('cs_test_abcde')));
    expect(await revived.add(click('e-2'))).toBe(null);
    expect(await revived.add(click('e-3'))).toMatchObject({ seq: 3 });
    expect([...store.rows('cs_test_abcde').keys()]).toEqual([1, 2, 3]);
    // Events without an id (the service worker's own) are all kept, and
    // the remembered ids stay bounded.
    for (let i = 0; i < RECENT_EVENT_IDS + 10; i++) await revived.add(click('x-' + i));
    expect(await revived.add(event(1))).toMatchObject({ seq: RECENT_EVENT_IDS + 14 });
    expect(revived.meta.recentEventIds.length).toBe(RECENT_EVENT_IDS);
  });
});
