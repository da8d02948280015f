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

// The task fields every session document carries (sql/ext/25_review.sql).
export interface SessionTaskFields {
  taskId?: number | null;
  task?: string | null;
  confirmedTask?: string | null;
  submittedAt?: string | null;
  score?: number | null;
}

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
export interface SessionRow extends SessionTaskFields {
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

// POST /api/upload/part-urls: URLs signed now, for a pending upload only.
export interface PartUrls {
  uploadId: string;
  status: 'pending' | 'complete';
  expiresIn?: number;
  // multipart
  parts?: { partNumber: number; url: string }[];
  // single PUT
  url?: string;
  headers?: Record<string, string>;
}

// POST /api/upload/parts: what S3 holds of a multipart upload.
export interface UploadParts {
  uploadId: string;
  status: 'pending' | 'complete' | 'aborted' | 'failed';
  multipart: boolean;
  sizeBytes: number;
  partSize?: number;
  parts: (PartETag & { sizeBytes: number })[];
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

// health() (sql/ext/50_health.sql): each check ok, warn or down.
export type CheckStatus = 'ok' | 'warn' | 'down';

export interface HealthCheck {
  name: 'postgres' | 'worker' | 's3' | 'extensions' | string;
  label: string;
  status: CheckStatus;
  message: string;
  details: Record<string, unknown>;
}

export interface Health {
  status: 'ok' | 'degraded';
  time: string;
  database: string;
  extensionVersion: string | null;
  serverVersion: string;
  checks: HealthCheck[];
}

// counts() (sql/ext/20_admin.sql).
export interface Counts {
  workers: number;
  tokens: number;
  sessions: number;
  events: number;
  uploads: number;
  activeSessions: number;
  sessionsByStatus: Record<string, number>;
  liveConnections?: number;
}

// A task admins define (sql/ext/25_review.sql).
export interface Task {
  taskId: number;
  instruction: string;
  site: string | null;
  tags: string[];
  targetCount: number | null;
  active: boolean;
  sessionCount: number;
  submittedCount: number;
  createdAt: string;
  updatedAt: string;
}

export interface TaskList {
  tasks: Task[];
  allowCustom: boolean;
}

export interface TaskFields {
  instruction: string;
  site: string | null;
  tags: string[];
  targetCount: number | null;
}

// What a worker chose a session to be: one of the tasks, or their own words.
export type TaskChoice = { taskId: number } | { task: string };

export interface SessionTask extends SessionTaskFields {
  sessionId: string;
}

// The dataset export's filters (GET /api/export/dataset.jsonl).
export interface DatasetFilters {
  status: string;
  task?: number;
  since?: string;
  until?: string;
  minScore?: number;
}

// session_summary (sql/ext/20_admin.sql).
export interface SessionSummary extends SessionTaskFields {
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
  scoreNote?: string | null;
}
