// Maps S3 parts onto the stored recording chunks: part n covers bytes
// [(n-1)*partSize, n*partSize) of the concatenated chunks.
import type { ChunkStore } from './types';

export interface ChunkSlice {
  chunk: number;
  start: number;
  end: number;
}

export interface PartPlan {
  partNumber: number;
  size: number;
  slices: ChunkSlice[];
}

export function planParts(chunkSizes: number[], partSize: number): PartPlan[] {
  if (!(partSize > 0)) throw new Error('partSize must be positive');
  const total = chunkSizes.reduce((a, b) => a + b, 0);
  const parts: PartPlan[] = [];
  let chunk = 0;
  let offsetInChunk = 0;
  for (let begin = 0, n = 1; begin < total; begin += partSize, n++) {
    const size = Math.min(partSize, total - begin);
    const slices: ChunkSlice[] = [];
    let need = size;
    while (need > 0) {
      const available = (chunkSizes[chunk] ?? 0) - offsetInChunk;
      if (available <= 0) { chunk++; offsetInChunk = 0; continue; }
      const take = Math.min(available, need);
      slices.push({ chunk, start: offsetInChunk, end: offsetInChunk + take });
      offsetInChunk += take;
      need -= take;
    }
    parts.push({ partNumber: n, size, slices });
  }
  return parts;
}

// Reads only the chunks one part needs: memory stays at one part.
export async function assemblePart(store: ChunkStore, recordingId: string, part: PartPlan): Promise<Blob> {
  const pieces: Blob[] = [];
  for (const s of part.slices) {
    const blob = await store.readChunk(recordingId, s.chunk);
    pieces.push(s.start === 0 && s.end === blob.size ? blob : blob.slice(s.start, s.end));
  }
  return new Blob(pieces);
}
