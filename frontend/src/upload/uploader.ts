// Uploads a finished recording from the chunk store to S3 through the
// worker's presigned URLs (docs/s3.md):
//   - a few parts at once, each signed right before it is sent, so a
//     recording resumed hours later never meets an expired URL;
//   - a part that stalls is cut and retried with backoff;
//   - after a reload it asks the server which parts S3 already holds
//     (ListParts) and sends only the others;
//   - one tab at a time works on a recording (a Web Lock per recording);
//   - an upload S3 no longer has (aborted as abandoned) starts over once,
//     from the bytes still in this browser.
import { ApiError } from '../api/client';
import type { Endpoints } from '../api/endpoints';
import type { PartETag } from '../api/types';
import { assemblePart, planParts, type PartPlan } from './parts';
import { isRetryablePut, PutError, type PutFn } from './put';
import { withRetry, type RetryOptions } from './retry';
import type { ChunkStore, RecordingMeta, UploadState } from './types';

export interface UploadProgress {
  sentBytes: number;
  totalBytes: number;
  partsDone: number;
  partsTotal: number;
  retrying?: string;
}

// Runs fn holding an exclusive lock named name, or returns null at once when
// another tab holds it.
export type LockFn = <T>(name: string, fn: () => Promise<T>) => Promise<T | null>;

export interface UploadDeps {
  store: ChunkStore;
  api: Pick<Endpoints, 'presignUpload' | 'completeUpload' | 'uploadPartUrls' | 'uploadParts' | 'abortUpload'>;
  put: PutFn;
  lock?: LockFn;
  retry?: RetryOptions;
  // Parts in flight at once.
  concurrency?: number;
  // A part with no progress for this long is cut and retried.
  stallMs?: number;
  // Longest wait for one API answer.
  apiTimeoutMs?: number;
  onProgress?: (p: UploadProgress) => void;
}

export const CONCURRENCY = 3;
export const STALL_MS = 30000;
const API_TIMEOUT_MS = 30000;

// Another tab is uploading this recording.
export class UploadBusyError extends Error {
  constructor() {
    super('This recording is being uploaded from another tab or window.');
    this.name = 'UploadBusyError';
  }
}

export function totalBytes(meta: RecordingMeta): number {
  return meta.chunkSizes.reduce((a, b) => a + (b ?? 0), 0);
}

// The Web Locks API where the browser has it; without it, no exclusion.
export const webLock: LockFn = (name, fn) => {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return fn();
  return locks.request(name, { ifAvailable: true }, (lock) => (lock ? fn() : null)) as Promise<Awaited<ReturnType<typeof fn>> | null>;
};

function isRetryableApi(e: unknown): boolean {
  return !(e instanceof ApiError) || e.status === 0 || e.status === 429 || e.status >= 500;
}

// The upload is gone on S3 or on the server (aborted, abandoned): retrying
// cannot help, a new upload can.
function isGone(e: unknown): boolean {
  return (e instanceof PutError && e.status === 404) || (e instanceof ApiError && e.status === 404);
}

export async function uploadRecording(recordingId: string, deps: UploadDeps): Promise<{ uploadId: string }> {
  const lock = deps.lock ?? webLock;
  const result = await lock(`codesight-upload:${recordingId}`, () => run(recordingId, deps));
  if (result === null) throw new UploadBusyError();
  return result;
}

async function run(recordingId: string, deps: UploadDeps): Promise<{ uploadId: string }> {
  for (let startedOver = false; ; startedOver = true) {
    const meta = await deps.store.get(recordingId);
    if (!meta) throw new Error(`recording ${recordingId} is not stored in this browser`);
    if (totalBytes(meta) === 0) throw new Error('the recording is empty: nothing to upload');
    try {
      return await attempt(meta, deps);
    } catch (e) {
      const current = await deps.store.get(recordingId);
      if (!isGone(e) || startedOver || !current?.upload) throw e;
      // Tell the server too (best effort): its row may still say pending.
      await deps.api.abortUpload(current.upload.presign.uploadId).catch(() => undefined);
      await deps.store.put({ ...current, upload: undefined });
    }
  }
}

