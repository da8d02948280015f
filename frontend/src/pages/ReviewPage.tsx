// The worker reviews a session before submitting: removes steps that should
// not be training data, or deletes the whole session.
import { useState } from 'react';
import { allEvents } from '../api/endpoints';
import { asApiError, useLoad, workerApi } from '../api/hooks';
import type { ApiError } from '../api/client';
import { EventTimeline } from '../components/EventTimeline';
import { SessionUploads } from '../components/SessionUploads';
import { Button, Card, ErrorBox, Notice } from '../components/ui';
import { navigate } from '../lib/router';

export function ReviewPage({ sessionId }: { sessionId: string }) {
  const events = useLoad(() => allEvents(workerApi, sessionId), [sessionId]);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);

  const toggle = (seq: number) => setSelected((s) => {
    const next = new Set(s);
    if (next.has(seq)) next.delete(seq); else next.add(seq);
    return next;
  });

  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try { await action(); } catch (e) { setError(asApiError(e)); } finally { setBusy(false); }
  };

  const deleteSteps = () => run(async () => {
    const r = await workerApi.deleteEvents(sessionId, [...selected]);
    setSelected(new Set());
    setNotice(`Deleted ${r.deleted} step(s).`);
    events.reload();
  });

  const deleteSession = () => run(async () => {
    await workerApi.deleteSession(sessionId);
    navigate('/sessions');
  });

  return (
    <>
      <h1 className="text-2xl font-bold">Review session <code className="text-lg">{sessionId}</code></h1>
      <Card title="Steps" actions={
        <Button variant="secondary" disabled={busy || selected.size === 0} onClick={() => void deleteSteps()}>
          Delete {selected.size || ''} selected step{selected.size === 1 ? '' : 's'}
        </Button>
      }>
        <p className="mb-3 text-sm text-slate-600">Tick the steps that are mistakes or private, then delete them.</p>
        {events.error && <ErrorBox title="Could not load the steps" error={events.error} onRetry={events.reload} />}
        {events.data && <EventTimeline events={events.data} selected={selected} onToggle={toggle} />}
        {!events.data && !events.error && <p>Loading…</p>}
      </Card>
      <Card title="Uploads"><SessionUploads sessionId={sessionId} /></Card>
      <Card title="Delete the whole session">
        {!confirming ? (
          <Button variant="danger" disabled={busy} onClick={() => setConfirming(true)}>Delete session…</Button>
        ) : (
          <div className="flex flex-wrap items-center gap-3" role="group" aria-label="Confirm deletion">
            <span>This removes the session, its steps and uploads. It cannot be undone.</span>
            <Button variant="danger" disabled={busy} onClick={() => void deleteSession()}>Yes, delete it</Button>
            <Button variant="secondary" onClick={() => setConfirming(false)}>Cancel</Button>
          </div>
        )}
      </Card>
      {notice && <Notice tone="ok">{notice}</Notice>}
      {error && <ErrorBox error={error} />}
    </>
  );
}
