// The worker reviews a session before submitting it: watches the video with
// the steps, deletes steps that should not be training data (and can undo
// that until the submit), says what the session was for, and submits it
// for review; or deletes the whole session.
import { useMemo, useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { asApiError, queryKeys, useSessionData, workerApi } from '../api/hooks';
import { SessionFacts } from '../components/SessionFacts';
import { SessionUploads } from '../components/SessionUploads';
import { stepKey } from '../components/StepList';
import { SubmitCard } from '../components/SubmitCard';
import { VideoWithEvents, playableMedia } from '../components/VideoWithEvents';
import { Button, Card, ErrorBox, Notice } from '../components/ui';
import { navigate } from '../lib/router';
import { readableSteps, shopPages, type Step } from '../lib/steps';

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

export function ReviewPage({ sessionId }: { sessionId: string }) {
  const queryClient = useQueryClient();
  const { events, summary, media } = useSessionData('worker', sessionId);
  const [selected, setSelected] = useState<Map<number, Step>>(new Map());
  // Deletions that can still be undone, the latest last.
  const [undo, setUndo] = useState<{ seqs: number[]; steps: number }[]>([]);
  const [notice, setNotice] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const refresh = () => queryClient.invalidateQueries({ queryKey: queryKeys.session('worker', sessionId) });
  const steps = useMemo(() => readableSteps(events.data ?? [], window.location.origin), [events.data]);
  const s = summary.data;
  const submitted = !!s?.submittedAt;

  const toggle = (step: Step) => setSelected((m) => {
    const next = new Map(m);
    if (next.has(stepKey(step))) next.delete(stepKey(step)); else next.set(stepKey(step), step);
    return next;
  });

  const remove = useMutation({
    mutationFn: (picked: Step[]) => workerApi.deleteEvents(sessionId, picked.flatMap((p) => p.seqs)),
    onSuccess: (_, picked) => {
      setSelected(new Map());
      setUndo((u) => [...u, { seqs: picked.flatMap((p) => p.seqs), steps: picked.length }]);
      setNotice(`Deleted ${plural(picked.length, 'step')}.`);
      return refresh();
    },
  });
  const restore = useMutation({
    mutationFn: (d: { seqs: number[]; steps: number }) => workerApi.restoreEvents(sessionId, d.seqs),
    onSuccess: (_, d) => {
      setUndo((u) => u.slice(0, -1));
      setNotice(`Restored ${plural(d.steps, 'step')}.`);
      return refresh();
    },
  });
  const removeSession = useMutation({
    mutationFn: () => workerApi.deleteSession(sessionId),
    onSuccess: () => navigate('/sessions'),
  });
  const busy = remove.isPending || restore.isPending || removeSession.isPending;
  const lastDeletion = undo[undo.length - 1];
  const error = remove.error ?? restore.error ?? removeSession.error;

  return (
    <>
      <h1 className="text-2xl font-bold">Review session <code className="text-lg">{sessionId}</code></h1>
      <Card title="Recording and steps" actions={!submitted && (
        <Button variant="secondary" disabled={busy || selected.size === 0} onClick={() => remove.mutate([...selected.values()])}>
          Delete {selected.size || ''} selected step{selected.size === 1 ? '' : 's'}
        </Button>
      )}>
        {!submitted && <p className="mb-3 text-sm text-slate-600">Tick the steps that are mistakes or private, then delete them. You can undo a deletion until you submit.</p>}
        {!submitted && (notice || lastDeletion) && (
          <div className="mb-3 flex flex-wrap items-center gap-3">
            {notice && <Notice tone="ok">{notice}</Notice>}
            {lastDeletion && (
              <Button variant="secondary" disabled={busy} onClick={() => restore.mutate(lastDeletion)}>
                Undo: restore {plural(lastDeletion.steps, 'step')}
              </Button>
            )}
          </div>
        )}
        {events.error && <ErrorBox title="Could not load the steps" error={asApiError(events.error)} onRetry={() => void events.refetch()} />}
        {media.error && <ErrorBox title="Could not load the recording" error={asApiError(media.error)} onRetry={() => void media.refetch()} />}
        {events.data && media.data && (
          <VideoWithEvents media={playableMedia(media.data.uploads)} events={events.data} steps={steps}
            selected={submitted ? undefined : new Set(selected.keys())} onToggle={submitted ? undefined : toggle} />
        )}
        {(!events.data || !media.data) && !events.error && !media.error && <p>Loading…</p>}
      </Card>
      <Card title="Submit for review">
        {summary.error && <ErrorBox title="Could not load the session" error={asApiError(summary.error)} onRetry={() => void summary.refetch()} />}
        {s && <SubmitCard key={`${s.task ?? ''}|${s.submittedAt ?? ''}`} s={s} onChanged={() => void refresh()} />}
      </Card>
      <Card title="Summary">
        {s ? <SessionFacts s={s} pages={shopPages(steps)} /> : !summary.error && <p>Loading…</p>}
      </Card>
      <Card title="Uploads"><SessionUploads sessionId={sessionId} /></Card>
      <Card title="Delete the whole session">
        {!confirming ? (
          <Button variant="danger" disabled={busy} onClick={() => setConfirming(true)}>Delete session…</Button>
        ) : (
          <div className="flex flex-wrap items-center gap-3" role="group" aria-label="Confirm deletion">
            <span>This removes the session, its steps and uploads. It cannot be undone.</span>
            <Button variant="danger" disabled={busy} onClick={() => removeSession.mutate()}>Yes, delete it</Button>
            <Button variant="secondary" onClick={() => setConfirming(false)}>Cancel</Button>
          </div>
        )}
      </Card>
      {error && <ErrorBox error={asApiError(error)} />}
    </>
  );
}
