// Runs uploads for the UI. Uploads belong to the page, not to a component:
// leaving the record page does not stop one, and coming back shows it. A
// failure the network or the storage service may fix by itself is retried
// on its own (with backoff, and at once when the browser is online again),
// while the recording stays safe in IndexedDB.
import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import { ApiError } from '../api/client';
import { workerApi } from '../api/hooks';
import { idbChunkStore } from './idbStore';
import { PutError, xhrPut } from './put';
import { uploadRecording, UploadBusyError, type UploadProgress } from './uploader';
import type { ChunkStore, RecordingMeta } from './types';

let shared: ChunkStore | null = null;
export function chunkStore(): ChunkStore {
  shared ??= idbChunkStore();
  return shared;
}

export type UploadState =
  | { phase: 'idle' }
  | { phase: 'uploading'; progress: UploadProgress | null }
  | { phase: 'done'; uploadId: string }
  // Retried by itself at retryAt; message says why, in the worker's words.
  | { phase: 'waiting'; message: string; detail: string; retryAt: number }
  | { phase: 'busy'; message: string }
  | { phase: 'failed'; message: string; detail: string };

const IDLE: UploadState = { phase: 'idle' };
const RETRY_MIN_MS = 5000;
const RETRY_MAX_MS = 60000;

// What a failure means for the worker, and whether time may fix it.
export function describeUploadError(e: unknown): { message: string; detail: string; retryable: boolean } {
  const detail = e instanceof ApiError ? `${e.code}: ${e.message}` : (e as Error)?.message ?? String(e);
  const safe = 'your recording is safe in this browser and will upload when it is back.';
  if ((e instanceof PutError && (e.status === 0 || e.status >= 500)) || (e instanceof ApiError && e.code === 's3_error')) {
    return { message: `The storage service is unreachable; ${safe}`, detail, retryable: true };
  }
  if (e instanceof ApiError && (e.code === 'network_error' || e.code === 'unavailable' || e.code === 'rate_limited' || e.status >= 500)) {
    return { message: `The CodeSight server cannot be reached; ${safe}`, detail, retryable: true };
  }
  if (e instanceof ApiError && e.code === 'unauthorized') {
    return {
      message: 'The server did not accept your worker token. Paste a valid token in Settings, then retry: the recording stays in this browser.',
      detail, retryable: false,
    };
  }
  return {
    message: 'The upload failed. The recording is kept in this browser: retry now or after a reload.',
    detail, retryable: false,
  };
}

class UploadManager {
  private readonly states = new Map<string, UploadState>();
  private readonly running = new Set<string>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly failures = new Map<string, number>();
  private readonly listeners = new Set<() => void>();
  private readonly settledListeners = new Set<() => void>();

  constructor() {
    if (typeof window !== 'undefined') {
      window.addEventListener('online', () => {
        for (const [id, s] of this.states) if (s.phase === 'waiting') this.start(id);
      });
    }
  }

  // The same object until the state changes (useSyncExternalStore needs it).
  get(recordingId: string): UploadState {
    return this.states.get(recordingId) ?? IDLE;
  }

  subscribe = (l: () => void) => {
    this.listeners.add(l);
    return () => { this.listeners.delete(l); };
  };

  // Called when an upload ends, well or not (not on progress).
  onSettled = (l: () => void) => {
    this.settledListeners.add(l);
    return () => { this.settledListeners.delete(l); };
  };

  private set(recordingId: string, state: UploadState) {
    this.states.set(recordingId, state);
    this.listeners.forEach((l) => l());
    if (state.phase !== 'uploading') this.settledListeners.forEach((l) => l());
  }

  // Starts (or restarts now) the upload of a stored recording.
  start(recordingId: string): void {
    clearTimeout(this.timers.get(recordingId));
    this.timers.delete(recordingId);
    if (this.running.has(recordingId)) return;
    this.running.add(recordingId);
    this.set(recordingId, { phase: 'uploading', progress: null });
    uploadRecording(recordingId, {
      store: chunkStore(), api: workerApi, put: xhrPut,
      onProgress: (progress) => this.set(recordingId, { phase: 'uploading', progress }),
    }).then(({ uploadId }) => {
      this.failures.delete(recordingId);
      this.set(recordingId, { phase: 'done', uploadId });
    }, (e: unknown) => {
      if (e instanceof UploadBusyError) {
        this.set(recordingId, { phase: 'busy', message: e.message });
        return;
      }
      const { message, detail, retryable } = describeUploadError(e);
      if (!retryable) {
        this.set(recordingId, { phase: 'failed', message, detail });
        return;
      }
      const n = (this.failures.get(recordingId) ?? 0) + 1;
      this.failures.set(recordingId, n);
      const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (n - 1));
      this.set(recordingId, { phase: 'waiting', message, detail, retryAt: Date.now() + delay });
      this.timers.set(recordingId, setTimeout(() => this.start(recordingId), delay));
    }).finally(() => this.running.delete(recordingId));
  }
}

export const uploads = new UploadManager();

export function useUpload(recordingId: string | null): { state: UploadState; start: () => void } {
  const state = useSyncExternalStore(uploads.subscribe, () => (recordingId ? uploads.get(recordingId) : IDLE));
  const start = useCallback(() => { if (recordingId) uploads.start(recordingId); }, [recordingId]);
  return { state, start };
}

// Recordings still in this browser: stopped ones waiting for upload, and ones
// cut off by a reload (their chunks are a playable prefix, so they upload too).
export function usePendingRecordings(exclude?: string): { pending: RecordingMeta[]; refresh: () => void } {
  const [pending, setPending] = useState<RecordingMeta[]>([]);
  const [tick, setTick] = useState(0);
  // An upload that finishes changes the list.
  useEffect(() => uploads.onSettled(() => setTick((t) => t + 1)), []);
  useEffect(() => {
    let cancelled = false;
    chunkStore().list().then(
      (all) => {
        if (cancelled) return;
        const stored = all.filter((m) => m.recordingId !== exclude && m.chunkSizes.length > 0);
        // One that finished uploading here stays listed, saying so.
        setPending((before) => [
          ...stored,
          ...before.filter((m) => uploads.get(m.recordingId).phase === 'done' && !stored.some((x) => x.recordingId === m.recordingId)),
        ]);
      },
      () => { if (!cancelled) setPending([]); },
    );
    return () => { cancelled = true; };
  }, [exclude, tick]);
  return { pending, refresh: useCallback(() => setTick((t) => t + 1), []) };
}
