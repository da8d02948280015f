// What a session is for: one of the tasks admins defined, or the worker's
// own words when the admin allows it (docs/http-api.md, tasks). The record
// page mounts TaskPicker and hands the chosen task to the session it
// creates; the review page uses TaskOptions to set or change it later.
import { useCallback, useId, useState } from 'react';
import type { ApiError } from '../api/client';
import { asApiError, useTasks, workerApi } from '../api/hooks';
import type { Task, TaskChoice } from '../api/types';
import { ErrorBox } from './ui';

function progress(t: Task): string | null {
  return t.targetCount ? `${t.submittedCount} of ${t.targetCount} done` : null;
}

// The tasks as radio buttons, and a box for the worker's own when allowed.
export function TaskOptions({ value, onChange, disabled }: {
  value: TaskChoice | null;
  onChange: (choice: TaskChoice | null) => void;
  disabled?: boolean;
}) {
  const tasks = useTasks('worker');
  const name = useId();
  const [own, setOwn] = useState(value && 'task' in value ? value.task : '');
  // "Something else" stays picked while its box is still empty.
  const [ownPicked, setOwnPicked] = useState(value !== null && 'task' in value);

  if (tasks.error) return <ErrorBox title="Could not load the tasks" error={asApiError(tasks.error)} onRetry={() => void tasks.refetch()} />;
  if (!tasks.data) return <p className="text-sm">Loading tasks…</p>;
  const { tasks: list, allowCustom } = tasks.data;
  const pickOwn = (text: string) => {
    setOwn(text);
    setOwnPicked(true);
    onChange(text.trim() ? { task: text.trim() } : null);
  };
  const pickTask = (taskId: number) => {
    setOwnPicked(false);
    onChange({ taskId });
  };
  return (
    <div className="flex flex-col gap-2" role="radiogroup" aria-label="Task">
      {list.length === 0 && !allowCustom && (
        <p className="text-sm text-slate-700">No task is open right now. Ask an administrator; you can still record and say what you did when you submit.</p>
      )}
      {list.map((t) => (
        <label key={t.taskId} className="flex items-start gap-2 rounded-md border border-slate-200 p-2 text-sm has-[:checked]:border-indigo-500 has-[:checked]:bg-indigo-50">
          <input type="radio" name={name} className="mt-1" disabled={disabled}
            checked={!ownPicked && value !== null && 'taskId' in value && value.taskId === t.taskId}
            onChange={() => pickTask(t.taskId)} />
          <span className="flex flex-col gap-1">
            <span className="font-medium">{t.instruction}</span>
            <span className="flex flex-wrap gap-2 text-xs text-slate-600">
              {t.site && <span>on {t.site}</span>}
              {t.tags.map((tag) => <span key={tag} className="rounded bg-slate-100 px-1">{tag}</span>)}
              {progress(t) && <span>{progress(t)}</span>}
            </span>
          </span>
        </label>
      ))}
      {allowCustom && (
        <div className="flex flex-col gap-1 rounded-md border border-slate-200 p-2 text-sm has-[:checked]:border-indigo-500">
          <label className="flex items-center gap-2">
            <input type="radio" name={name} disabled={disabled} checked={ownPicked} onChange={() => pickOwn(own)} />
            <span className="font-medium">{list.length ? 'Something else' : 'In your own words'}</span>
          </label>
          <textarea aria-label="Your own task" rows={2} maxLength={2000} disabled={disabled}
            placeholder="For example: Buy a pair of running shoes in size 42"
            className="rounded-md border border-slate-300 px-2 py-1" value={own}
            onChange={(e) => pickOwn(e.target.value)} />
        </div>
      )}
    </div>
  );
}

// The record page's choice of task, handed on to the session it creates.
export function useTaskChoice() {
  const [choice, setChoice] = useState<TaskChoice | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  // Never throws: the recording goes on without a task, and the worker can
  // set it on the review page.
  const assignTo = useCallback(async (sessionId: string) => {
    setError(null);
    if (!choice) return;
    try {
      await workerApi.setSessionTask(sessionId, choice);
    } catch (e) {
      setError(asApiError(e));
    }
  }, [choice]);
  return { choice, setChoice, error, assignTo };
}

export function TaskPicker({ state, disabled }: { state: ReturnType<typeof useTaskChoice>; disabled?: boolean }) {
  return (
    <fieldset className="mb-4" data-testid="task-picker">
      <legend className="mb-2 text-sm font-medium">What will you do?</legend>
      <TaskOptions value={state.choice} onChange={state.setChoice} disabled={disabled} />
      {!state.choice && <p className="mt-2 text-xs text-slate-600">Pick a task before you start; you confirm what you really did when you submit.</p>}
      {state.error && (
        <div className="mt-2"><ErrorBox title="The task was not saved with the session; set it when you review" error={state.error} /></div>
      )}
    </fieldset>
  );
}
