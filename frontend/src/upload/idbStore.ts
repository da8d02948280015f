// Recording chunks in IndexedDB, written as MediaRecorder produces them, so
// a long recording never sits whole in memory and survives a page reload.
import type { ChunkStore, RecordingMeta } from './types';

const DB_NAME = 'codesight-recordings';
const META = 'recordings';
const CHUNKS = 'chunks';

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

function open(factory: IDBFactory): Promise<IDBDatabase> {
  const r = factory.open(DB_NAME, 1);
  r.onupgradeneeded = () => {
    r.result.createObjectStore(META, { keyPath: 'recordingId' });
    r.result.createObjectStore(CHUNKS);
  };
  return req(r);
}

export function idbChunkStore(factory: IDBFactory = indexedDB): ChunkStore {
  const db = open(factory);

  async function tx(stores: string[], mode: IDBTransactionMode) {
    return (await db).transaction(stores, mode);
  }

  return {
    async create(meta) {
      const t = await tx([META], 'readwrite');
      t.objectStore(META).put(meta);
      await done(t);
    },

    async appendChunk(recordingId, index, data) {
      // Chunks are stored as ArrayBuffers: every engine can clone those.
      const buf = await data.arrayBuffer();
      const t = await tx([META, CHUNKS], 'readwrite');
      const metaStore = t.objectStore(META);
      const meta = (await req(metaStore.get(recordingId))) as RecordingMeta | undefined;
      if (!meta) throw new Error(`no recording ${recordingId}`);
      t.objectStore(CHUNKS).put(buf, [recordingId, index]);
      meta.chunkSizes[index] = buf.byteLength;
      metaStore.put(meta);
      await done(t);
    },

    async readChunk(recordingId, index) {
      const t = await tx([CHUNKS], 'readonly');
      const buf = (await req(t.objectStore(CHUNKS).get([recordingId, index]))) as ArrayBuffer | undefined;
      if (!buf) throw new Error(`chunk ${index} of ${recordingId} is missing`);
      return new Blob([buf]);
    },

    async get(recordingId) {
      const t = await tx([META], 'readonly');
      return (await req(t.objectStore(META).get(recordingId))) as RecordingMeta | undefined;
    },

    async put(meta) {
      const t = await tx([META], 'readwrite');
      t.objectStore(META).put(meta);
      await done(t);
    },

    async list() {
      const t = await tx([META], 'readonly');
      return (await req(t.objectStore(META).getAll())) as RecordingMeta[];
    },

    async remove(recordingId) {
      const t = await tx([META, CHUNKS], 'readwrite');
      t.objectStore(META).delete(recordingId);
      t.objectStore(CHUNKS).delete(IDBKeyRange.bound([recordingId, 0], [recordingId, Infinity]));
      await done(t);
    },
  };
}
