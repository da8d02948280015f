// Uploads a finished recording from the chunk store to S3 through the
// worker's presigned URLs, one part at a time, saving each part's ETag so a
// reload resumes where it stopped.
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

export interface UploadDeps {
  store: ChunkStore;
  api: Pick<Endpoints, 'presignUpload' | 'completeUpload'>;
  put: PutFn;
  retry?: RetryOptions;
  onProgress?: (p: UploadProgress) => void;
}

export function totalBytes(meta: RecordingMeta): number {
  return meta.chunkSizes.reduce((a, b) => a + (b ?? 0), 0);
}

// A stored presign is stale when S3 refuses its URLs (they expire); the
// upload then starts over with fresh URLs, once.
function isStalePresign(e: unknown): boolean {
  return e instanceof PutError && (e.status === 403 || e.status === 404);
}

function isRetryableApi(e: unknown): boolean {
  return !(e instanceof ApiError) || e.status === 0 || e.status === 429 || e.status >= 500;
}

export async function uploadRecording(recordingId: string, deps: UploadDeps): Promise<{ uploadId: string }> {
  try {
    return await attempt(recordingId, deps);
  } catch (e) {
    if (!isStalePresign(e)) throw e;
    const meta = await deps.store.get(recordingId);
    if (meta) await deps.store.put({ ...meta, upload: undefined });
    return attempt(recordingId, deps);
  }
}

async function attempt(recordingId: string, deps: UploadDeps): Promise<{ uploadId: string }> {
  const { store } = deps;
  const meta = await store.get(recordingId);
  if (!meta) throw new Error(`recording ${recordingId} is not stored in this browser`);
  const size = totalBytes(meta);
  if (size === 0) throw new Error('the recording is empty: nothing to upload');

  const upload = meta.upload ?? (await presign(meta, size, deps));
  const { presign: p } = upload;
  const plans = planParts(meta.chunkSizes, p.multipart ? p.partSize : size);
  const urls = new Map<number, string>(
    p.multipart ? p.parts.map((x) => [x.partNumber, x.url]) : [[1, p.url]]);
  const done = new Map<number, string>(upload.done.map((d) => [d.partNumber, d.etag]));
  const sizeOf = new Map(plans.map((x) => [x.partNumber, x.size]));
  const doneBytes = () => [...done.keys()].reduce((a, n) => a + (sizeOf.get(n) ?? 0), 0);
  const report = (inFlight: number, retrying?: string) => deps.onProgress?.({
    sentBytes: doneBytes() + inFlight, totalBytes: size, partsDone: done.size, partsTotal: plans.length, retrying,
  });
  report(0);

  for (const plan of plans) {
    if (done.has(plan.partNumber)) continue;
    const url = urls.get(plan.partNumber);
    if (!url) throw new Error(`the server sent no URL for part ${plan.partNumber}`);
    const etag = await putPart(plan, url, meta, upload, deps, report);
    done.set(plan.partNumber, etag);
    upload.done = [...done].map(([partNumber, e]) => ({ partNumber, etag: e }));
    await store.put({ ...meta, upload });
    report(0);
  }

  // A single PUT is completed without parts (the server HEADs the object).
  const parts: PartETag[] = p.multipart
    ? [...done].sort((a, b) => a[0] - b[0]).map(([partNumber, etag]) => ({ partNumber, etag }))
    : [];
  await withRetry(() => deps.api.completeUpload(p.uploadId, parts), { ...deps.retry, isRetryable: isRetryableApi });
  // S3 has it all now: free the browser's copy.
  await store.remove(recordingId);
  return { uploadId: p.uploadId };
}

async function presign(meta: RecordingMeta, size: number, deps: UploadDeps): Promise<UploadState> {
  const presigned = await withRetry(() => deps.api.presignUpload({
    sessionId: meta.sessionId,
    kind: meta.kind,
    contentType: meta.contentType,
    sizeBytes: size,
    recordingStartedAt: meta.recordingStartedAt,
  }), { ...deps.retry, isRetryable: isRetryableApi });
  const upload: UploadState = { presign: presigned, done: [] };
  await deps.store.put({ ...meta, upload });
  meta.upload = upload;
  return upload;
}

async function putPart(
  plan: PartPlan, url: string, meta: RecordingMeta, upload: UploadState, deps: UploadDeps,
  report: (inFlight: number, retrying?: string) => void,
): Promise<string> {
  const body = await assemblePart(deps.store, meta.recordingId, plan);
  const headers = upload.presign.headers ?? {};
  return withRetry(
    () => deps.put(url, body, headers, (loaded) => report(loaded)),
    {
      ...deps.retry,
      isRetryable: isRetryablePut,
      onRetry: (e, n, delay) => report(0,
        `part ${plan.partNumber} failed (${(e as Error).message}); retry ${n} in ${Math.round(delay / 1000)} s`),
    },
  );
}
