// One demonstration, one session: the page's screen and narration recording
// and the extension's event recording share the session, whichever side
// started it, and stopping either stops both. Every way a recording ends is
// told to the worker: Stop here, Stop in the extension, the server ending
// the session, the screen share or microphone ending, browser storage
// failing, or leaving the page.
import { useCallback, useEffect, useRef, useState } from 'react';
import { asApiError, workerApi } from '../api/hooks';
import { getSetting } from '../lib/settings';
import { uploads, chunkStore } from '../upload/useUpload';
import { openCapture, describeMediaError, pickMimeType, type Capture, type CaptureMode } from './capture';
import { ChunkRecorder } from './chunkRecorder';
import { sendToExtension } from './extension';
import type { ExtensionView } from './useExtension';

// Upload kinds the server and the exports know (docs/s3.md).
const UPLOAD_KIND: Record<CaptureMode, string> = { screen: 'video', audio: 'audio' };
// A service worker Chrome stopped takes a moment to wake and flush.
const EXTENSION_STOP_TIMEOUT_MS = 15000;

export type Phase = 'idle' | 'starting' | 'recording' | 'stopping' | 'stopped';

export type StopReason =
  | { by: 'page' }
  | { by: 'extension'; stoppedBy?: 'popup' | 'page' | 'server' }
  | { by: 'track'; kind: string }
  | { by: 'storage'; error: unknown }
  | { by: 'leave' };

export interface Outcome {
  tone: 'ok' | 'warn' | 'error';
  message: string;
  detail?: string;
}

interface Active {
  sessionId: string;
  capture: Capture;
  recorder: ChunkRecorder;
  withExtension: boolean;
  // The extension was seen recording this session since it started here.
  seenTracking: boolean;
}

// Told on the next visit: the page was left while it recorded.
let leftWhileRecording: string | null = null;

function outcomeOf(reason: StopReason, sessionId: string): Outcome | null {
  switch (reason.by) {
    case 'page':
      return null;
    case 'extension':
      return reason.stoppedBy === 'server'
        ? { tone: 'warn', message: `The server ended session ${sessionId}, so the recording stopped. What was recorded is kept and uploads below.` }
        : { tone: 'ok', message: `Session ${sessionId} was stopped from the extension; the screen recording stopped with it and uploads below.` };
    case 'track':
      return reason.kind === 'video'
        ? { tone: 'warn', message: 'Screen sharing ended, so the recording stopped. What was recorded is kept and uploads below.' }
        : { tone: 'warn', message: 'The microphone stopped (unplugged, or its permission was withdrawn), so the recording stopped. What was recorded is kept and uploads below.' };
    case 'storage':
      return {
        tone: 'error',
        message: 'This browser could not store the recording (its storage may be full), so the recording stopped at once. What was saved before is kept and can be uploaded below.',
        detail: (reason.error as Error)?.message ?? String(reason.error),
      };
    case 'leave':
      return null;
  }
}

