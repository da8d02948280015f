// The session video with its events: click markers drawn over the picture at
// their page coordinates around the time they happened, the current event
// highlighted in the timeline, and a click on an event seeks the video.
import { useEffect, useMemo, useRef, useState } from 'react';
import type { MediaUpload, SessionEvent } from '../api/types';
import { clickPoint, currentEventIndex, videoOffset } from '../lib/events';
import { EventTimeline } from './EventTimeline';

// A click stays visible from just before to a while after it happened.
const MARKER_BEFORE_S = 0.25;
const MARKER_AFTER_S = 1.5;

interface Box { left: number; top: number; width: number; height: number }

// The rectangle the picture occupies inside the <video> box (object-fit: contain).
function pictureBox(v: HTMLVideoElement): Box {
  const w = v.clientWidth;
  const h = v.clientHeight;
  if (!v.videoWidth || !v.videoHeight) return { left: 0, top: 0, width: w, height: h };
  const scale = Math.min(w / v.videoWidth, h / v.videoHeight);
  const pw = v.videoWidth * scale;
  const ph = v.videoHeight * scale;
  return { left: (w - pw) / 2, top: (h - ph) / 2, width: pw, height: ph };
}

export function VideoWithEvents({ media, events }: { media: MediaUpload | null; events: SessionEvent[] }) {
  const video = useRef<HTMLVideoElement | null>(null);
  const [time, setTime] = useState(0);
  const [box, setBox] = useState<Box | null>(null);
  const startedAt = media?.recordingStartedAt ?? null;
  const offsets = useMemo(() => events.map((e) => videoOffset(e, startedAt)), [events, startedAt]);
  const current = currentEventIndex(offsets, time);
  const isAudio = media?.contentType.startsWith('audio/') ?? false;

  useEffect(() => {
    const v = video.current;
    if (!v) return;
    const measure = () => setBox(pictureBox(v));
    const ro = typeof ResizeObserver !== 'undefined' ? new ResizeObserver(measure) : null;
    ro?.observe(v);
    v.addEventListener('loadedmetadata', measure);
    return () => { ro?.disconnect(); v.removeEventListener('loadedmetadata', measure); };
  }, [media?.url]);

  const seek = (i: number) => {
    const o = offsets[i];
    const v = video.current;
    if (o == null || !v) return;
    v.currentTime = Math.max(0, o);
    setTime(v.currentTime);
  };

  const markers = isAudio || !box ? [] : events.flatMap((e, i) => {
    const o = offsets[i];
    const p = clickPoint(e);
    if (o == null || !p || time < o - MARKER_BEFORE_S || time > o + MARKER_AFTER_S) return [];
    return [{ seq: e.seq, left: box.left + p.x * box.width, top: box.top + p.y * box.height, current: i === current }];
  });

  return (
    <div className="grid gap-4 lg:grid-cols-[minmax(0,3fr)_minmax(0,2fr)]">
      <div>
        {media?.url ? (
          <div className="relative">
            <video ref={video} src={media.url} controls playsInline data-testid="session-video"
              className={`w-full rounded-md bg-black ${isAudio ? 'h-14' : 'aspect-video'}`}
              onTimeUpdate={(e) => setTime(e.currentTarget.currentTime)} onSeeked={(e) => setTime(e.currentTarget.currentTime)} />
            <div aria-hidden="true" className="pointer-events-none absolute inset-0">
              {markers.map((m) => (
                <span key={m.seq} data-testid="click-marker"
                  className={`absolute -ml-3 -mt-3 h-6 w-6 rounded-full border-4 ${m.current ? 'border-red-500' : 'border-amber-400'} bg-white/30`}
                  style={{ left: m.left, top: m.top }} />
              ))}
            </div>
          </div>
        ) : (
          <p className="rounded-md bg-slate-100 p-6 text-sm text-slate-700">
            {media ? 'The recording is not uploaded completely yet.' : 'This session has no recording.'}
          </p>
        )}
        {!startedAt && media && <p className="mt-2 text-xs text-slate-600">The recording has no start time, so events cannot be placed on it.</p>}
      </div>
      <div>
        <h3 className="mb-2 font-semibold">Events</h3>
        <EventTimeline events={events} offsets={startedAt ? offsets : undefined} current={current} onSeek={seek} />
      </div>
    </div>
  );
}
