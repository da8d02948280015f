import { useQuery } from '@tanstack/react-query';
import { asApiError, queryKeys, workerApi } from '../api/hooks';
import { ErrorBox, StatusBadge, formatBytes } from './ui';

export function SessionUploads({ sessionId }: { sessionId: string }) {
  const media = useQuery({ queryKey: [...queryKeys.session('worker', sessionId), 'media'], queryFn: () => workerApi.media(sessionId) });
  if (media.error) return <ErrorBox title="Could not list uploads" error={asApiError(media.error)} onRetry={() => void media.refetch()} />;
  if (!media.data) return <p className="text-sm">Loading uploads…</p>;
  if (media.data.uploads.length === 0) return <p className="text-sm">No uploads yet.</p>;
  return (
    <div>
      <h3 className="mb-2 font-semibold">Uploads of this session</h3>
      <ul className="flex flex-col gap-1 text-sm" data-testid="session-uploads">
        {media.data.uploads.map((u) => (
          <li key={u.uploadId} className="flex flex-wrap items-center gap-2">
            <StatusBadge status={u.status} /> <span>{u.kind}</span> <span>{u.contentType}</span> <span>{formatBytes(u.sizeBytes)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
