// Helpers to show events and align them with the video.
import type { SessionEvent } from '../api/types';

export function eventTimeMs(e: SessionEvent): number {
  return typeof e.timestamp === 'number' ? e.timestamp : Date.parse(e.timestamp);
}

// Seconds into the video: event timestamp − recordingStartedAt.
export function videoOffset(e: SessionEvent, recordingStartedAt: string | null): number | null {
  if (!recordingStartedAt) return null;
  const t = eventTimeMs(e) - Date.parse(recordingStartedAt);
  return Number.isFinite(t) ? t / 1000 : null;
}

// The event being shown at video time t: the last one at or before t.
export function currentEventIndex(offsets: (number | null)[], t: number): number {
  let idx = -1;
  offsets.forEach((o, i) => { if (o != null && o <= t) idx = i; });
  return idx;
}

// Where a click lands, as fractions of the tab's viewport, or null. A click
// in a frame is recorded in the frame's own viewport; its frameOffset (where
// that viewport sits in the tab's) and topViewport place it on the page. A
// frame's click recorded without them cannot be placed, so it is not drawn.
export function clickPoint(e: SessionEvent): { x: number; y: number } | null {
  const d = e.data ?? {};
  const c = d.coordinates;
  const offset = d.frameOffset;
  if (!offset && (d.framePath?.length ?? 0) > 0) return null;
  const v = offset ? d.topViewport : d.viewport;
  if (!c || !v || !(v.width > 0) || !(v.height > 0)) return null;
  return { x: (c.x + (offset?.x ?? 0)) / v.width, y: (c.y + (offset?.y ?? 0)) / v.height };
}

export function formatOffset(s: number | null): string {
  if (s == null) return '';
  const sign = s < 0 ? '−' : '';
  const a = Math.abs(s);
  return `${sign}${Math.floor(a / 60)}:${(a % 60).toFixed(1).padStart(4, '0')}`;
}
