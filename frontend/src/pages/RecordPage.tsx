// One screen to record a session: creates it, captures screen and narration,
// tells the extension to track with the same session id, then uploads.
import { useCallback, useEffect, useRef, useState } from 'react';
import { asApiError, workerApi } from '../api/hooks';
import { Button, Card, ErrorBox, Notice } from '../components/ui';
import { UploadStatus } from '../components/UploadStatus';
import { SessionUploads } from '../components/SessionUploads';
import { PendingRecordings } from '../components/PendingRecordings';
import { RecordingPanel } from '../components/RecordingPanel';
import { TaskPicker, useTaskChoice } from '../components/TaskPicker';
import { openCapture, describeMediaError, pickMimeType, type Capture, type CaptureMode } from '../recording/capture';
import { ChunkRecorder } from '../recording/chunkRecorder';
import { extensionServerUrl, sendToExtension } from '../recording/extension';
import { Link } from '../lib/router';
import { getSetting, useSetting } from '../lib/settings';
import { chunkStore, useUpload } from '../upload/useUpload';

// Upload kinds the server and the exports know (docs/s3.md).
const UPLOAD_KIND: Record<CaptureMode, string> = { screen: 'video', audio: 'audio' };

type Phase = 'idle' | 'starting' | 'recording' | 'stopping' | 'stopped';

interface Active {
  sessionId: string;
  capture: Capture;
  recorder: ChunkRecorder;
}

export function RecordPage() {
  const token = useSetting('workerToken');
  const [mode, setMode] = useState<CaptureMode>('screen');
  const [phase, setPhase] = useState<Phase>('idle');
  const [error, setError] = useState<{ title: string; error: Error | string } | null>(null);
  const [extensionNote, setExtensionNote] = useState<{ ok: boolean; text: string } | null>(null);
  const [sessionId, setSessionId] = useState<string | null>(null);
  const [recordingId, setRecordingId] = useState<string | null>(null);
  const [startedAt, setStartedAt] = useState<string | null>(null);
  const [mic, setMic] = useState<MediaStream | null>(null);
  const active = useRef<Active | null>(null);
  const task = useTaskChoice();
  const upload = useUpload();
  const startUpload = upload.start;

  const stop = useCallback(async () => {
    const a = active.current;
    if (!a) return;
    active.current = null;
    setPhase('stopping');
    const [recorded] = await Promise.allSettled([
      a.recorder.stop(),
      // A tracking extension ends the session itself once its last events
      // are acknowledged; stopping it here first would refuse those events.
      // Without the extension nothing else would end the session.
      // A service worker Chrome stopped takes a moment to wake and flush,
      // hence the longer wait before concluding there is no extension.
      sendToExtension(getSetting('extensionId'), { type: 'stop_tracking', sessionId: a.sessionId }, 15000)
        .then((reply) => (reply.ok ? undefined : workerApi.stopSession(a.sessionId))),
    ]);
    a.capture.stop();
    setMic(null);
    setPhase('stopped');
    if (recorded.status === 'rejected') {
      setError({ title: 'Recording could not be saved', error: recorded.reason as Error });
      return;
    }
    await startUpload(recorded.value.recordingId);
  }, [startUpload]);

  const start = async () => {
    setError(null);
    setExtensionNote(null);
    setPhase('starting');
    let capture: Capture;
    try {
      // Media first: the browser wants the picker right after the click.
      capture = await openCapture(mode);
    } catch (e) {
      setError({ title: 'Could not start capture', error: describeMediaError(e) });
      setPhase('idle');
      return;
    }
    try {
      const session = await workerApi.createSession();
      void task.assignTo(session.sessionId);
      const recorder = await ChunkRecorder.start(capture.stream, chunkStore(), {
        sessionId: session.sessionId, kind: UPLOAD_KIND[mode], mimeType: pickMimeType(mode),
      });
      active.current = { sessionId: session.sessionId, capture, recorder };
      setSessionId(session.sessionId);
      setRecordingId(recorder.meta.recordingId);
      setStartedAt(recorder.meta.recordingStartedAt);
      setMic(capture.mic);
      setPhase('recording');
      // The worker ending screen sharing from the browser's own bar stops everything.
      capture.stream.getVideoTracks().forEach((t) => t.addEventListener('ended', () => void stop()));
      const reply = await sendToExtension(getSetting('extensionId'), {
        type: 'start_tracking', sessionId: session.sessionId, serverUrl: extensionServerUrl(), token: getSetting('workerToken') ?? '',
      });
      setExtensionNote(reply.ok
        ? { ok: true, text: 'The extension is tracking your clicks and typing.' }
        : { ok: false, text: `${reply.reason} Recording continues with screen and narration only; your clicks are not tracked.` });
    } catch (e) {
      capture.stop();
      active.current = null;
      setError({ title: 'Could not start the session', error: asApiError(e) });
      setPhase('idle');
    }
  };

  // Leaving the page mid-recording would cut it short: ask first.
  useEffect(() => {
    if (phase !== 'recording') return;
    const warn = (e: BeforeUnloadEvent) => { e.preventDefault(); };
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [phase]);

  if (!token) {
    return (
      <Card title="Record a session">
        <p>You need a worker token to record. <Link href="/register" className="text-indigo-700 underline">Register</Link> or paste your token in <Link href="/settings" className="text-indigo-700 underline">Settings</Link>.</p>
      </Card>
    );
  }

  const busy = phase === 'starting' || phase === 'recording' || phase === 'stopping';
  return (
    <>
      <h1 className="text-2xl font-bold">Record a session</h1>
      <Card title="Recording">
        <TaskPicker state={task} disabled={busy} />
        <fieldset disabled={busy} className="mb-4">
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
        {phase === 'recording' || phase === 'stopping' ? (
          <RecordingPanel startedAt={startedAt} mic={mic} sessionId={sessionId} stopping={phase === 'stopping'} onStop={() => void stop()} />
        ) : (
          <Button onClick={() => void start()} disabled={phase === 'starting' || upload.state.phase === 'uploading'}>
            {phase === 'starting' ? 'Starting…' : 'Start recording'}
          </Button>
        )}
        <div className="mt-4 flex flex-col gap-3">
          {extensionNote && <Notice tone={extensionNote.ok ? 'ok' : 'warn'}>{extensionNote.text}</Notice>}
          {error && <ErrorBox title={error.title} error={error.error} />}
        </div>
      </Card>
      {phase === 'stopped' && recordingId && sessionId && (
        <Card title="Upload">
          <UploadStatus state={upload.state} onRetry={() => void upload.start(recordingId)} />
          {upload.state.phase === 'done' && (
            <div className="mt-4 flex flex-col gap-3">
              <SessionUploads sessionId={sessionId} />
              <p><Link href={`/sessions/${encodeURIComponent(sessionId)}`} className="text-indigo-700 underline">Review this session before submitting</Link></p>
            </div>
          )}
        </Card>
      )}
      <PendingRecordings exclude={recordingId ?? undefined} />
    </>
  );
}
