// One function per route of docs/http-api.md, named after what it does.
import type { ApiClient } from './client';
import type {
  Counts, CreatedSession, DatasetFilters, EventPage, Health, Me, MediaUpload, PartETag, PartUrls, Presign,
  Registration, SessionList, SessionSummary, SessionTask, Task, TaskChoice, TaskFields, TaskList, UploadParts,
} from './types';

export interface ListQuery {
  status?: string;
  limit?: number;
  offset?: number;
}

const enc = encodeURIComponent;

export function endpoints(api: ApiClient) {
  return {
    register: (displayName: string) => api.request<Registration>('/api/workers', { body: { displayName } }),
    me: () => api.request<Me>('/api/me'),
    createSession: () => api.request<CreatedSession>('/api/sessions', { body: {} }),
    mySessions: (q: ListQuery) => api.request<SessionList>('/api/sessions', { query: { ...q } }),
    allSessions: (q: ListQuery) => api.request<SessionList>('/api/extension/sessions', { query: { ...q } }),
    events: (sessionId: string, after = 0, limit = 500) =>
      api.request<EventPage>(`/api/extension/sessions/${enc(sessionId)}/events`, { query: { after, limit } }),
    summary: (sessionId: string) =>
      api.request<SessionSummary>(`/api/extension/sessions/${enc(sessionId)}/summary`),
    deleteEvents: (sessionId: string, seqs: number[]) =>
      api.request<{ deleted: number }>(`/api/sessions/${enc(sessionId)}/events/delete`, { body: { seqs } }),
    restoreEvents: (sessionId: string, seqs: number[]) =>
      api.request<{ restored: number }>(`/api/sessions/${enc(sessionId)}/events/restore`, { body: { seqs } }),
    setSessionTask: (sessionId: string, choice: TaskChoice | null) =>
      api.request<SessionTask>(`/api/sessions/${enc(sessionId)}/task`, { body: choice ?? {} }),
    submitSession: (sessionId: string, confirmedTask: string) =>
      api.request<SessionSummary>(`/api/sessions/${enc(sessionId)}/submit`, { body: { confirmedTask } }),
    tasks: () => api.request<TaskList>('/api/tasks'),
    allTasks: () => api.request<TaskList>('/api/admin/tasks'),
    createTask: (fields: TaskFields) => api.request<Task>('/api/admin/tasks', { body: fields }),
    updateTask: (taskId: number, changes: Partial<TaskFields> & { active?: boolean }) =>
      api.request<Task>(`/api/admin/tasks/${taskId}`, { body: changes }),
    setTaskOptions: (allowCustom: boolean) =>
      api.request<{ allowCustom: boolean }>('/api/admin/task-options', { body: { allowCustom } }),
    scoreSession: (sessionId: string, score: number | null, note?: string) =>
      api.request<{ score: number | null }>(`/api/admin/sessions/${enc(sessionId)}/score`, { body: { score, note } }),
    dataset: (f: DatasetFilters) =>
      api.request<Blob>('/api/export/dataset.jsonl', { query: { ...f }, as: 'blob' }),
    stopSession: (sessionId: string) =>
      api.request<SessionSummary>(`/api/sessions/${enc(sessionId)}/stop`, { body: {} }),
    deleteSession: (sessionId: string) =>
      api.request<{ deleted: boolean }>(`/api/sessions/${enc(sessionId)}`, { method: 'DELETE' }),
    presignUpload: (req: {
      sessionId: string; kind: string; contentType: string; sizeBytes: number; recordingStartedAt: string;
    }) => api.request<Presign>('/api/upload/url', { body: req }),
    completeUpload: (uploadId: string, parts: PartETag[]) =>
      api.request<Record<string, unknown>>('/api/upload/complete', { body: { uploadId, parts } }),
    uploadPartUrls: (uploadId: string, partNumbers?: number[]) =>
      api.request<PartUrls>('/api/upload/part-urls', { body: { uploadId, ...(partNumbers ? { partNumbers } : {}) } }),
    uploadParts: (uploadId: string) =>
      api.request<UploadParts>('/api/upload/parts', { body: { uploadId } }),
    abortUpload: (uploadId: string) =>
      api.request<{ uploadId: string; status: string }>('/api/upload/abort', { body: { uploadId } }),
    media: (sessionId: string) =>
      api.request<{ uploads: MediaUpload[] }>(`/api/sessions/${enc(sessionId)}/media`),
    health: () => api.request<Health>('/api/health'),
    counts: () => api.request<Counts>('/api/debug/counts'),
    // Downloads go through fetch because they need the Authorization header.
    download: (sessionId: string, what: 'data' | 'training-data' | 'playwright') =>
      api.request<string>(`/api/extension/sessions/${enc(sessionId)}/${what}`, { as: 'text' }),
  };
}

export type Endpoints = ReturnType<typeof endpoints>;

// Reads every page of a session's events.
export async function allEvents(ep: Endpoints, sessionId: string): Promise<EventPage['events']> {
  const out: EventPage['events'] = [];
  let after = 0;
  for (;;) {
    const page = await ep.events(sessionId, after);
    out.push(...page.events);
    if (page.nextAfter == null || page.events.length === 0 || page.nextAfter <= after) return out;
    after = page.nextAfter;
  }
}