function timed<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ApiError(0, 'network_error', `The server did not answer within ${Math.round(ms / 1000)} s.`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function attempt(meta: RecordingMeta, deps: UploadDeps): Promise<{ uploadId: string }> {
  const { store } = deps;
  const apiTimeout = deps.apiTimeoutMs ?? API_TIMEOUT_MS;
  const api = <T>(call: () => Promise<T>) =>
    withRetry(() => timed(call(), apiTimeout), { ...deps.retry, isRetryable: isRetryableApi });
  const size = totalBytes(meta);
  const resuming = !!meta.upload;
  const upload: UploadState = meta.upload ?? await presign(meta, size, deps, api);
  const p = upload.presign;
  const uploadId = p.uploadId;
  if (!resuming) await store.put({ ...meta, upload });
  const plans = planParts(meta.chunkSizes, p.multipart ? p.partSize : size);
  const done = new Map<number, string>(upload.done.map((d) => [d.partNumber, d.etag]));

  // After a reload S3 is the truth: exactly the parts it lists are sent.
  if (resuming && p.multipart) {
    const listed = await api(() => deps.api.uploadParts(uploadId));
    if (listed.status === 'aborted' || listed.status === 'failed') {
      throw new ApiError(404, 'not_found', `upload ${uploadId} was aborted`);
    }
    if (listed.status === 'complete') return finish(meta, uploadId, store);
    done.clear();
    const sizeOf = new Map(plans.map((x) => [x.partNumber, x.size]));
    for (const part of listed.parts) if (sizeOf.get(part.partNumber) === part.sizeBytes) done.set(part.partNumber, part.etag);
  }

  const inFlight = new Map<number, number>();
  const partBytes = (n: number) => plans[n - 1]?.size ?? 0;
  const report = (retrying?: string) => deps.onProgress?.({
    sentBytes: [...done.keys()].reduce((a, n) => a + partBytes(n), 0) + [...inFlight.values()].reduce((a, b) => a + b, 0),
    totalBytes: size, partsDone: done.size, partsTotal: plans.length, retrying,
  });
  report();

  // Part ETags are saved as they come, one write at a time.
  let saving = Promise.resolve();
  const save = () => {
    upload.done = [...done].map(([partNumber, etag]) => ({ partNumber, etag }));
    saving = saving.then(() => store.put({ ...meta, upload: { ...upload, done: [...upload.done] } }));
    return saving;
  };

  const queue = plans.filter((x) => !done.has(x.partNumber));
  const cancel = new AbortController();
  let completedElsewhere = false;
  const sendOne = async (plan: PartPlan) => {
    const body = await assemblePart(store, meta.recordingId, plan);
    const etag = await withRetry(async () => {
      const signed = await timed(deps.api.uploadPartUrls(uploadId, p.multipart ? [plan.partNumber] : undefined), apiTimeout);
      if (signed.status === 'complete') { completedElsewhere = true; return ''; }
      const url = p.multipart ? signed.parts?.[0]?.url : signed.url;
      if (!url) throw new Error(`the server sent no URL for part ${plan.partNumber}`);
      inFlight.set(plan.partNumber, 0);
      return deps.put(url, body, signed.headers ?? p.headers ?? {}, (loaded) => {
        inFlight.set(plan.partNumber, loaded);
        report();
      }, { stallMs: deps.stallMs ?? STALL_MS, signal: cancel.signal });
    }, {
      ...deps.retry,
      isRetryable: (e) => !cancel.signal.aborted && (e instanceof PutError ? isRetryablePut(e) : isRetryableApi(e)),
      onRetry: (e, n, delay) => {
        inFlight.delete(plan.partNumber);
        report(`Part ${plan.partNumber} failed (${(e as Error).message}); try ${n + 1} in ${Math.max(1, Math.round(delay / 1000))} s.`);
      },
    }).finally(() => inFlight.delete(plan.partNumber));
    if (completedElsewhere) return;
    done.set(plan.partNumber, etag);
    await save();
    report();
  };
  const worker = async () => {
    for (let plan = queue.shift(); plan && !cancel.signal.aborted && !completedElsewhere; plan = queue.shift()) {
      await sendOne(plan);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(deps.concurrency ?? CONCURRENCY, Math.max(1, queue.length)) }, worker));
  } catch (e) {
    cancel.abort();
    await saving.catch(() => undefined);
    throw e;
  }
  await saving;
  if (!completedElsewhere) {
    // A single PUT is completed without parts (the server HEADs the object).
    const parts: PartETag[] = p.multipart
      ? [...done].sort((a, b) => a[0] - b[0]).map(([partNumber, etag]) => ({ partNumber, etag }))
      : [];
    await api(() => deps.api.completeUpload(uploadId, parts));
  }
  return finish(meta, uploadId, store);
}

// Creates the upload on the server; only what a resume needs is kept.
async function presign(
  meta: RecordingMeta, size: number, deps: UploadDeps, api: <T>(call: () => Promise<T>) => Promise<T>,
): Promise<UploadState> {
  const p = await api(() => deps.api.presignUpload({
    sessionId: meta.sessionId, kind: meta.kind, contentType: meta.contentType,
    sizeBytes: size, recordingStartedAt: meta.recordingStartedAt,
  }));
  return {
    presign: p.multipart
      ? { uploadId: p.uploadId, multipart: true, partSize: p.partSize }
      : { uploadId: p.uploadId, multipart: false, partSize: size, headers: p.headers },
    done: [],
  };
}

// S3 has it all now: free the browser's copy.
async function finish(meta: RecordingMeta, uploadId: string, store: ChunkStore): Promise<{ uploadId: string }> {
  await store.remove(meta.recordingId);
  return { uploadId };
}
