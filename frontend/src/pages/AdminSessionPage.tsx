// An admin watches a session: video with its steps, summary with the task,
// a score, and the exports.
import { useMemo, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { adminApi, asApiError, queryKeys, useSessionData } from '../api/hooks';
import type { ApiError } from '../api/client';
import { AdminGate } from '../components/AdminGate';
import { ScoreCard } from '../components/ScoreCard';
import { SessionFacts } from '../components/SessionFacts';
import { VideoWithEvents, playableMedia } from '../components/VideoWithEvents';
import { Button, Card, ErrorBox, saveFile } from '../components/ui';
import { readableSteps, shopPages } from '../lib/steps';

const DOWNLOADS = [
  { what: 'data', label: 'Session JSON', suffix: 'session.json', type: 'application/json' },
  { what: 'training-data', label: 'Training data JSON', suffix: 'training-data.json', type: 'application/json' },
  { what: 'playwright', label: 'Playwright script', suffix: 'playwright.spec.js', type: 'text/javascript' },
] as const;

export function AdminSessionPage({ sessionId }: { sessionId: string }) {
  return <AdminGate><SessionView sessionId={sessionId} /></AdminGate>;
}

function SessionView({ sessionId }: { sessionId: string }) {
  const queryClient = useQueryClient();
  const { events, summary, media } = useSessionData('admin', sessionId);
  const [downloadError, setDownloadError] = useState<ApiError | null>(null);
  const steps = useMemo(() => readableSteps(events.data ?? [], window.location.origin), [events.data]);
  const s = summary.data;

  const download = async (d: (typeof DOWNLOADS)[number]) => {
    setDownloadError(null);
    try {
      saveFile(`${sessionId}-${d.suffix}`, await adminApi.download(sessionId, d.what), d.type);
    } catch (e) {
      setDownloadError(asApiError(e));
    }
  };

  return (
    <>
      <h1 className="text-2xl font-bold">Session <code className="text-lg">{sessionId}</code></h1>
      <Card title="Recording and steps">
        {media.error && <ErrorBox title="Could not load the recording" error={asApiError(media.error)} onRetry={() => void media.refetch()} />}
        {events.error && <ErrorBox title="Could not load the steps" error={asApiError(events.error)} onRetry={() => void events.refetch()} />}
        {events.data && media.data && <VideoWithEvents media={playableMedia(media.data.uploads)} events={events.data} steps={steps} />}
        {(!events.data || !media.data) && !events.error && !media.error && <p>Loading…</p>}
      </Card>
      <Card title="Summary">
        {summary.error && <ErrorBox title="Could not load the summary" error={asApiError(summary.error)} onRetry={() => void summary.refetch()} />}
        {s && <SessionFacts s={s} pages={shopPages(steps)} showWorker />}
      </Card>
      <Card title="Score">
        {s && <ScoreCard key={s.score ?? 'none'} s={s}
          onSaved={() => void queryClient.invalidateQueries({ queryKey: queryKeys.session('admin', sessionId) })} />}
      </Card>
      <Card title="Downloads">
        <div className="flex flex-wrap gap-3">
          {DOWNLOADS.map((d) => <Button key={d.what} variant="secondary" onClick={() => void download(d)}>Download {d.label}</Button>)}
        </div>
        {downloadError && <div className="mt-3"><ErrorBox title="Download failed" error={downloadError} /></div>}
      </Card>
    </>
  );
}
