import type { UploadState } from '../upload/useUpload';
import { Button, Notice, ProgressBar, formatBytes } from '../components/ui';
import { Problem } from './Problem';

export function UploadStatus({ state, onRetry }: { state: UploadState; onRetry: () => void }) {
  switch (state.phase) {
    case 'idle':
      return null;
    case 'uploading': {
      const p = state.progress;
      return (
        <div className="flex flex-col gap-2" data-testid="upload-status" data-phase="uploading">
          <ProgressBar label="Uploading recording" value={p?.sentBytes ?? 0} max={p?.totalBytes ?? 1} />
          {p && <p className="text-xs text-slate-600">{formatBytes(p.sentBytes)} of {formatBytes(p.totalBytes)}, {p.partsDone} of {p.partsTotal} part(s) sent</p>}
          {p?.retrying && <Notice tone="warn">{p.retrying}</Notice>}
        </div>
      );
    }
    case 'done':
      return <div data-testid="upload-status" data-phase="done"><Notice tone="ok">Upload complete.</Notice></div>;
    case 'busy':
      return <div data-testid="upload-status" data-phase="busy"><Notice>{state.message}</Notice></div>;
    case 'waiting':
      return (
        <div className="flex flex-col gap-2" data-testid="upload-status" data-phase="waiting">
          <Problem tone="warn" detail={state.detail}>{state.message}</Problem>
          <div><Button variant="secondary" onClick={onRetry}>Try now</Button></div>
        </div>
      );
    case 'failed':
      return (
        <div className="flex flex-col gap-2" data-testid="upload-status" data-phase="failed">
          <Problem title="Upload failed" detail={state.detail}>{state.message}</Problem>
          <div><Button onClick={onRetry}>Retry upload</Button></div>
        </div>
      );
  }
}
