import { useEffect, useState } from 'react';
import { useAudioLevel } from '../recording/useAudioLevel';
import { Button, formatDuration } from '../components/ui';

export function RecordingPanel({ startedAt, mic, sessionId, stopping, onStop }: {
  startedAt: string | null; mic: MediaStream | null; sessionId: string | null; stopping: boolean; onStop: () => void;
}) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(t);
  }, []);
  const level = useAudioLevel(mic);
  const elapsed = startedAt ? now - Date.parse(startedAt) : 0;
  return (
    <div className="flex flex-col gap-4 rounded-md border-2 border-red-500 bg-red-50 p-4">
      <div className="flex flex-wrap items-center gap-4">
        <span role="status" className="flex items-center gap-2 font-semibold text-red-700">
          <span aria-hidden="true" className="h-3 w-3 animate-pulse rounded-full bg-red-600" />
          {stopping ? 'Stopping…' : 'Recording'}
        </span>
        <span className="font-mono text-xl tabular-nums" aria-label="Elapsed time" data-testid="timer">{formatDuration(elapsed)}</span>
        {sessionId && <span className="text-xs text-slate-600">Session <code data-testid="session-id">{sessionId}</code></span>}
      </div>
      <div>
        <div className="mb-1 text-sm">Microphone level</div>
        <meter className="h-3 w-full max-w-sm" min={0} max={1} low={0.15} high={0.9} optimum={0.5} value={level} aria-label="Microphone level" />
      </div>
      <div><Button variant="danger" onClick={onStop} disabled={stopping}>Stop recording</Button></div>
    </div>
  );
}
