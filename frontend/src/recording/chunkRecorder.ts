// MediaRecorder whose chunks go straight to the chunk store as they arrive.
import type { ChunkStore, RecordingMeta } from '../upload/types';

export const TIMESLICE_MS = 1000;

export class ChunkRecorder {
  private readonly recorder: MediaRecorder;
  private writes: Promise<void> = Promise.resolve();
  private next = 0;
  private writeError: unknown = null;

  // Told at once when a chunk cannot be stored, not only at stop().
  onWriteError: ((e: unknown) => void) | null = null;

  private constructor(recorder: MediaRecorder, private readonly store: ChunkStore, readonly meta: RecordingMeta) {
    this.recorder = recorder;
  }

  // Starts recording; resolves once MediaRecorder has started, with the
  // stored meta carrying the start time.
  static async start(
    stream: MediaStream, store: ChunkStore,
    info: { sessionId: string; kind: string; mimeType: string },
  ): Promise<ChunkRecorder> {
    const recorder = new MediaRecorder(stream, info.mimeType ? { mimeType: info.mimeType } : undefined);
    const contentType = recorder.mimeType || info.mimeType || 'video/webm';
    const meta: RecordingMeta = {
      recordingId: `${info.sessionId}-${info.kind}`,
      sessionId: info.sessionId, kind: info.kind, contentType,
      recordingStartedAt: '', chunkSizes: [], finished: false,
    };
    const self = new ChunkRecorder(recorder, store, meta);
    self.chain(() => store.create(meta));
    recorder.ondataavailable = (e) => self.save(e.data);
    const started = new Promise<void>((resolve, reject) => {
      recorder.onstart = () => resolve();
      recorder.onerror = (e) => reject((e as unknown as { error?: Error }).error ?? new Error('recorder failed'));
    });
    recorder.start(TIMESLICE_MS);
    await started;
    meta.recordingStartedAt = new Date().toISOString();
    self.chain(async () => {
      const stored = await store.get(meta.recordingId);
      if (stored) await store.put({ ...stored, recordingStartedAt: meta.recordingStartedAt });
    });
    await self.writes;
    return self;
  }

  // Store writes run one after another so chunk order and the stored sizes
  // stay consistent; the first failure is reported at once and by stop().
  private chain(write: () => Promise<void>): void {
    this.writes = this.writes.then(write).catch((e: unknown) => {
      if (this.writeError) return;
      this.writeError = e;
      this.onWriteError?.(e);
    });
  }

  private save(data: Blob): void {
    if (data.size === 0) return;
    const index = this.next++;
    this.chain(() => this.store.appendChunk(this.meta.recordingId, index, data));
  }

  get state(): RecordingState {
    return this.recorder.state;
  }

  // Stops recording, waits for the last chunk to be stored, marks it finished.
  async stop(): Promise<RecordingMeta> {
    if (this.recorder.state !== 'inactive') {
      const stopped = new Promise<void>((resolve) => { this.recorder.onstop = () => resolve(); });
      this.recorder.stop();
      await stopped;
    }
    await this.writes;
    if (this.writeError) throw new Error(`Saving the recording failed: ${(this.writeError as Error).message}`);
    const meta = await this.store.get(this.meta.recordingId);
    if (!meta) throw new Error('The recording vanished from browser storage.');
    const finished = { ...meta, finished: true };
    await this.store.put(finished);
    return finished;
  }
}
