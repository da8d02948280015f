// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { assemblePart, planParts } from './parts';
import { idbChunkStore } from './idbStore';
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';

describe('planParts', () => {
  it('splits chunks across part boundaries', () => {
    const plans = planParts([4, 4, 4], 5);
    expect(plans.map((p) => p.size)).toEqual([5, 5, 2]);
    expect(plans[0]!.slices).toEqual([{ chunk: 0, start: 0, end: 4 }, { chunk: 1, start: 0, end: 1 }]);
    expect(plans[1]!.slices).toEqual([{ chunk: 1, start: 1, end: 4 }, { chunk: 2, start: 0, end: 2 }]);
    expect(plans[2]!.slices).toEqual([{ chunk: 2, start: 2, end: 4 }]);
  });

  it('makes one part when partSize covers everything, skipping empty chunks', () => {
    const plans = planParts([3, 0, 2], 100);
    expect(plans).toEqual([{ partNumber: 1, size: 5, slices: [{ chunk: 0, start: 0, end: 3 }, { chunk: 2, start: 0, end: 2 }] }]);
  });

  it('covers every byte exactly once', () => {
    const sizes = [7, 1, 13, 2, 9, 30];
    for (const partSize of [1, 3, 8, 31, 62, 100]) {
      const plans = planParts(sizes, partSize);
      const covered = plans.flatMap((p) => p.slices).reduce((a, s) => a + s.end - s.start, 0);
      expect(covered).toBe(62);
      expect(plans.map((p) => p.partNumber)).toEqual(plans.map((_, i) => i + 1));
    }
  });
});

describe('assemblePart from IndexedDB chunks', () => {
  it('concatenates the right bytes', async () => {
    const store = idbChunkStore(new IDBFactory());
    await store.create({
      recordingId: 'r1', sessionId: 's', kind: 'screen', contentType: 'video/webm',
      recordingStartedAt: '2025-01-01T00:00:00Z', chunkSizes: [], finished: false,
    });
    const bytes = (s: string) => new Blob([new TextEncoder().encode(s)]);
    await store.appendChunk('r1', 0, bytes('abcd'));
    await store.appendChunk('r1', 1, bytes('efgh'));
    await store.appendChunk('r1', 2, bytes('ij'));
    const meta = await store.get('r1');
    expect(meta!.chunkSizes).toEqual([4, 4, 2]);
    const plans = planParts(meta!.chunkSizes, 3);
    const texts = await Promise.all(plans.map(async (p) => (await assemblePart(store, 'r1', p)).text()));
    expect(texts).toEqual(['abc', 'def', 'ghi', 'j']);
    await store.remove('r1');
    expect(await store.list()).toEqual([]);
    await expect(store.readChunk('r1', 0)).rejects.toThrow(/missing/);
  });
});
