// The list of a session's events. With onToggle it offers checkboxes to pick
// steps to delete; with onSeek each event is a button that seeks the video.
import { useEffect, useRef } from 'react';
import type { SessionEvent } from '../api/types';
import { describeEvent, formatOffset } from '../lib/events';

export function EventTimeline({ events, offsets, current = -1, selected, onToggle, onSeek }: {
  events: SessionEvent[];
  offsets?: (number | null)[];
  current?: number;
  selected?: Set<number>;
  onToggle?: (seq: number) => void;
  onSeek?: (index: number) => void;
}) {
  const currentRef = useRef<HTMLLIElement | null>(null);
  useEffect(() => { currentRef.current?.scrollIntoView?.({ block: 'nearest' }); }, [current]);
  if (events.length === 0) return <p className="text-sm text-slate-600">No events were recorded for this session.</p>;
  return (
    <ol className="flex max-h-[28rem] flex-col gap-1 overflow-y-auto text-sm" aria-label="Event timeline">
      {events.map((e, i) => {
        const isCurrent = i === current;
        const label = describeEvent(e);
        const time = offsets ? formatOffset(offsets[i] ?? null) : new Date(typeof e.timestamp === 'number' ? e.timestamp : Date.parse(e.timestamp)).toLocaleTimeString();
        return (
          <li key={e.seq} ref={isCurrent ? currentRef : undefined} aria-current={isCurrent ? 'step' : undefined}
            data-testid="event" data-seq={e.seq}
            className={`flex items-center gap-2 rounded-md border px-2 py-1 ${isCurrent ? 'border-indigo-500 bg-indigo-50' : 'border-transparent'}`}>
            {onToggle && (
              <input type="checkbox" aria-label={`Select step ${e.seq}: ${label}`} checked={selected?.has(e.seq) ?? false}
                onChange={() => onToggle(e.seq)} />
            )}
            <span className="w-16 shrink-0 font-mono text-xs tabular-nums text-slate-600">{time}</span>
            <span className="w-20 shrink-0 rounded bg-slate-100 px-1 text-center text-xs">{e.type}</span>
            {onSeek ? (
              <button type="button" className="truncate text-left hover:underline" onClick={() => onSeek(i)}>{label}</button>
            ) : (
              <span className="truncate">{label}</span>
            )}
          </li>
        );
      })}
    </ol>
  );
}
