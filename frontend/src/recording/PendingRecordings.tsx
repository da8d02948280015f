// Recordings still in this browser (stopped before the upload finished, or
// cut off by a reload): resume their upload. Each row follows its own
// upload, which goes on when the worker leaves the page.
import { usePendingRecordings, useUpload } from '../upload/useUpload';
import { totalBytes } from '../upload/uploader';
import type { RecordingMeta } from '../upload/types';
import { Button, Card, formatBytes } from '../components/ui';
import { UploadStatus } from './UploadStatus';

function PendingRow({ meta }: { meta: RecordingMeta }) {
  const { state, start } = useUpload(meta.recordingId);
  return (
    <li className="flex flex-col gap-2 text-sm" data-testid="pending-recording" data-recording-id={meta.recordingId}>
      <div className="flex flex-wrap items-center gap-3">
        <span>Session <code>{meta.sessionId}</code> ({meta.kind}, {formatBytes(totalBytes(meta))}
          {meta.upload ? `, ${meta.upload.done.length} part(s) already sent` : ''}{meta.finished ? '' : ', interrupted'})</span>
        {(state.phase === 'idle' || state.phase === 'busy') && (
          <Button variant="secondary" onClick={start}>{meta.upload ? 'Resume upload' : 'Upload'}</Button>
        )}
      </div>
      <UploadStatus state={state} onRetry={start} />
    </li>
  );
}

export function PendingRecordings({ exclude }: { exclude?: string }) {
  const { pending } = usePendingRecordings(exclude);
  if (pending.length === 0) return null;
  return (
    <Card title="Recordings waiting for upload">
      <ul className="flex flex-col gap-4">
        {pending.map((m) => <PendingRow key={m.recordingId} meta={m} />)}
      </ul>
    </Card>
  );
}
