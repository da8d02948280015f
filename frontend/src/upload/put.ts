// PUTs one blob to a presigned S3 URL with XMLHttpRequest, because fetch
// reports no upload progress. Resolves with the ETag S3 returned (the bucket's
// CORS rules must expose it).

export class PutError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'PutError';
    this.status = status;
  }
}

export type PutFn = (
  url: string, body: Blob, headers: Record<string, string>, onProgress: (loaded: number) => void,
) => Promise<string>;

// Network failures, throttling and server errors can pass on a later try;
// 4xx (expired or bad signature) cannot.
export function isRetryablePut(e: unknown): boolean {
  if (!(e instanceof PutError)) return true;
  return e.status === 0 || e.status === 408 || e.status === 429 || e.status >= 500;
}

export const xhrPut: PutFn = (url, body, headers, onProgress) =>
  new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    for (const [k, v] of Object.entries(headers)) {
      // The browser sets these itself and refuses to have them set.
      if (!/^(host|content-length)$/i.test(k)) xhr.setRequestHeader(k, v);
    }
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      if (xhr.status < 200 || xhr.status >= 300) {
        reject(new PutError(xhr.status, `storage answered ${xhr.status}`));
        return;
      }
      const etag = xhr.getResponseHeader('ETag');
      if (!etag) reject(new PutError(xhr.status, 'storage sent no ETag (is ETag exposed by the bucket CORS rules?)'));
      else resolve(etag);
    };
    xhr.onerror = () => reject(new PutError(0, 'network error while uploading'));
    xhr.ontimeout = () => reject(new PutError(0, 'upload timed out'));
    xhr.send(body);
  });
