/// <reference types="node" />
// xhrPut against a real HTTP server on loopback (jsdom's XMLHttpRequest
// does real network I/O): an answer, a refusal, and a server that takes the
// body and never answers, which must not hold the upload.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PutError, xhrPut } from './put';

let server: http.Server;
let base: string;
const held: http.ServerResponse[] = [];

beforeAll(async () => {
  server = http.createServer((req: http.IncomingMessage, res: http.ServerResponse) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Methods', 'PUT');
    res.setHeader('Access-Control-Allow-Headers', '*');
    res.setHeader('Access-Control-Expose-Headers', 'ETag');
    if (req.method === 'OPTIONS') { res.end(); return; }
    let size = 0;
    req.on('data', (c: Buffer) => { size += c.length; });
    req.on('end', () => {
      if (req.url === '/ok') { res.setHeader('ETag', `"${size}"`); res.end(); }
      else if (req.url === '/gone') { res.statusCode = 404; res.end('<Error><Code>NoSuchUpload</Code></Error>'); }
      else held.push(res); // /hang: never answers
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  held.forEach((r) => r.destroy());
  await new Promise((r) => server.close(r));
});

const body = new Blob([new Uint8Array(64 * 1024)]);

describe('xhrPut', () => {
  it('resolves with the ETag S3 sent', async () => {
    await expect(xhrPut(`${base}/ok`, body, {}, () => {}, { stallMs: 5000 })).resolves.toBe('"65536"');
  });

  it('rejects with the status S3 answered', async () => {
    const e = await xhrPut(`${base}/gone`, body, {}, () => {}, { stallMs: 5000 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PutError);
    expect((e as PutError).status).toBe(404);
  });

  it('gives up on a request that makes no progress for stallMs', async () => {
    const t0 = Date.now();
    const e = await xhrPut(`${base}/hang`, body, {}, () => {}, { stallMs: 400 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PutError);
    expect((e as PutError).message).toMatch(/no progress for/);
    expect((e as PutError).status).toBe(0);
    expect(Date.now() - t0).toBeLessThan(4000);
  });

  it('stops when its signal is aborted', async () => {
    const ctl = new AbortController();
    const pending = xhrPut(`${base}/hang`, body, {}, () => {}, { stallMs: 60000, signal: ctl.signal });
    setTimeout(() => ctl.abort(), 50);
    await expect(pending).rejects.toThrow(/cancelled/);
  });
});
