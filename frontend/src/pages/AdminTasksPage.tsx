// Admins define the tasks workers pick from: an instruction, the site, tags
// and how many demonstrations are wanted; archive the ones that are done;
// and say whether workers may write their own.
import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { adminApi, asApiError, queryKeys, useTasks } from '../api/hooks';
import type { Task, TaskFields } from '../api/types';
import { AdminGate } from '../components/AdminGate';
import { Button, Card, ErrorBox, Field } from '../components/ui';

const tagsOf = (s: string) => s.split(',').map((t) => t.trim()).filter(Boolean);

function TaskForm({ task, onDone }: { task?: Task; onDone: () => void }) {
  const queryClient = useQueryClient();
  const [instruction, setInstruction] = useState(task?.instruction ?? '');
  const [site, setSite] = useState(task?.site ?? '');
  const [tags, setTags] = useState(task?.tags.join(', ') ?? '');
  const [target, setTarget] = useState(task?.targetCount ? String(task.targetCount) : '');
  const save = useMutation({
    mutationFn: (fields: TaskFields) => (task ? adminApi.updateTask(task.taskId, fields) : adminApi.createTask(fields)),
    onSuccess: () => {
      if (!task) { setInstruction(''); setSite(''); setTags(''); setTarget(''); }
      onDone();
      return queryClient.invalidateQueries({ queryKey: queryKeys.tasks('admin') });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate({ instruction, site: site.trim() || null, tags: tagsOf(tags), targetCount: target ? Number(target) : null });
  };
  return (
    <form onSubmit={submit} className="flex flex-col gap-3" aria-label={task ? `Edit task ${task.taskId}` : 'New task'}>
      <div className="flex flex-col gap-1">
        <label htmlFor={`instruction-${task?.taskId ?? 'new'}`} className="text-sm font-medium">Instruction</label>
        <textarea id={`instruction-${task?.taskId ?? 'new'}`} required rows={2} maxLength={2000} value={instruction}
          onChange={(e) => setInstruction(e.target.value)} placeholder="Buy a pair of trail running shoes in size 42"
          className="rounded-md border border-slate-300 px-3 py-2 text-sm" />
      </div>
      <div className="grid gap-3 sm:grid-cols-3">
        <Field label="Site (optional)" value={site} onChange={(e) => setSite(e.target.value)} placeholder="https://shop.example.com" />
        <Field label="Tags (comma-separated)" value={tags} onChange={(e) => setTags(e.target.value)} placeholder="shoes, checkout" />
        <Field label="Target count (optional)" type="number" min={1} value={target} onChange={(e) => setTarget(e.target.value)} />
      </div>
      <div className="flex gap-2">
        <Button type="submit" disabled={!instruction.trim() || save.isPending}>{task ? 'Save task' : 'Add task'}</Button>
        {task && <Button variant="secondary" onClick={onDone}>Cancel</Button>}
      </div>
      {save.error && <ErrorBox title="The task was not saved" error={asApiError(save.error)} />}
    </form>
  );
}

function TaskRow({ task }: { task: Task }) {
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const toggle = useMutation({
    mutationFn: () => adminApi.updateTask(task.taskId, { active: !task.active }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.tasks('admin') }),
  });
  if (editing) return <li className="rounded-md border border-indigo-300 p-3"><TaskForm task={task} onDone={() => setEditing(false)} /></li>;
  return (
    <li className={`flex flex-wrap items-start justify-between gap-3 rounded-md border border-slate-200 p-3 ${task.active ? '' : 'opacity-60'}`}
      data-testid="task-row">
      <div className="flex flex-col gap-1 text-sm">
        <span className="font-medium">{task.instruction}</span>
        <span className="flex flex-wrap gap-2 text-xs text-slate-600">
          {task.site && <span>on {task.site}</span>}
          {task.tags.map((t) => <span key={t} className="rounded bg-slate-100 px-1">{t}</span>)}
          <span>{task.submittedCount}{task.targetCount ? ` of ${task.targetCount}` : ''} submitted, {task.sessionCount} recorded</span>
          {!task.active && <span>archived</span>}
        </span>
      </div>
      <div className="flex gap-2">
        <Button variant="secondary" onClick={() => setEditing(true)}>Edit</Button>
        <Button variant="secondary" disabled={toggle.isPending} onClick={() => toggle.mutate()}>{task.active ? 'Archive' : 'Restore'}</Button>
      </div>
      {toggle.error && <ErrorBox error={asApiError(toggle.error)} />}
    </li>
  );
}

function Tasks() {
  const queryClient = useQueryClient();
  const tasks = useTasks('admin');
  const option = useMutation({
    mutationFn: (allow: boolean) => adminApi.setTaskOptions(allow),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.tasks('admin') }),
  });
  return (
    <>
      <h1 className="text-2xl font-bold">Tasks</h1>
      <Card title="New task"><TaskForm onDone={() => {}} /></Card>
      <Card title="Tasks">
        {tasks.error && <ErrorBox title="Could not load the tasks" error={asApiError(tasks.error)} onRetry={() => void tasks.refetch()} />}
        {tasks.data && (
          <div className="flex flex-col gap-4">
            <label className="flex items-center gap-2 text-sm">
              <input type="checkbox" checked={tasks.data.allowCustom} disabled={option.isPending}
                onChange={(e) => option.mutate(e.target.checked)} />
              Workers may write their own task when none fits
            </label>
            {option.error && <ErrorBox error={asApiError(option.error)} />}
            {tasks.data.tasks.length === 0 ? <p className="text-sm text-slate-600">No tasks yet.</p> : (
              <ul className="flex flex-col gap-2">{tasks.data.tasks.map((t) => <TaskRow key={t.taskId} task={t} />)}</ul>
            )}
          </div>
        )}
      </Card>
    </>
  );
}

export function AdminTasksPage() {
  return <AdminGate><Tasks /></AdminGate>;
}