export function useRecording() {
  const [phase, setPhase] = useState<Phase>('idle');
  const [sessionId, setSessionId] = useState<string | null>(null);
  const [recordingId, setRecordingId] = useState<string | null>(null);
  const [startedAt, setStartedAt] = useState<string | null>(null);
  const [mic, setMic] = useState<MediaStream | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(() => {
    const left = leftWhileRecording;
    leftWhileRecording = null;
    return left ? { tone: 'warn', message: `Your recording of session ${left} stopped when you left this page. It is kept in this browser and uploads below.` } : null;
  });
  const [error, setError] = useState<{ title: string; error: Error | string } | null>(null);
  const active = useRef<Active | null>(null);

  const stop = useCallback(async (reason: StopReason) => {
    const a = active.current;
    if (!a) return;
    active.current = null;
    setPhase('stopping');
    const [recorded] = await Promise.allSettled([a.recorder.stop(), endSession(a, reason)]);
    a.capture.stop();
    setMic(null);
    const told = outcomeOf(reason, a.sessionId);
    if (reason.by === 'leave') leftWhileRecording = a.sessionId;
    setOutcome(told);
    // What was stored is uploaded even when storing failed part of the way.
    const stored = await chunkStore().get(a.recorder.meta.recordingId).catch(() => undefined);
    if (stored && stored.chunkSizes.length > 0) {
      if (recorded.status === 'rejected') await chunkStore().put({ ...stored, finished: true }).catch(() => undefined);
      uploads.start(a.recorder.meta.recordingId);
    } else if (recorded.status === 'rejected') {
      setError({ title: 'Recording could not be saved', error: recorded.reason as Error });
    }
    setPhase('stopped');
  }, []);

  // Starts a recording of mode; joins the session the extension records, if
  // it records one, else creates one and has the extension join it.
  const start = useCallback(async (mode: CaptureMode, extension: ExtensionView) => {
    setError(null);
    setOutcome(null);
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
    const paired = extension.kind === 'paired' ? extension.status : null;
    let created: string | null = null;
    try {
      let id: string;
      let joined = false;
      if (paired && paired.state !== 'idle' && paired.sessionId) {
        id = paired.sessionId;
        joined = true;
      } else {
        id = created = (await workerApi.createSession()).sessionId;
        if (paired) {
          const reply = await sendToExtension(getSetting('extensionId'), { type: 'start_tracking', sessionId: id, token: getSetting('workerToken') ?? '' });
          if (!reply.ok && reply.code === 'already_recording' && reply.sessionId) {
            // Started from the popup meanwhile: that session is the one.
            await workerApi.deleteSession(id).catch(() => undefined);
            created = null;
            id = reply.sessionId;
            joined = true;
          } else if (!reply.ok) {
            throw new Error(`The extension did not start recording: ${reply.reason}. Nothing was recorded; try again.`);
          }
        }
      }
      const recorder = await ChunkRecorder.start(capture.stream, chunkStore(), {
        sessionId: id, kind: UPLOAD_KIND[mode], mimeType: pickMimeType(mode),
      });
      active.current = { sessionId: id, capture, recorder, withExtension: !!paired, seenTracking: joined };
      recorder.onWriteError = (e) => void stop({ by: 'storage', error: e });
      // Screen sharing ended from the browser's bar, or the microphone went away.
      for (const t of capture.stream.getTracks()) t.addEventListener('ended', () => void stop({ by: 'track', kind: t.kind }));
      setSessionId(id);
      setRecordingId(recorder.meta.recordingId);
      setStartedAt(recorder.meta.recordingStartedAt);
      setMic(capture.mic);
      setPhase('recording');
    } catch (e) {
      capture.stop();
      active.current = null;
      if (created) await workerApi.deleteSession(created).catch(() => undefined);
      setError({ title: 'Could not start the session', error: e instanceof Error && !('status' in e) ? e : asApiError(e) });
      setPhase('idle');
    }
  }, [stop]);

  // Follows the extension: a stop there (or by the server) stops here.
  const follow = useCallback((extension: ExtensionView) => {
    const a = active.current;
    if (!a || !a.withExtension || extension.kind !== 'paired') return;
    const s = extension.status;
    if (s.state !== 'idle' && s.sessionId === a.sessionId) {
      a.seenTracking = true;
      return;
    }
    if (a.seenTracking) {
      const stoppedBy = s.lastStop && s.lastStop.sessionId === a.sessionId ? s.lastStop.by : undefined;
      void stop({ by: 'extension', stoppedBy });
    }
  }, [stop]);

  // Leaving the page (an in-app link) stops and releases everything at once.
  useEffect(() => () => { void stop({ by: 'leave' }); }, [stop]);

  return { phase, sessionId, recordingId, startedAt, mic, outcome, error, start, stop, follow };
}

// Ends the session for the server: through the extension when it records
// it (it stops once its last events are stored), else directly.
async function endSession(a: Active, reason: StopReason): Promise<void> {
  if (reason.by === 'extension') return;
  if (a.withExtension) {
    const reply = await sendToExtension(getSetting('extensionId'), { type: 'stop_tracking', sessionId: a.sessionId }, EXTENSION_STOP_TIMEOUT_MS);
    // Stopped already (popup) or recording something else: nothing to end here.
    if (reply.ok || reply.code === 'not_recording' || reply.code === 'other_session') return;
  }
  await workerApi.stopSession(a.sessionId).catch(() => undefined);
}
