// A session's steps in words (lib/steps.ts). With onToggle each step has a
// checkbox to pick it for deletion (selected holds stepKey of the picked
// steps, which survives a refetch); with onSeek each step is a button that
// seeks the video to it.
import { useEffect, useRef } from 'react';
import type { Step } from '../lib/steps';
import { eventTimeMs, formatOffset } from '../lib/events';

// A step's identity across refetches: its first event.
export const stepKey = (s: Step): number => s.seqs[0]!;

const KIND_LABEL: Record<Step['kind'], string> = {
  page: 'page', click: 'click', type: 'typing', select: 'choice', check: 'choice', key: 'key',
  scroll: 'scroll', hover: 'hover', submit: 'form', pause: 'pause', other: 'other',
};

export function StepList({ steps, offsets, current = -1, selected, onToggle, onSeek }: {
  steps: Step[];
  offsets?: (number | null)[];
  current?: number;
  selected?: Set<number>;
  onToggle?: (step: Step) => void;
  onSeek?: (index: number) => void;
}) {
  const currentRef = useRef<HTMLLIElement | null>(null);
  useEffect(() => { currentRef.current?.scrollIntoView?.({ block: 'nearest' }); }, [current]);
  if (steps.length === 0) return <p className="text-sm text-slate-600">No steps were recorded for this session.</p>;
  return (
    <ol className="flex max-h-[28rem] flex-col gap-1 overflow-y-auto text-sm" aria-label="Steps">
      {steps.map((s, i) => {
        const isCurrent = i === current;
        const time = offsets ? formatOffset(offsets[i] ?? null) : new Date(eventTimeMs(s.events[0]!)).toLocaleTimeString();
        const label = s.text;
        return (
          <li key={stepKey(s)} ref={isCurrent ? currentRef : undefined} aria-current={isCurrent ? 'step' : undefined}
            data-testid="step" data-seqs={s.seqs.join(' ')}
            className={`flex items-center gap-2 rounded-md border px-2 py-1 ${isCurrent ? 'border-indigo-500 bg-indigo-50' : 'border-transparent'} ${s.own ? 'text-slate-500' : ''}`}>
            {onToggle && (
              <input type="checkbox" aria-label={`Select step: ${label}`} checked={selected?.has(stepKey(s)) ?? false}
                onChange={() => onToggle(s)} />
            )}
            <span className="w-16 shrink-0 font-mono text-xs tabular-nums text-slate-600">{time}</span>
            <span className="w-16 shrink-0 rounded bg-slate-100 px-1 text-center text-xs">{KIND_LABEL[s.kind]}</span>
            {onSeek ? (
              <button type="button" className="truncate text-left hover:underline" title={s.url ?? undefined} onClick={() => onSeek(i)}>{label}</button>
            ) : (
              <span className="truncate" title={s.url ?? undefined}>{label}</span>
            )}
          </li>
        );
      })}
    </ol>
  );
}
