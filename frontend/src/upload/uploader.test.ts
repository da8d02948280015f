// @vitest-environment node
import { beforeEach, describe, expect, it } from 'vitest';
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { idbChunkStore } from './idbStore';
import { uploadRecording, UploadBusyError, type LockFn, type UploadProgress } from './uploader';
import { PutError, type PutFn } from './put';
import type { ChunkStore } from './types';
import { ApiError } from '../api/client';
import type { PartETag, PartUrls, Presign, UploadParts } from '../api/types';

const RECORDING = 'cs_test_abcde-video';
const STARTED = '2025-01-02T03:04:05.000Z';

async function storeWith(chunks: string[], factory = new IDBFactory()): Promise<ChunkStore> {
  const store = idbChunkStore(factory);
  await store.create({
    recordingId: RECORDING, sessionId: 'cs_test_abcde', kind: 'video', contentType: 'video/webm',
    recordingStartedAt: STARTED, chunkSizes: [], finished: true,
  });
  for (const [i, c] of chunks.entries()) await store.appendChunk(RECORDING, i, new Blob([c]));
  return store;
}

// The worker API and S3 as the uploader sees them: multipart uploads whose
// parts S3 keeps, URLs that carry a signing counter, aborts.
function fakeServer(partSize: number | null) {
  let uploads = 0;
  let signed = 0;
  const s = {
    presigns: [] as Record<string, unknown>[],
    completed: [] as { uploadId: string; parts: PartETag[] }[],
    aborted: [] as string[],
    signedFor: [] as number[],
    // uploadId -> partNumber -> body
    s3: new Map<string, Map<number, string>>(),
    gone: new Set<string>(),
    failures: new Map<number, PutError[]>(),
    inFlight: 0,
    maxInFlight: 0,
    hold: null as Promise<void> | null,
    api: {
      presignUpload: async (req: { sizeBytes: number } & Record<string, unknown>): Promise<Presign> => {
        s.presigns.push(req);
        const uploadId = `u${++uploads}`;
        s.s3.set(uploadId, new Map());
        return partSize
          ? { uploadId, key: 'k', multipart: true, partSize, parts: [] }
          : { uploadId, key: 'k', method: 'PUT', url: 'unused', headers: { 'Content-Type': 'video/webm' } };
      },
      uploadPartUrls: async (uploadId: string, partNumbers?: number[]): Promise<PartUrls> => {
        if (s.gone.has(uploadId)) throw new ApiError(404, 'not_found', `upload ${uploadId} was aborted`);
        const n = partNumbers ? partNumbers[0]! : 1;
        s.signedFor.push(n);
        const url = `${uploadId}/${n}/sig${++signed}`;
        return partNumbers
          ? { uploadId, status: 'pending', parts: [{ partNumber: n, url }] }
          : { uploadId, status: 'pending', url, headers: { 'Content-Type': 'video/webm' } };
      },
      uploadParts: async (uploadId: string): Promise<UploadParts> => ({
        uploadId, status: s.gone.has(uploadId) ? 'aborted' : 'pending', multipart: true, sizeBytes: 0,
        parts: [...(s.s3.get(uploadId) ?? new Map<number, string>())].map(([partNumber, body]) => ({
          partNumber, etag: `"${body}"`, sizeBytes: body.length,
        })),
      }),
      completeUpload: async (uploadId: string, parts: PartETag[]) => {
        s.completed.push({ uploadId, parts });
        return {};
      },
      abortUpload: async (uploadId: string) => {
        s.aborted.push(uploadId);
        return { uploadId, status: 'aborted' };
      },
    },
    put: (async (url, body) => {
      const [uploadId, n] = url.split('/');
      const part = Number(n);
      s.inFlight++;
      s.maxInFlight = Math.max(s.maxInFlight, s.inFlight);
      try {
        if (s.hold) await s.hold;
        const queued = s.failures.get(part);
        if (queued?.length) throw queued.shift();
        if (s.gone.has(uploadId!)) throw new PutError(404, 'NoSuchUpload');
        const text = await body.text();
        s.s3.get(uploadId!)!.set(part, text);
        return `"${text}"`;
      } finally {
        s.inFlight--;
      }
    }) as PutFn,
  };
  return s;
}

const noWait = { sleep: async () => {}, random: () => 0 };
const noLock: LockFn = (_name, fn) => fn();

