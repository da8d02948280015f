// PUTs one blob to a presigned S3 URL with XMLHttpRequest, because fetch
// reports no upload progress. Resolves with the ETag S3 returned (the bucket's
// CORS rules must expose it). A request that makes no progress for stallMs
// is aborted, so a dead connection never holds an upload forever.

export class PutError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'PutError';
    this.status = status;
  }
}

export interface PutOptions {
  // Longest time without a byte sent or an answer before giving up.
  stallMs: number;
  signal?: AbortSignal;
}

export type PutFn = (
  url: string, body: Blob, headers: Record<string, string>, onProgress: (loaded: number) => void, opts: PutOptions,
) => Promise<string>;

// Network failures, stalls, throttling and server errors can pass on a later
// try; so can 403, since every try signs a fresh URL (an expired one is 403).
// 404 means the multipart upload is gone (NoSuchUpload): starting over is the
// caller's decision, not a retry's.
export function isRetryablePut(e: unknown): boolean {
  if (!(e instanceof PutError)) return true;
  return e.status === 0 || e.status === 403 || e.status === 408 || e.status === 429 || e.status >= 500;
}

export const xhrPut: PutFn = (url, body, headers, onProgress, { stallMs, signal }) =>
  new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    let stallTimer: ReturnType<typeof setTimeout> | undefined;
    const settle = (fn: () => void) => {
      clearTimeout(stallTimer);
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const armStall = () => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => {
        xhr.abort();
        settle(() => reject(new PutError(0, `no progress for ${Math.round(stallMs / 1000)} s`)));
      }, stallMs);
    };
    const onAbort = () => {
      xhr.abort();
      settle(() => reject(new PutError(0, 'upload cancelled')));
    };
    if (signal?.aborted) { reject(new PutError(0, 'upload cancelled')); return; }
    signal?.addEventListener('abort', onAbort);
    xhr.open('PUT', url);
    for (const [k, v] of Object.entries(headers)) {
      // The browser sets these itself and refuses to have them set.
      if (!/^(host|content-length)$/i.test(k)) xhr.setRequestHeader(k, v);
    }
    xhr.upload.onprogress = (e) => { armStall(); onProgress(e.loaded); };
    xhr.onload = () => settle(() => {
      if (xhr.status < 200 || xhr.status >= 300) {
        reject(new PutError(xhr.status, `storage answered ${xhr.status}`));
        return;
      }
      const etag = xhr.getResponseHeader('ETag');
      if (!etag) reject(new PutError(xhr.status, 'storage sent no ETag (is ETag exposed by the bucket CORS rules?)'));
      else resolve(etag);
    });
    xhr.onerror = () => settle(() => reject(new PutError(0, 'network error while uploading')));
    armStall();
    xhr.send(body);
  });
