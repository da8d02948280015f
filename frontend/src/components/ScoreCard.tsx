// An admin's score of a session, 1 (unusable) to 5 (exemplary), with a
// note; the dataset export filters on it.
import { useState } from 'react';
import { useMutation } from '@tanstack/react-query';
import { adminApi, asApiError } from '../api/hooks';
import type { SessionSummary } from '../api/types';
import { Button, ErrorBox } from './ui';

export function ScoreCard({ s, onSaved }: { s: SessionSummary; onSaved: () => void }) {
  const [note, setNote] = useState(s.scoreNote ?? '');
  const save = useMutation({
    mutationFn: (score: number | null) => adminApi.scoreSession(s.sessionId, score, note.trim() || undefined),
    onSuccess: onSaved,
  });
  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-wrap items-center gap-2" role="group" aria-label="Score">
        {[1, 2, 3, 4, 5].map((n) => (
          <Button key={n} variant={s.score === n ? 'primary' : 'secondary'} aria-pressed={s.score === n}
            disabled={save.isPending} onClick={() => save.mutate(n)}>{n}</Button>
        ))}
        {s.score != null && <Button variant="secondary" disabled={save.isPending} onClick={() => save.mutate(null)}>Clear</Button>}
        <span className="text-sm text-slate-600" data-testid="score">{s.score != null ? `Scored ${s.score} of 5` : 'Not scored'}</span>
      </div>
      <label className="flex max-w-xl flex-col gap-1 text-sm font-medium">
        Note (saved with the score)
        <input className="rounded-md border border-slate-300 px-3 py-2 font-normal" maxLength={2000} value={note}
          onChange={(e) => setNote(e.target.value)} />
      </label>
      {save.error && <ErrorBox title="The score was not saved" error={asApiError(save.error)} />}
    </div>
  );
}
