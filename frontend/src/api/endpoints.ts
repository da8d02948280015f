// One function per route of docs/http-api.md, named after what it does.
import type { ApiClient } from './client';
import type {
  Counts, CreatedSession, EventPage, Health, Me, MediaUpload, PartETag, PartUrls, Presign,
  Registration, SessionList, SessionSummary, UploadParts,
} from './types';

export interface ListQuery {
  status?: string;
  limit?: number;
  offset?: number;
}

const enc = encodeURIComponent;

export function endpoints(api: ApiClient) {
  return {
    register: (displayName: string, email?: string) =>
      api.request<Registration>('/api/workers', { body: { displayName, ...(email ? { email } : {}) } }),
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
      api.request<string>(`/api/extension/sessions/${enc(sessionId)}/${what}`, { text: true }),
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
