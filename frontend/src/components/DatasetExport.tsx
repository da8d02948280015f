// The admin's dataset export a button away: one JSON line per action of
// every session that matches the filters (GET /api/export/dataset.jsonl).
import { useState } from 'react';
import { useMutation } from '@tanstack/react-query';
import { adminApi, asApiError, useTasks } from '../api/hooks';
import type { DatasetFilters } from '../api/types';
import { Button, ErrorBox, Notice, formatBytes, saveFile } from './ui';

const STATUSES = [
  { value: 'submitted', label: 'Submitted for review' },
  { value: 'completed', label: 'Completed' },
  { value: 'any', label: 'Any status' },
  { value: 'active', label: 'Active' },
  { value: 'disconnected', label: 'Disconnected' },
  { value: 'abandoned', label: 'Abandoned' },
];

// The start of a local calendar day (YYYY-MM-DD) as an instant, days later.
export function dayStart(date: string, plusDays = 0): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return undefined;
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plusDays).toISOString();
}

const select = 'rounded-md border border-slate-300 bg-white px-3 py-2 font-normal';

export function DatasetExport() {
  const tasks = useTasks('admin');
  const [status, setStatus] = useState('submitted');
  const [task, setTask] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [minScore, setMinScore] = useState('');
  const download = useMutation({
    mutationFn: async () => {
      const filters: DatasetFilters = {
        status,
        task: task ? Number(task) : undefined,
        since: dayStart(from),
        until: dayStart(to, 1),
        minScore: minScore ? Number(minScore) : undefined,
      };
      const blob = await adminApi.dataset(filters);
      const text = await blob.text();
      const name = `codesight-dataset-${new Date().toISOString().slice(0, 10)}.jsonl`;
      saveFile(name, blob, 'application/x-ndjson');
      return { name, lines: text.split('\n').filter(Boolean).length, bytes: blob.size };
    },
  });

  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-wrap items-end gap-3 text-sm">
        <label className="flex flex-col gap-1 font-medium">Status
          <select className={select} value={status} onChange={(e) => setStatus(e.target.value)}>
            {STATUSES.map((s) => <option key={s.value} value={s.value}>{s.label}</option>)}
          </select>
        </label>
        <label className="flex flex-col gap-1 font-medium">Task
          <select className={`${select} max-w-xs`} value={task} onChange={(e) => setTask(e.target.value)}>
            <option value="">Any task</option>
            {tasks.data?.tasks.map((t) => <option key={t.taskId} value={t.taskId}>{t.instruction}</option>)}
          </select>
        </label>
        <label className="flex flex-col gap-1 font-medium">From
          <input type="date" className={select} value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label className="flex flex-col gap-1 font-medium">To
          <input type="date" className={select} value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <label className="flex flex-col gap-1 font-medium">Lowest score
          <select className={select} value={minScore} onChange={(e) => setMinScore(e.target.value)}>
            <option value="">Any, or not scored</option>
            {[1, 2, 3, 4, 5].map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
        </label>
        <Button disabled={download.isPending} onClick={() => download.mutate()}>
          {download.isPending ? 'Exporting…' : 'Download dataset (JSONL)'}
        </Button>
      </div>
      {download.data && (
        <Notice tone="ok">Saved {download.data.name}: {download.data.lines} actions, {formatBytes(download.data.bytes)}.</Notice>
      )}
      {download.error && <ErrorBox title="The export failed" error={asApiError(download.error)} />}
    </div>
  );
}
