import type { UploadState } from '../upload/useUpload';
import { Button, ErrorBox, Notice, ProgressBar, formatBytes } from './ui';

export function UploadStatus({ state, onRetry }: { state: UploadState; onRetry: () => void }) {
  switch (state.phase) {
    case 'idle':
      return null;
    case 'uploading': {
      const p = state.progress;
      return (
        <div className="flex flex-col gap-2">
          <ProgressBar label="Uploading recording" value={p?.sentBytes ?? 0} max={p?.totalBytes ?? 1} />
          {p && <p className="text-xs text-slate-600">{formatBytes(p.sentBytes)} of {formatBytes(p.totalBytes)}, part {Math.min(p.partsDone + 1, p.partsTotal)} of {p.partsTotal}</p>}
          {p?.retrying && <Notice tone="warn">{p.retrying}</Notice>}
        </div>
      );
    }
    case 'done':
      return <Notice tone="ok">Upload complete.</Notice>;
    case 'failed':
      return (
        <div className="flex flex-col gap-2">
          <ErrorBox title="Upload failed" error={`${state.message} The recording is kept in this browser: you can retry now or after a reload.`} />
          <div><Button onClick={onRetry}>Retry upload</Button></div>
        </div>
      );
  }
}
