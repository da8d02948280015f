// Shapes of the worker's JSON documents (docs/http-api.md, docs/sql-api.md,
// docs/s3.md). Fields the server may omit are optional.

export interface Registration {
  workerId: number;
  displayName: string;
  token: string;
}

export interface Me {
  workerId: number | null;
  displayName: string | null;
  kind: 'worker' | 'admin';
}

export type SessionStatus = 'active' | 'completed' | 'disconnected' | 'abandoned';

export interface CreatedSession {
  sessionId: string;
  status: SessionStatus;
  startTime: string;
}

export interface SessionUploadInfo {
  kind: string;
  status: string;
}

// One row of list_sessions (sql/ext/20_admin.sql).
export interface SessionRow {
  sessionId: string;
  status: SessionStatus;
  workerId: number | null;
  workerName: string | null;
  startTime: string;
  endTime: string | null;
  durationMs: number | null;
  lastEventAt: string | null;
  eventCount: number;
  pagesVisited?: number;
  uploads: SessionUploadInfo[];
}

export interface SessionList {
  sessions: SessionRow[];
  limit: number;
  offset: number;
  total: number;
}

export interface EventData {
  coordinates?: { x: number; y: number };
  viewport?: { width: number; height: number };
  framePath?: string[];
  // A frame's events: where the frame's viewport sits in the tab's, and the tab's size.
  frameOffset?: { x: number; y: number };
  topViewport?: { width: number; height: number };
  url?: string;
  value?: string;
  key?: string;
  element?: { tag?: string; text?: string; name?: string };
  [k: string]: unknown;
}

export interface SessionEvent {
  seq: number;
  type: string;
  timestamp: string | number;
  receivedAt?: string;
  url?: string | null;
  selector?: string | null;
  data: EventData;
}

export interface EventPage {
  events: SessionEvent[];
  nextAfter: number | null;
}

export interface SinglePutPresign {
  uploadId: string;
  key: string;
  bucket?: string;
  method: 'PUT';
  url: string;
  headers?: Record<string, string>;
  multipart?: false;
}

export interface MultipartPresign {
  uploadId: string;
  key: string;
  bucket?: string;
  multipart: true;
  partSize: number;
  parts: { partNumber: number; url: string }[];
  headers?: Record<string, string>;
}

export type Presign = SinglePutPresign | MultipartPresign;

export interface PartETag {
  partNumber: number;
  etag: string;
}

export interface MediaUpload {
  uploadId: string;
  kind: string;
  contentType: string;
  sizeBytes: number;
  status: string;
  url: string | null;
  recordingStartedAt: string | null;
}

export type Health = Record<string, unknown> & { status?: string };
export type Counts = Record<string, unknown>;

// session_summary (sql/ext/20_admin.sql).
export interface SessionSummary {
  sessionId: string;
  workerId: number | null;
  workerName: string | null;
  status: SessionStatus;
  startTime: string;
  endTime: string | null;
  durationMs: number | null;
  totalEvents: number;
  countsByType: Record<string, number>;
  summary: { clicks: number; inputs: number; scrolls: number; navigations: number; pagesVisited: unknown };
  firstUrl: string | null;
  lastUrl: string | null;
}
