import type { PartETag } from '../api/types';

// What the browser keeps about one recording until its upload completes.
export interface RecordingMeta {
  recordingId: string;
  sessionId: string;
  kind: string;
  contentType: string;
  // ISO time MediaRecorder started; aligns events with the video.
  recordingStartedAt: string;
  // Byte size of each stored chunk, by chunk index.
  chunkSizes: number[];
  // False while MediaRecorder may still add chunks.
  finished: boolean;
  upload?: UploadState;
}

// Resume bookkeeping: the upload presign_upload created (its URLs are not
// kept: each part is signed anew when it is sent) and the parts sent.
export interface UploadState {
  presign: { uploadId: string; multipart: boolean; partSize: number; headers?: Record<string, string> };
  done: PartETag[];
}

export interface ChunkStore {
  create(meta: RecordingMeta): Promise<void>;
  appendChunk(recordingId: string, index: number, data: Blob): Promise<void>;
  readChunk(recordingId: string, index: number): Promise<Blob>;
  get(recordingId: string): Promise<RecordingMeta | undefined>;
  put(meta: RecordingMeta): Promise<void>;
  list(): Promise<RecordingMeta[]>;
  remove(recordingId: string): Promise<void>;
}
