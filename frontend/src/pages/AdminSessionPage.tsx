// An admin watches a session: video with events, summary, and exports.
import { useState } from 'react';
import { allEvents } from '../api/endpoints';
import { adminApi, asApiError, useLoad } from '../api/hooks';
import type { ApiError } from '../api/client';
import { AdminGate } from '../components/AdminGate';
import { VideoWithEvents } from '../components/VideoWithEvents';
import { Button, Card, ErrorBox, StatusBadge, formatDuration } from '../components/ui';

const DOWNLOADS = [
  { what: 'data', label: 'Session JSON', suffix: 'session.json', type: 'application/json' },
  { what: 'training-data', label: 'Training data JSON', suffix: 'training-data.json', type: 'application/json' },
  { what: 'playwright', label: 'Playwright script', suffix: 'playwright.spec.js', type: 'text/javascript' },
] as const;

function saveFile(name: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function AdminSessionPage({ sessionId }: { sessionId: string }) {
  return <AdminGate><SessionView sessionId={sessionId} /></AdminGate>;
}

function SessionView({ sessionId }: { sessionId: string }) {
  const summary = useLoad(() => adminApi.summary(sessionId), [sessionId]);
  const events = useLoad(() => allEvents(adminApi, sessionId), [sessionId]);
  const media = useLoad(() => adminApi.media(sessionId), [sessionId]);
  const [downloadError, setDownloadError] = useState<ApiError | null>(null);

  const download = async (d: (typeof DOWNLOADS)[number]) => {
    setDownloadError(null);
    try {
      saveFile(`${sessionId}-${d.suffix}`, await adminApi.download(sessionId, d.what), d.type);
    } catch (e) {
      setDownloadError(asApiError(e));
    }
  };

  // Prefer a completed screen recording, then any completed upload.
  const uploads = media.data?.uploads ?? [];
  const playable = uploads.find((u) => u.status === 'complete' && u.url && u.contentType.startsWith('video/'))
    ?? uploads.find((u) => u.status === 'complete' && u.url) ?? uploads[0] ?? null;
  const s = summary.data;

  return (
    <>
      <h1 className="text-2xl font-bold">Session <code className="text-lg">{sessionId}</code></h1>
      <Card title="Recording and events">
        {media.error && <ErrorBox title="Could not load the recording" error={media.error} onRetry={media.reload} />}
        {events.error && <ErrorBox title="Could not load the events" error={events.error} onRetry={events.reload} />}
        {events.data && media.data && <VideoWithEvents media={playable} events={events.data} />}
        {(!events.data || !media.data) && !events.error && !media.error && <p>Loading…</p>}
      </Card>
      <Card title="Summary">
        {summary.error && <ErrorBox title="Could not load the summary" error={summary.error} onRetry={summary.reload} />}
        {s && (
          <dl className="grid grid-cols-[auto_1fr] gap-x-6 gap-y-1 text-sm" data-testid="summary">
            <dt className="font-medium">Status</dt><dd><StatusBadge status={s.status} /></dd>
            <dt className="font-medium">Worker</dt><dd>{s.workerName ?? s.workerId ?? '—'}</dd>
            <dt className="font-medium">Started</dt><dd>{new Date(s.startTime).toLocaleString()}</dd>
            <dt className="font-medium">Duration</dt><dd>{s.durationMs != null ? formatDuration(s.durationMs) : 'still active'}</dd>
            <dt className="font-medium">Events</dt><dd>{s.totalEvents} ({Object.entries(s.countsByType).map(([t, n]) => `${n} ${t}`).join(', ') || 'none'})</dd>
            <dt className="font-medium">First page</dt><dd className="break-all">{s.firstUrl ?? '—'}</dd>
            <dt className="font-medium">Last page</dt><dd className="break-all">{s.lastUrl ?? '—'}</dd>
          </dl>
        )}
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
