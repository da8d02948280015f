// One screen to record a demonstration: the extension's state, the server's,
// the recording controls, and the uploads. The page and the extension share
// one session whichever side started it (recording/useRecording.ts); each
// concern is its own small component under recording/.
import { useEffect, useRef, useState } from 'react';
import { Button, Card, ErrorBox, Notice } from '../components/ui';
import { Link } from '../lib/router';
import { useSetting } from '../lib/settings';
import type { CaptureMode } from '../recording/capture';
import { ExtensionPanel } from '../recording/ExtensionPanel';
import { PendingRecordings } from '../recording/PendingRecordings';
import { Problem } from '../recording/Problem';
import { RecordingPanel } from '../recording/RecordingPanel';
import { ServerPanel } from '../recording/ServerPanel';
import { UploadStatus } from '../recording/UploadStatus';
import { connectExtension, useExtension, type ExtensionView } from '../recording/useExtension';
import { useRecording } from '../recording/useRecording';
import { useServerStatus } from '../recording/useServerStatus';
import { useUpload } from '../upload/useUpload';
import { SessionUploads } from '../components/SessionUploads';
import { TaskPicker, useTaskChoice } from '../components/TaskPicker';

export function RecordPage() {
  const token = useSetting('workerToken');
  if (!token) {
    return (
      <Card title="Record a session">
        <p>You need a worker token to record. <Link href="/register" className="text-indigo-700 underline">Register</Link> or paste your token in <Link href="/settings" className="text-indigo-700 underline">Settings</Link>.</p>
      </Card>
    );
  }
  return <Recorder token={token} />;
}

function Recorder({ token }: { token: string }) {
  const server = useServerStatus(token);
  const { view } = useExtension();
  const rec = useRecording();
  const { follow } = rec;
  useEffect(() => follow(view), [view, follow]);
  useHandTokenToExtension(view, token, server.kind === 'ok');
  // The task chosen here goes to the session the page starts or joins,
  // once, when its recording starts.
  const task = useTaskChoice();
  const { assignTo } = task;
  const assigned = useRef<string | null>(null);
  useEffect(() => {
    if (rec.phase !== 'recording' || !rec.sessionId || assigned.current === rec.sessionId) return;
    assigned.current = rec.sessionId;
    void assignTo(rec.sessionId);
  }, [rec.phase, rec.sessionId, assignTo]);

  return (
    <>
      <h1 className="text-2xl font-bold">Record a session</h1>
      <ServerPanel view={server} />
      <Card title="Extension">
        <ExtensionPanel view={view} token={token} />
      </Card>
      <Card title="Recording">
        {rec.phase === 'recording' || rec.phase === 'stopping' ? (
          <RecordingPanel startedAt={rec.startedAt} mic={rec.mic} sessionId={rec.sessionId} stopping={rec.phase === 'stopping'}
            onStop={() => void rec.stop({ by: 'page' })} />
        ) : (
          <>
            <TaskPicker state={task} disabled={rec.phase === 'starting'} />
            <StartControls view={view} starting={rec.phase === 'starting'} onStart={(mode) => void rec.start(mode, view)} />
          </>
        )}
        <div className="mt-4 flex flex-col gap-3">
          {rec.outcome && (rec.outcome.tone === 'ok'
            ? <Notice tone="ok">{rec.outcome.message}</Notice>
            : <Problem tone={rec.outcome.tone === 'warn' ? 'warn' : 'error'} detail={rec.outcome.detail} testId="recording-outcome">{rec.outcome.message}</Problem>)}
          {rec.error && <ErrorBox title={rec.error.title} error={rec.error.error} />}
        </div>
      </Card>
      {rec.phase === 'stopped' && rec.recordingId && rec.sessionId && (
        <UploadCard recordingId={rec.recordingId} sessionId={rec.sessionId} />
      )}
      <PendingRecordings exclude={rec.recordingId ?? undefined} />
    </>
  );
}

// What to record, and Start; Start joins the session the extension records.
function StartControls({ view, starting, onStart }: { view: ExtensionView; starting: boolean; onStart: (mode: CaptureMode) => void }) {
  const [mode, setMode] = useState<CaptureMode>('screen');
  const [withoutExtension, setWithoutExtension] = useState(false);
  const paired = view.kind === 'paired' ? view.status : null;
  const usable = !!paired && !paired.tokenRejected;
  const joining = paired && paired.state !== 'idle' ? paired.sessionId : null;
  const canStart = !starting && view.kind !== 'checking' && (usable || withoutExtension);
  return (
    <div className="flex flex-col gap-4">
      <fieldset disabled={starting}>
        <legend className="mb-2 text-sm font-medium">What to record</legend>
        <div className="flex flex-wrap gap-4">
          <label className="flex items-center gap-2">
            <input type="radio" name="mode" value="screen" checked={mode === 'screen'} onChange={() => setMode('screen')} />
            Screen and narration
          </label>
          <label className="flex items-center gap-2">
            <input type="radio" name="mode" value="audio" checked={mode === 'audio'} onChange={() => setMode('audio')} />
            Narration only (audio)
          </label>
        </div>
      </fieldset>
      {!usable && view.kind !== 'checking' && (
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={withoutExtension} onChange={(e) => setWithoutExtension(e.target.checked)} />
          Record without the extension (screen and narration only: clicks and typing are not recorded)
        </label>
      )}
      {joining && <Notice>The extension is recording session <code>{joining}</code>. Start adds your screen and narration to it.</Notice>}
      <div>
        <Button onClick={() => onStart(mode)} disabled={!canStart}>
          {starting ? 'Starting…' : joining ? 'Start recording (join this session)' : 'Start recording'}
        </Button>
      </div>
    </div>
  );
}

function UploadCard({ recordingId, sessionId }: { recordingId: string; sessionId: string }) {
  const upload = useUpload(recordingId);
  return (
    <Card title="Upload">
      <UploadStatus state={upload.state} onRetry={upload.start} />
      {upload.state.phase === 'done' && (
        <div className="mt-4 flex flex-col gap-3">
          <SessionUploads sessionId={sessionId} />
          <p><Link href={`/sessions/${encodeURIComponent(sessionId)}`} className="text-indigo-700 underline">Review this session</Link></p>
        </div>
      )}
    </Card>
  );
}

// The extension records to this server with the worker's token: the page
// hands it over whenever the extension has none or had it refused (and the
// server accepts it), so the worker never types it.
function useHandTokenToExtension(view: ExtensionView, token: string, serverAcceptsToken: boolean) {
  const needsToken = view.kind === 'paired' && (!view.status.hasToken || view.status.tokenRejected);
  const [handed, setHanded] = useState<string | null>(null);
  useEffect(() => {
    if (!needsToken || !serverAcceptsToken || handed === token) return;
    setHanded(token);
    void connectExtension(token);
  }, [needsToken, serverAcceptsToken, token, handed]);
}
