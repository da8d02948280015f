// Recordings still in this browser (stopped before upload finished, or cut
// off by a reload): resume their upload.
import { useState } from 'react';
import { usePendingRecordings, useUpload } from '../upload/useUpload';
import { totalBytes } from '../upload/uploader';
import { Button, Card, formatBytes } from './ui';
import { UploadStatus } from './UploadStatus';

export function PendingRecordings({ exclude }: { exclude?: string }) {
  const { pending, refresh } = usePendingRecordings(exclude);
  const upload = useUpload();
  const [current, setCurrent] = useState<string | null>(null);
  if (pending.length === 0 && upload.state.phase === 'idle') return null;
  const resume = async (recordingId: string) => {
    setCurrent(recordingId);
    await upload.start(recordingId);
    refresh();
  };
  return (
    <Card title="Recordings waiting for upload">
      <ul className="flex flex-col gap-3">
        {pending.map((m) => (
          <li key={m.recordingId} className="flex flex-wrap items-center gap-3 text-sm">
            <span>Session <code>{m.sessionId}</code> ({m.kind}, {formatBytes(totalBytes(m))}
              {m.upload ? `, ${m.upload.done.length} part(s) already sent` : ''}{m.finished ? '' : ', interrupted'})</span>
            <Button variant="secondary" disabled={upload.state.phase === 'uploading'} onClick={() => void resume(m.recordingId)}>
              {m.upload ? 'Resume upload' : 'Upload'}
            </Button>
          </li>
        ))}
      </ul>
      {current && <div className="mt-4"><UploadStatus state={upload.state} onRetry={() => void resume(current)} /></div>}
    </Card>
  );
}
