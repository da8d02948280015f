// The end of a review: the session's task set (sessions the extension
// started alone have none yet), what was really done confirmed or
// corrected, and Submit, which marks the session ready for review.
import { useState } from 'react';
import { useMutation } from '@tanstack/react-query';
import type { SessionSummary, TaskChoice } from '../api/types';
import { asApiError, workerApi } from '../api/hooks';
import { TaskOptions } from './TaskPicker';
import { Button, ErrorBox, Notice } from './ui';

function TaskForm({ s, onSaved }: { s: SessionSummary; onSaved: () => void }) {
  const [editing, setEditing] = useState(!s.task);
  const [choice, setChoice] = useState<TaskChoice | null>(null);
  const save = useMutation({
    mutationFn: () => workerApi.setSessionTask(s.sessionId, choice),
    onSuccess: () => { setEditing(false); setChoice(null); onSaved(); },
  });
  if (!editing) {
    return (
      <div className="flex flex-wrap items-center gap-3 text-sm">
        <span>What you set out to do: <strong data-testid="session-task">{s.task}</strong></span>
        <Button variant="secondary" onClick={() => setEditing(true)}>Change the task</Button>
      </div>
    );
  }
  return (
    <div className="flex flex-col gap-2">
      <p className="text-sm">{s.task ? 'Pick another task:' : 'This session has no task yet. What was it for?'}</p>
      <TaskOptions value={choice} onChange={setChoice} disabled={save.isPending} />
      <div className="flex gap-2">
        <Button onClick={() => save.mutate()} disabled={!choice || save.isPending}>Save the task</Button>
        {s.task && <Button variant="secondary" onClick={() => setEditing(false)}>Cancel</Button>}
      </div>
      {save.error && <ErrorBox title="The task was not saved" error={asApiError(save.error)} />}
    </div>
  );
}

export function SubmitCard({ s, onChanged }: { s: SessionSummary; onChanged: () => void }) {
  const [done, setDone] = useState(s.confirmedTask ?? s.task ?? '');
  const submit = useMutation({ mutationFn: () => workerApi.submitSession(s.sessionId, done.trim()), onSuccess: onChanged });
  const stop = useMutation({ mutationFn: () => workerApi.stopSession(s.sessionId), onSuccess: onChanged });

  if (s.submittedAt) {
    return (
      <Notice tone="ok">
        Submitted for review on {new Date(s.submittedAt).toLocaleString()}. What you did: <strong>{s.confirmedTask}</strong>.
        The session no longer changes.
      </Notice>
    );
  }
  if (s.status === 'active') {
    return (
      <div className="flex flex-col gap-4">
        <TaskForm key={s.task ?? ''} s={s} onSaved={onChanged} />
        <div className="flex flex-col gap-2 text-sm">
          <Notice tone="warn">This session is still recording. Stop it before you submit: on the record page, in the extension, or here if it was left running.</Notice>
          <div><Button variant="secondary" disabled={stop.isPending} onClick={() => stop.mutate()}>End the recording</Button></div>
          {stop.error && <ErrorBox title="The recording was not ended" error={asApiError(stop.error)} />}
        </div>
      </div>
    );
  }
  return (
    <div className="flex flex-col gap-4">
      <TaskForm key={s.task ?? ''} s={s} onSaved={onChanged} />
      <div className="flex max-w-2xl flex-col gap-1">
        <label htmlFor="confirmed-task" className="text-sm font-medium">What did you actually do?</label>
        <textarea id="confirmed-task" rows={2} maxLength={2000} value={done} onChange={(e) => setDone(e.target.value)}
          className="rounded-md border border-slate-300 px-3 py-2 text-sm" />
        <p className="text-xs text-slate-600">Confirm the task, or correct it if you did something else. Steps you deleted are gone for good once you submit.</p>
      </div>
      <div><Button onClick={() => submit.mutate()} disabled={!done.trim() || submit.isPending}>Submit for review</Button></div>
      {submit.error && <ErrorBox title="Not submitted" error={asApiError(submit.error)} />}
    </div>
  );
}
