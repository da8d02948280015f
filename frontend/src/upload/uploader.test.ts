// @vitest-environment node
import { beforeEach, describe, expect, it } from 'vitest';
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { idbChunkStore } from './idbStore';
import { uploadRecording, type UploadProgress } from './uploader';
import { PutError, type PutFn } from './put';
import type { ChunkStore } from './types';
import type { Presign, PartETag } from '../api/types';

const RECORDING = 'cs_test_abcde-video';
const STARTED = '2025-01-02T03:04:05.000Z';

async function storeWith(chunks: string[]): Promise<ChunkStore> {
  const store = idbChunkStore(new IDBFactory());
  await store.create({
    recordingId: RECORDING, sessionId: 'cs_test_abcde', kind: 'video', contentType: 'video/webm',
    recordingStartedAt: STARTED, chunkSizes: [], finished: true,
  });
  for (const [i, c] of chunks.entries()) await store.appendChunk(RECORDING, i, new Blob([c]));
  return store;
}

// A fake worker API and S3 that records what it receives.
function fakeServer(presign: (size: number) => Presign) {
  const s = {
    presignRequests: [] as Record<string, unknown>[],
    completed: [] as { uploadId: string; parts: PartETag[] }[],
    received: new Map<string, string>(),
    failures: new Map<string, PutError[]>(),
    api: {
      presignUpload: async (req: { sizeBytes: number } & Record<string, unknown>) => {
        s.presignRequests.push(req);
        return presign(req.sizeBytes);
      },
      completeUpload: async (uploadId: string, parts: PartETag[]) => {
        s.completed.push({ uploadId, parts });
        return {};
      },
    },
    put: (async (url, body) => {
      const queued = s.failures.get(url);
      if (queued?.length) throw queued.shift();
      s.received.set(url, await body.text());
      return `"etag-${url}"`;
    }) as PutFn,
  };
  return s;
}

const multipart = (partSize: number) => (size: number): Presign => ({
  uploadId: 'u1', key: 'k', multipart: true, partSize,
  parts: Array.from({ length: Math.ceil(size / partSize) }, (_, i) => ({ partNumber: i + 1, url: `p${i + 1}` })),
});

const noWait = { sleep: async () => {}, random: () => 0 };

describe('uploadRecording', () => {
  let store: ChunkStore;
  beforeEach(async () => { store = await storeWith(['aaaa', 'bbbb', 'cc']); });

  it('uploads one PUT for a small file and completes it', async () => {
    const srv = fakeServer(() => ({ uploadId: 'u0', key: 'k', method: 'PUT', url: 'single', headers: { 'Content-Type': 'video/webm' } }));
    const progress: UploadProgress[] = [];
    const r = await uploadRecording(RECORDING, { store, api: srv.api, put: srv.put, retry: noWait, onProgress: (p) => progress.push(p) });
    expect(r.uploadId).toBe('u0');
    expect(srv.presignRequests).toEqual([{
      sessionId: 'cs_test_abcde', kind: 'video', contentType: 'video/webm', sizeBytes: 10, recordingStartedAt: STARTED,
    }]);
    expect(srv.received.get('single')).toBe('aaaabbbbcc');
    expect(srv.completed).toEqual([{ uploadId: 'u0', parts: [] }]);
    expect(progress.at(-1)).toMatchObject({ sentBytes: 10, totalBytes: 10, partsDone: 1 });
    expect(await store.get(RECORDING)).toBeUndefined();
  });

  it('assembles multipart parts from chunks and retries a failed part', async () => {
    const srv = fakeServer(multipart(3));
    srv.failures.set('p2', [new PutError(503, 'slow down'), new PutError(0, 'network')]);
    const retries: string[] = [];
    await uploadRecording(RECORDING, {
      store, api: srv.api, put: srv.put, retry: noWait,
      onProgress: (p) => { if (p.retrying) retries.push(p.retrying); },
    });
    expect([...srv.received.entries()]).toEqual([['p1', 'aaa'], ['p2', 'abb'], ['p3', 'bbc'], ['p4', 'c']]);
    expect(retries).toHaveLength(2);
    expect(srv.completed[0]!.parts.map((p) => p.partNumber)).toEqual([1, 2, 3, 4]);
  });

  it('stops on a part that keeps failing and resumes later without re-sending done parts', async () => {
    const srv = fakeServer(multipart(3));
    srv.failures.set('p3', Array.from({ length: 5 }, () => new PutError(500, 'boom')));
    await expect(uploadRecording(RECORDING, { store, api: srv.api, put: srv.put, retry: noWait })).rejects.toThrow('boom');
    const saved = await store.get(RECORDING);
    expect(saved!.upload!.done).toEqual([{ partNumber: 1, etag: '"etag-p1"' }, { partNumber: 2, etag: '"etag-p2"' }]);
    expect(srv.completed).toEqual([]);

    // A reload: a new store object over the same database state.
    srv.received.clear();
    await uploadRecording(RECORDING, { store, api: srv.api, put: srv.put, retry: noWait });
    expect([...srv.received.keys()]).toEqual(['p3', 'p4']);
    expect(srv.presignRequests).toHaveLength(1);
    expect(srv.completed[0]!.parts).toEqual([1, 2, 3, 4].map((n) => ({ partNumber: n, etag: `"etag-p${n}"` })));
  });

  it('starts over with fresh URLs when the stored ones are refused', async () => {
    let n = 0;
    const srv = fakeServer((size) => ({ ...multipart(5)(size), uploadId: `u${++n}` }));
    srv.failures.set('p2', [new PutError(500, 'x'), new PutError(500, 'x'), new PutError(500, 'x'), new PutError(500, 'x'), new PutError(500, 'x'), new PutError(403, 'expired')]);
    await expect(uploadRecording(RECORDING, { store, api: srv.api, put: srv.put, retry: noWait })).rejects.toThrow();
    const r = await uploadRecording(RECORDING, { store, api: srv.api, put: srv.put, retry: noWait });
    expect(r.uploadId).toBe('u2');
    expect(srv.completed).toEqual([{ uploadId: 'u2', parts: [{ partNumber: 1, etag: '"etag-p1"' }, { partNumber: 2, etag: '"etag-p2"' }] }]);
  });

  it('refuses an empty recording', async () => {
    const empty = await storeWith([]);
    const srv = fakeServer(multipart(3));
    await expect(uploadRecording(RECORDING, { store: empty, api: srv.api, put: srv.put })).rejects.toThrow(/empty/);
    expect(srv.presignRequests).toEqual([]);
  });
});
