import type { PartETag, Presign } from '../api/types';

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

// Resume bookkeeping: the presigned upload and the parts S3 already has.
export interface UploadState {
  presign: Presign;
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