describe('uploadRecording', () => {
  let store: ChunkStore;
  beforeEach(async () => { store = await storeWith(['aaaa', 'bbbb', 'cc']); });

  it('sends a small file in one PUT signed when sent, and completes it', async () => {
    const srv = fakeServer(null);
    const progress: UploadProgress[] = [];
    const r = await uploadRecording(RECORDING, { store, api: srv.api, put: srv.put, lock: noLock, retry: noWait, onProgress: (p) => progress.push(p) });
    expect(r.uploadId).toBe('u1');
    expect(srv.presigns).toEqual([{
      sessionId: 'cs_test_abcde', kind: 'video', contentType: 'video/webm', sizeBytes: 10, recordingStartedAt: STARTED,
    }]);
    expect(srv.s3.get('u1')!.get(1)).toBe('aaaabbbbcc');
    expect(srv.completed).toEqual([{ uploadId: 'u1', parts: [] }]);
    expect(progress.at(-1)).toMatchObject({ sentBytes: 10, totalBytes: 10, partsDone: 1 });
    expect(await store.get(RECORDING)).toBeUndefined();
  });

  it('sends several parts at once, each signed right before it goes, and retries a failed part with a new URL', async () => {
    const big = await storeWith(Array.from({ length: 8 }, (_, i) => String(i).repeat(3)));
    const srv = fakeServer(3);
    let release!: () => void;
    srv.hold = new Promise((r) => { release = r; });
    srv.failures.set(2, [new PutError(503, 'slow down'), new PutError(403, 'expired')]);
    const retries: string[] = [];
    const running = uploadRecording(RECORDING, {
      store: big, api: srv.api, put: srv.put, lock: noLock, retry: noWait, concurrency: 3,
      onProgress: (p) => { if (p.retrying) retries.push(p.retrying); },
    });
    await expect.poll(() => srv.inFlight).toBe(3);
    srv.hold = null;
    release();
    await running;
    expect(srv.maxInFlight).toBe(3);
    expect([...srv.s3.get('u1')!.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b).join(''))
      .toBe('000111222333444555666777');
    // Part 2 was signed three times: once per try.
    expect(srv.signedFor.filter((n) => n === 2)).toHaveLength(3);
    expect(retries).toHaveLength(2);
    expect(retries[0]).toMatch(/Part 2 failed \(slow down\)/);
    expect(srv.completed[0]!.parts.map((p) => p.partNumber)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('after a reload sends only the parts S3 does not list', async () => {
    const factory = new IDBFactory();
    const first = await storeWith(['aaaa', 'bbbb', 'cc'], factory);
    const srv = fakeServer(3);
    srv.failures.set(3, Array.from({ length: 5 }, () => new PutError(500, 'boom')));
    await expect(uploadRecording(RECORDING, { store: first, api: srv.api, put: srv.put, lock: noLock, retry: noWait, concurrency: 1 }))
      .rejects.toThrow('boom');
    expect(srv.completed).toEqual([]);
    // S3 has parts 1 and 2; and a broken part 4 (wrong size) from some other attempt.
    srv.s3.get('u1')!.set(4, 'xyz');
    // A reload: a new store object over the same database.
    const reloaded = idbChunkStore(factory);
    srv.signedFor.length = 0;
    await uploadRecording(RECORDING, { store: reloaded, api: srv.api, put: srv.put, lock: noLock, retry: noWait });
    expect(srv.signedFor.sort()).toEqual([3, 4]);
    expect(srv.presigns).toHaveLength(1);
    expect(srv.completed).toEqual([{ uploadId: 'u1', parts: ['aaa', 'abb', 'bbc', 'c'].map((b, i) => ({ partNumber: i + 1, etag: `"${b}"` })) }]);
  });

  it('starts over once when the server aborted the upload, and tells the server', async () => {
    const srv = fakeServer(3);
    srv.failures.set(2, Array.from({ length: 5 }, () => new PutError(500, 'x')));
    await expect(uploadRecording(RECORDING, { store, api: srv.api, put: srv.put, lock: noLock, retry: noWait, concurrency: 1 })).rejects.toThrow();
    srv.gone.add('u1');
    const r = await uploadRecording(RECORDING, { store, api: srv.api, put: srv.put, lock: noLock, retry: noWait });
    expect(r.uploadId).toBe('u2');
    expect(srv.aborted).toEqual(['u1']);
    expect(srv.completed.map((c) => c.uploadId)).toEqual(['u2']);
    expect(srv.completed[0]!.parts).toHaveLength(4);
  });

  it('starts over when S3 refuses a part with NoSuchUpload mid-way', async () => {
    const srv = fakeServer(3);
    srv.failures.set(3, [new PutError(404, 'NoSuchUpload')]);
    const r = await uploadRecording(RECORDING, { store, api: srv.api, put: srv.put, lock: noLock, retry: noWait, concurrency: 1 });
    expect(r.uploadId).toBe('u2');
    expect(srv.aborted).toEqual(['u1']);
  });

  it('leaves a recording another tab uploads alone', async () => {
    const srv = fakeServer(3);
    const busy: LockFn = async () => null;
    await expect(uploadRecording(RECORDING, { store, api: srv.api, put: srv.put, lock: busy })).rejects.toBeInstanceOf(UploadBusyError);
    expect(srv.presigns).toEqual([]);
    expect(await store.get(RECORDING)).toBeDefined();
  });

  it('refuses an empty recording', async () => {
    const empty = await storeWith([]);
    const srv = fakeServer(3);
    await expect(uploadRecording(RECORDING, { store: empty, api: srv.api, put: srv.put, lock: noLock })).rejects.toThrow(/empty/);
    expect(srv.presigns).toEqual([]);
  });
});
