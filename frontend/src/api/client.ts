// The one place that talks to the worker's HTTP API (docs/http-api.md).
// Every failure becomes an ApiError whose message tells the user what to do.

export type ErrorCode =
  | 'bad_request' | 'invalid_json' | 'unauthorized' | 'forbidden' | 'not_found'
  | 'method_not_allowed' | 'conflict' | 'payload_too_large' | 'rate_limited'
  | 'internal_error' | 's3_error' | 'unavailable' | 'network_error' | 'bad_response';

export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode | string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }

  // A sentence for the screen: what went wrong and what to do next.
  get advice(): string {
    switch (this.code) {
      case 'network_error':
        return 'The CodeSight server cannot be reached. Check that it is running, then try again.';
      case 'unauthorized':
        return 'The server rejected your token. Paste a valid token in Settings (or register again).';
      case 'forbidden':
        return 'Your token is not allowed to do this. Admin pages need an admin token in Settings.';
      case 'not_found':
        return 'Not found: it may have been deleted.';
      case 'rate_limited':
        return 'Too many requests. Wait a moment and try again.';
      case 's3_error':
        return 'The storage service failed. Try again in a moment.';
      case 'unavailable':
        return 'The server is busy or starting. Try again in a moment.';
      default:
        return 'Try again; if it keeps failing, tell the CodeSight administrator.';
    }
  }
}

export interface ClientOptions {
  baseUrl?: string;
  token?: () => string | null;
  fetch?: typeof fetch;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  // The body as text or as a Blob (downloads) instead of parsed JSON.
  as?: 'text' | 'blob';
}

export class ApiClient {
  private readonly baseUrl: string;
  private readonly token: () => string | null;
  private readonly fetchImpl: typeof fetch;

  constructor(opts: ClientOptions = {}) {
    this.baseUrl = opts.baseUrl ?? '';
    this.token = opts.token ?? (() => null);
    // Bound so that a window.fetch taken from the global keeps its receiver.
    this.fetchImpl = opts.fetch ?? ((...args) => fetch(...args));
  }

  url(path: string, query?: RequestOptions['query']): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined && v !== '') params.set(k, String(v));
    }
    const qs = params.toString();
    return this.baseUrl + path + (qs ? `?${qs}` : '');
  }

  async request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = {};
    const token = this.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(path, opts.query), {
        method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      });
    } catch (e) {
      throw new ApiError(0, 'network_error', `Cannot reach the server (${(e as Error).message}).`);
    }
    if (!res.ok) throw await errorFrom(res);
    if (opts.as === 'text') return (await res.text()) as T;
    if (opts.as === 'blob') return (await res.blob()) as T;
    try {
      return (await res.json()) as T;
    } catch {
      throw new ApiError(res.status, 'bad_response', 'The server sent a response that is not JSON.');
    }
  }
}

// Parses {"error":{"code","message"}}; anything else still yields an error
// named after the HTTP status, so a proxy's HTML error page is handled too.
export async function errorFrom(res: Response): Promise<ApiError> {
  let code: string = statusCode(res.status);
  let message = `${res.status} ${res.statusText}`.trim();
  try {
    const body: unknown = await res.json();
    const err = (body as { error?: { code?: unknown; message?: unknown } })?.error;
    if (err && typeof err.code === 'string') code = err.code;
    if (err && typeof err.message === 'string') message = err.message;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, code, message);
}

function statusCode(status: number): ErrorCode {
  const byStatus: Record<number, ErrorCode> = {
    400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found',
    405: 'method_not_allowed', 409: 'conflict', 413: 'payload_too_large',
    429: 'rate_limited', 502: 's3_error', 503: 'unavailable',
  };
  // A proxy answering 502/504 for a stopped dev server means the server is down.
  if (status === 504) return 'network_error';
  return byStatus[status] ?? 'internal_error';
}
