// Runs uploadRecording for the UI: progress, errors, and resumable recordings
// left in IndexedDB by an earlier page.
import { useCallback, useEffect, useState } from 'react';
import { workerApi } from '../api/hooks';
import { idbChunkStore } from './idbStore';
import { xhrPut } from './put';
import { uploadRecording, type UploadProgress } from './uploader';
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
  | { phase: 'failed'; message: string };

export function useUpload() {
  const [state, setState] = useState<UploadState>({ phase: 'idle' });
  const start = useCallback(async (recordingId: string): Promise<boolean> => {
    setState({ phase: 'uploading', progress: null });
    try {
      const { uploadId } = await uploadRecording(recordingId, {
        store: chunkStore(), api: workerApi, put: xhrPut,
        onProgress: (progress) => setState({ phase: 'uploading', progress }),
      });
      setState({ phase: 'done', uploadId });
      return true;
    } catch (e) {
      const err = e as Error & { advice?: string };
      setState({ phase: 'failed', message: [err.message, err.advice].filter(Boolean).join(' ') });
      return false;
    }
  }, []);
  return { state, start };
}

// Recordings still in this browser: stopped ones waiting for upload, and ones
// cut off by a reload (their chunks are a playable prefix, so they upload too).
export function usePendingRecordings(exclude?: string): { pending: RecordingMeta[]; refresh: () => void } {
  const [pending, setPending] = useState<RecordingMeta[]>([]);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let cancelled = false;
    chunkStore().list().then(
      (all) => { if (!cancelled) setPending(all.filter((m) => m.recordingId !== exclude && m.chunkSizes.length > 0)); },
      () => { if (!cancelled) setPending([]); },
    );
    return () => { cancelled = true; };
  }, [exclude, tick]);
  return { pending, refresh: useCallback(() => setTick((t) => t + 1), []) };
}
