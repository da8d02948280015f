// The session video with its steps: click markers drawn over the picture at
// their page coordinates around the time they happened, the current step
// highlighted in the list, and a click on a step seeks the video. With
// onToggle the steps can be picked for deletion (the review page).
import { useEffect, useMemo, useRef, useState } from 'react';
import type { MediaUpload, SessionEvent } from '../api/types';
import { clickPoint, currentEventIndex, videoOffset } from '../lib/events';
import { revealDuration } from '../lib/mediaDuration';
import type { Step } from '../lib/steps';
import { StepList } from './StepList';

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

// The recording to show: a complete screen recording, else any complete upload.
export function playableMedia(uploads: MediaUpload[]): MediaUpload | null {
  return uploads.find((u) => u.status === 'complete' && u.url && u.contentType.startsWith('video/'))
    ?? uploads.find((u) => u.status === 'complete' && u.url) ?? uploads[0] ?? null;
}

export function VideoWithEvents({ media, events, steps, selected, onToggle }: {
  media: MediaUpload | null;
  events: SessionEvent[];
  // readableSteps(events): the caller shows facts drawn from them too.
  steps: Step[];
  selected?: Set<number>;
  onToggle?: (step: Step) => void;
}) {
  const video = useRef<HTMLVideoElement | null>(null);
  const [time, setTime] = useState(0);
  const [box, setBox] = useState<Box | null>(null);
  // While the browser looks for the end of the video, its position is no step's.
  const [probing, setProbing] = useState(false);
  // A step picked while probing: where the video goes once the end is found
  // (moving it now would stop the browser looking for the end).
  const wanted = useRef<number | null>(null);
  const startedAt = media?.recordingStartedAt ?? null;
  const offsets = useMemo(() => steps.map((s) => videoOffset(s.events[0]!, startedAt)), [steps, startedAt]);
  const eventOffsets = useMemo(() => events.map((e) => videoOffset(e, startedAt)), [events, startedAt]);
  const current = currentEventIndex(offsets, time);
  const isAudio = media?.contentType.startsWith('audio/') ?? false;

  useEffect(() => {
    const v = video.current;
    if (!v) return;
    const measure = () => setBox(pictureBox(v));
    let stopReveal = () => {};
    const onMetadata = () => {
      measure();
      if (v.duration !== Infinity) return;
      setProbing(true);
      stopReveal = revealDuration(v, () => {
        if (wanted.current != null) v.currentTime = wanted.current;
        wanted.current = null;
        setProbing(false);
        setTime(v.currentTime);
      });
    };
    const ro = typeof ResizeObserver !== 'undefined' ? new ResizeObserver(measure) : null;
    ro?.observe(v);
    v.addEventListener('loadedmetadata', onMetadata);
    return () => { ro?.disconnect(); v.removeEventListener('loadedmetadata', onMetadata); stopReveal(); wanted.current = null; };
  }, [media?.url]);

  const seek = (i: number) => {
    const o = offsets[i];
    const v = video.current;
    if (o == null || !v) return;
    const to = Math.max(0, o);
    if (probing) wanted.current = to;
    else v.currentTime = to;
    setTime(to);
  };
  const follow = (v: HTMLVideoElement) => { if (!probing) setTime(v.currentTime); };

  const markers = isAudio || !box ? [] : events.flatMap((e, i) => {
    const o = eventOffsets[i];
    const p = clickPoint(e);
    if (o == null || !p || time < o - MARKER_BEFORE_S || time > o + MARKER_AFTER_S) return [];
    const step = steps[current];
    return [{ seq: e.seq, left: box.left + p.x * box.width, top: box.top + p.y * box.height, current: !!step?.seqs.includes(e.seq) }];
  });

  return (
    <div className="grid gap-4 lg:grid-cols-[minmax(0,3fr)_minmax(0,2fr)]">
      <div>
        {media?.url ? (
          <div className="relative">
            <video ref={video} src={media.url} controls playsInline data-testid="session-video"
              className={`w-full rounded-md bg-black ${isAudio ? 'h-14' : 'aspect-video'}`}
              onTimeUpdate={(e) => follow(e.currentTarget)} onSeeked={(e) => follow(e.currentTarget)} />
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
        {!startedAt && media && <p className="mt-2 text-xs text-slate-600">The recording has no start time, so steps cannot be placed on it.</p>}
      </div>
      <div>
        <h3 className="mb-2 font-semibold">Steps</h3>
        <StepList steps={steps} offsets={startedAt ? offsets : undefined} current={current}
          onSeek={media?.url ? seek : undefined} selected={selected} onToggle={onToggle} />
      </div>
    </div>
  );
}
