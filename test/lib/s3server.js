'use strict';
// A real S3-compatible server (npm s3rver) on loopback for tests: one bucket
// with the CORS rules browsers need for direct uploads.  s3rver accepts the
// fixed credentials S3RVER/S3RVER and does not check SigV4 signatures
// itself; checkSignatures below does, as S3 does, with npm aws4 (an
// implementation independent of src/sigv4.c).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const aws4 = require('aws4');
const S3rver = require('s3rver');
const S3Error = require('s3rver/lib/models/error');

// The rules docs/s3.md asks for: browsers PUT parts and must read each
// part's ETag, which is hidden from scripts unless exposed.
function corsXml(origins) {
  const allowed = origins.map((o) => `<AllowedOrigin>${o}</AllowedOrigin>`).join('');
  return '<CORSConfiguration><CORSRule>' + allowed +
    '<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>' +
    '<AllowedMethod>HEAD</AllowedMethod><AllowedHeader>*</AllowedHeader>' +
    '<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds>' +
    '</CORSRule></CORSConfiguration>';
}

const xmlEscape = (v) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const xmlFields = (obj) => Object.entries(obj).map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`).join('');

// s3rver 3.7 implements neither ListParts, AbortMultipartUpload nor
// ListMultipartUploads, and takes parts for uploads that do not exist.
// These follow the S3 API reference (path-style requests), on s3rver's own
// upload folders, so the server's resume and cleanup paths meet real S3
// behaviour: NoSuchUpload for an upload that is gone, paginated lists.
function addMultipartOperations(server) {
  const store = server.store;
  const uploadsDir = (bucket) => store.getResourcePath(bucket, undefined, 'uploads');
  const uploadDir = (bucket, uploadId) => path.join(uploadsDir(bucket), path.basename(String(uploadId)));
  const requireUpload = (bucket, uploadId) => {
    if (!fs.existsSync(path.join(uploadDir(bucket, uploadId), 'key'))) {
      throw new S3Error('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.');
    }
  };
  for (const name of ['putPart', 'putObjectMultipart']) {
    const original = store[name].bind(store);
    store[name] = async (bucket, uploadId, ...rest) => {
      requireUpload(bucket, uploadId);
      return original(bucket, uploadId, ...rest);
    };
  }

  function listParts(bucket, key, q) {
    requireUpload(bucket, q.uploadId);
    const dir = uploadDir(bucket, q.uploadId);
    const marker = Number(q['part-number-marker'] || 0);
    const max = Math.min(Number(q['max-parts'] || 1000), 1000);
    // A part still arriving (no checksum yet) is not listed, as on S3.
    const all = fs.readdirSync(dir).filter((f) => /^\d+$/.test(f) && fs.existsSync(path.join(dir, `${f}.md5`)))
      .map(Number).sort((a, b) => a - b)
      .filter((n) => n > marker);
    const page = all.slice(0, max);
    const parts = page.map((n) => {
      const file = path.join(dir, String(n));
      return `<Part>${xmlFields({
        PartNumber: n,
        LastModified: fs.statSync(file).mtime.toISOString(),
        ETag: JSON.stringify(fs.readFileSync(`${file}.md5`, 'utf8')),
        Size: fs.statSync(file).size,
      })}</Part>`;
    }).join('');
    return `<ListPartsResult>${xmlFields({
      Bucket: bucket, Key: key, UploadId: q.uploadId, PartNumberMarker: marker,
      NextPartNumberMarker: page.length ? page[page.length - 1] : marker, MaxParts: max,
      IsTruncated: all.length > max,
    })}${parts}</ListPartsResult>`;
  }

  function listUploads(bucket, q) {
    const prefix = q.prefix || '';
    const max = Math.min(Number(q['max-uploads'] || 1000), 1000);
    const root = uploadsDir(bucket);
    const entries = (fs.existsSync(root) ? fs.readdirSync(root) : []).flatMap((id) => {
      const keyFile = path.join(root, id, 'key');
      if (!fs.existsSync(keyFile)) return [];
      return [{ id, key: fs.readFileSync(keyFile, 'utf8'), initiated: fs.statSync(keyFile).mtime }];
    }).filter((u) => u.key.startsWith(prefix))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.id < b.id ? -1 : 1))
      .filter((u) => !q['key-marker'] || u.key > q['key-marker'] ||
        (u.key === q['key-marker'] && q['upload-id-marker'] && u.id > q['upload-id-marker']));
    const page = entries.slice(0, max);
    const last = page[page.length - 1];
    const uploads = page.map((u) => `<Upload>${xmlFields({
      Key: u.key, UploadId: u.id, Initiated: u.initiated.toISOString(), StorageClass: 'STANDARD',
    })}</Upload>`).join('');
    return `<ListMultipartUploadsResult>${xmlFields({
      Bucket: bucket, KeyMarker: q['key-marker'] || '', UploadIdMarker: q['upload-id-marker'] || '',
      NextKeyMarker: last ? last.key : '', NextUploadIdMarker: last ? last.id : '', Prefix: prefix,
      MaxUploads: max, IsTruncated: entries.length > max,
    })}${uploads}</ListMultipartUploadsResult>`;
  }

  server.middleware.unshift(async (ctx, next) => {
    const [bucket, ...rest] = ctx.path.split('/').slice(1);
    const key = rest.map(decodeURIComponent).join('/');
    const q = ctx.query;
    const xml = (body) => {
      ctx.type = 'application/xml';
      ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
    };
    try {
      if (ctx.method === 'GET' && key && 'uploadId' in q) return xml(listParts(bucket, key, q));
      if (ctx.method === 'GET' && !key && 'uploads' in q) return xml(listUploads(bucket, q));
      if (ctx.method === 'DELETE' && key && 'uploadId' in q) {
        requireUpload(bucket, q.uploadId);
        fs.rmSync(uploadDir(bucket, q.uploadId), { recursive: true, force: true });
        ctx.status = 204;
        return undefined;
      }
    } catch (err) {
      if (!(err instanceof S3Error)) throw err;
      ctx.status = err.status;
      return xml(err.toXML().replace(/^<\?xml[^>]*>\s*/, ''));
    }
    return next();
  });
}

// S3 recomputes the signature of every presigned request from the request
// as it arrives: method, path, query, and the value of each header the URL
// names in X-Amz-SignedHeaders (Content-Type and Content-Length of an
// upload).  A request that differs gets 403 SignatureDoesNotMatch, so a
// browser sending another type or size than it was signed for is refused.
// s3rver skips this ("Signature version 4 calculation is unimplemented");
// here npm aws4 recomputes it.  Error answers carry CORS headers, as S3's
// do, so a page can read their status.
function checkSignatures(server, corsOrigins) {
  server.middleware.unshift(async (ctx, next) => {
    const [pathname, search = ''] = ctx.req.url.split(/\?(.*)/s);
    const query = new URLSearchParams(search);
    if (ctx.method === 'OPTIONS' || !query.has('X-Amz-Signature')) return next();
    const [accessKeyId, , region] = (query.get('X-Amz-Credential') || '').split('/');
    const signedHeaders = query.get('X-Amz-SignedHeaders') || '';
    const headers = {};
    for (const name of signedHeaders.split(';')) {
      if (name in ctx.headers) headers[name] = ctx.headers[name];
    }
    const unsigned = search.split('&').filter((p) => !p.startsWith('X-Amz-Signature=')).join('&');
    const signed = aws4.sign({
      method: ctx.method, host: ctx.headers.host, path: `${pathname}?${unsigned}`, headers,
      service: 's3', region, signQuery: true,
    }, { accessKeyId, secretAccessKey: 'S3RVER' });
    const expected = new URLSearchParams(signed.path.split(/\?(.*)/s)[1]);
    let error;
    if (accessKeyId !== 'S3RVER') {
      error = new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    } else if (expected.get('X-Amz-SignedHeaders') !== signedHeaders ||
      expected.get('X-Amz-Signature') !== query.get('X-Amz-Signature')) {
      error = new S3Error('SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
        { SignedHeaders: signedHeaders });
    }
    if (!error) return next();
    server.signatureFailures.push({ method: ctx.method, path: pathname, code: error.code, signedHeaders });
    const origin = ctx.get('Origin');
    if (origin && (corsOrigins.includes('*') || corsOrigins.includes(origin))) {
      ctx.set('Access-Control-Allow-Origin', origin);
      ctx.set('Access-Control-Expose-Headers', 'ETag');
    }
    ctx.status = error.status;
    ctx.type = 'application/xml';
    ctx.body = error.toXML();
    return undefined;
  });
}

// Starts s3rver with `bucket`; resolves to {endpoint, bucket, port, dir,
// accessKeyId, secretAccessKey, signatureFailures, uploadsDir, stop()}.
async function startS3Server({ bucket = 'codesight-test', port = 0, corsOrigins = ['*'] } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'codesight-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket, configs: [corsXml(corsOrigins)] }],
  });
  addMultipartOperations(server);
  server.signatureFailures = [];
  checkSignatures(server, corsOrigins);
  const addr = await server.run();
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    bucket,
    port: addr.port,
    dir,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    // The requests refused for their signature: {method, path, code, signedHeaders}.
    signatureFailures: server.signatureFailures,
    // The folder of multipart uploads in progress (one folder per upload).
    uploadsDir: server.store.getResourcePath(bucket, undefined, 'uploads'),
    // Stops the server (idempotent); keepFiles leaves its folder for a restart.
    async stop({ keepFiles = false } = {}) {
      if (!stopped) {
        stopped = true;
        await new Promise((resolve) => server.close(resolve));
      }
      if (!keepFiles) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = { startS3Server, corsXml };
