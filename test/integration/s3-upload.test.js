'use strict';
// End to end against a real S3-compatible server (s3rver) on loopback:
// Chromium PUTs recordings from a page on another origin straight to the
// presigned URLs (CORS), single and multipart; PostgreSQL completes and
// verifies them with libcurl, serves player URLs and exports to S3.  Then
// the failures: another type or size than signed, missing object, wrong
// size or type stored, bad parts, unknown session, a hanging S3 (cancel,
// statement_timeout, codesight.s3_timeout) and S3 down.  The S3 server
// checks every signature as S3 does (test/lib/s3server.js).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');
const net = require('node:net');
const fs = require('node:fs');
const path = require('node:path');
const pg = require('pg');
const { chromium } = require('playwright-core');
const { startCluster, waitFor } = require('../lib/cluster');
const { startS3Server } = require('../lib/s3server');
const { api } = require('../lib/http');

const MiB = 1024 * 1024;
const SESSION = 'cs_s3e2e_abcde';

let s3;
let cluster;
let browser;
let page;
let pageServer;
let blackhole;
const held = new Set();

before(async () => {
  s3 = await startS3Server();
  cluster = await startCluster({
    conf: {
      'codesight.s3_endpoint': `'${s3.endpoint}'`,
      'codesight.s3_url_style': "'path'",
      'codesight.s3_bucket': `'${s3.bucket}'`,
      'codesight.s3_access_key_id': `'${s3.accessKeyId}'`,
      'codesight.s3_secret_access_key': `'${s3.secretAccessKey}'`,
      'codesight.s3_multipart_threshold': "'8MB'",
      'codesight.s3_part_size': "'5MB'",
      'codesight.s3_connect_timeout': "'2s'",
      'codesight.s3_timeout': "'30s'",
    },
  });
  await cluster.query('INSERT INTO codesight.sessions (session_id) VALUES ($1)', [SESSION]);

  // The recorder's page lives on its own origin, so every S3 request is
  // cross-origin exactly as in production.
  pageServer = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>recorder</title>');
  });
  await new Promise((r) => pageServer.listen(0, '127.0.0.1', r));

  // Accepts connections and never answers: a hung S3.
  blackhole = net.createServer((sock) => { held.add(sock); sock.on('close', () => held.delete(sock)); });
  await new Promise((r) => blackhole.listen(0, '127.0.0.1', r));

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${pageServer.address().port}/`);
});

after(async () => {
  if (browser) await browser.close();
  for (const s of held) s.destroy();
  if (blackhole) blackhole.close();
  if (pageServer) pageServer.close();
  if (cluster) await cluster.destroy();
  if (s3) await s3.stop();
});

// The bytes of a synthetic recording: deterministic, so Node and the page agree.
function recording(size) {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + 7) & 255;
  return b;
}

// In the page: PUTs [start, end) slices of the synthetic recording to URLs,
// returning each response's status and the ETag CORS lets it read.
async function browserPut(puts, headers = {}) {
  return page.evaluate(async ({ puts, headers }) => {
    const out = [];
    for (const p of puts) {
      const body = new Uint8Array(p.end - p.start);
      for (let i = 0; i < body.length; i++) body[i] = ((p.start + i) * 31 + 7) & 255;
      // A Blob, as the recorder sends: Chromium uploads it much faster than a typed array.
      const r = await fetch(p.url, { method: 'PUT', headers, body: new Blob([body]) });
      out.push({ status: r.status, etag: r.headers.get('ETag') });
    }
    return out;
  }, { puts, headers });
}

async function presign(kind, contentType, size, startedAt = null) {
  const r = await cluster.query('SELECT codesight.presign_upload($1, $2, $3, $4, $5) AS p',
    [SESSION, kind, contentType, size, startedAt]);
  return r.rows[0].p;
}

async function uploadRow(uploadId) {
  const r = await cluster.query('SELECT * FROM codesight.uploads WHERE upload_id = $1', [uploadId]);
  return r.rows[0];
}

async function download(url) {
  const r = await fetch(url);
  assert.equal(r.status, 200);
  return Buffer.from(await r.arrayBuffer());
}

const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');

test('single PUT from the browser, completed and played back', async () => {
  const size = 256 * 1024 + 3;
  const startedAt = '2024-05-01T10:00:00.250Z';
  const p = await presign('video', 'video/webm;codecs=vp9,opus', size, startedAt);
  assert.equal(p.method, 'PUT');
  assert.notEqual(p.multipart, true);
  assert.equal(p.bucket, s3.bucket);
  assert.match(p.key, new RegExp(`^sessions/${SESSION}/video/${p.uploadId}\\.webm$`));
  assert.deepEqual(p.headers, { 'Content-Type': 'video/webm;codecs=vp9,opus', 'Content-Length': String(size) });
  assert.equal(new URL(p.url).searchParams.get('X-Amz-SignedHeaders'), 'content-length;content-type;host');
  assert.equal((await uploadRow(p.uploadId)).status, 'pending');

  const [put] = await browserPut([{ url: p.url, start: 0, end: size }], p.headers);
  assert.equal(put.status, 200);
  assert.match(put.etag, /^"[0-9a-f]{32}"$/, 'CORS must expose ETag');

  const done = (await cluster.query('SELECT codesight.complete_upload($1) AS c', [p.uploadId])).rows[0].c;
  assert.equal(done.status, 'complete');
  assert.equal(done.sizeBytes, size);
  assert.equal(done.etag, put.etag);
  assert.equal(done.contentType, 'video/webm;codecs=vp9,opus');
  const row = await uploadRow(p.uploadId);
  assert.equal(row.status, 'complete');
  assert.equal(row.etag, put.etag);
  assert.ok(row.completed_at);

  // Completing again answers the same without touching S3's object.
  const again = (await cluster.query('SELECT codesight.complete_upload($1) AS c', [p.uploadId])).rows[0].c;
  assert.deepEqual(again, done);

  const media = (await cluster.query('SELECT codesight.media_urls($1, 600) AS m', [SESSION])).rows[0].m;
  const item = media.uploads.find((u) => u.uploadId === p.uploadId);
  assert.equal(item.status, 'complete');
  assert.equal(item.kind, 'video');
  assert.equal(item.sizeBytes, size);
  assert.equal(new Date(item.recordingStartedAt).toISOString(), startedAt);
  assert.match(item.url, /X-Amz-Expires=600&/);
  const served = await fetch(item.url);
  assert.equal(served.status, 200);
  assert.equal(served.headers.get('Content-Type'), 'video/webm;codecs=vp9,opus');
  assert.equal(served.headers.get('Content-Disposition'), `attachment; filename="${SESSION}-video.webm"`);
  assert.equal(sha256(Buffer.from(await served.arrayBuffer())), sha256(recording(size)));
  assert.deepEqual(s3.signatureFailures, []);
});

test('S3 refuses a PUT of another type or size than the upload URL signs', async () => {
  const size = 4096;
  const p = await presign('video', 'video/webm', size);
  const refused = (r) => r.status === 403;
  const failures = s3.signatureFailures.length;
  // The page a worker opens, or a script in it, sending an HTML file as the "video".
  const [html] = await browserPut([{ url: p.url, start: 0, end: size }], { 'Content-Type': 'text/html' });
  assert.ok(refused(html), `text/html body: ${JSON.stringify(html)}`);
  const [none] = await browserPut([{ url: p.url, start: 0, end: size }]);
  assert.ok(refused(none), `no Content-Type: ${JSON.stringify(none)}`);
  const [longer] = await browserPut([{ url: p.url, start: 0, end: size + 1 }], p.headers);
  assert.ok(refused(longer), `one byte more: ${JSON.stringify(longer)}`);
  // A tampered signature, which s3rver alone would take.
  const sig = new URL(p.url).searchParams.get('X-Amz-Signature');
  const [tampered] = await browserPut([{ url: p.url.replace(sig, sig.replace(/^./, (c) => (c === '0' ? '1' : '0'))), start: 0, end: size }], p.headers);
  assert.ok(refused(tampered), `tampered signature: ${JSON.stringify(tampered)}`);
  assert.deepEqual(s3.signatureFailures.slice(failures).map((f) => f.code),
    ['SignatureDoesNotMatch', 'SignatureDoesNotMatch', 'SignatureDoesNotMatch', 'SignatureDoesNotMatch']);
  await assert.rejects(cluster.query('SELECT codesight.complete_upload($1)', [p.uploadId]), /is missing/);

  // Parts sign their length too: part 1 of 3 is exactly partSize bytes.
  const m = await presign('video', 'video/webm', 11 * MiB);
  const [short] = await browserPut([{ url: m.parts[0].url, start: 0, end: m.partSize - 1 }]);
  assert.ok(refused(short), `short part: ${JSON.stringify(short)}`);
  const [last] = await browserPut([{ url: m.parts[2].url, start: 2 * m.partSize, end: 11 * MiB }]);
  assert.equal(last.status, 200, 'the last part is signed for the bytes that are left');
  await cluster.query('SELECT codesight.abort_upload($1)', [m.uploadId]);

  // The right type and size pass.
  const [ok] = await browserPut([{ url: p.url, start: 0, end: size }], p.headers);
  assert.equal(ok.status, 200);
  assert.equal((await cluster.query('SELECT codesight.complete_upload($1) AS c', [p.uploadId])).rows[0].c.contentType, 'video/webm');
});

// PUTs bytes to key through a URL that signs only the host, as a store that
// ignores signed headers would take them, with the given content type.
async function putUnchecked(key, body, contentType) {
  const url = (await cluster.query("SELECT codesight.s3_presign('PUT', $1) AS u", [key])).rows[0].u;
  const r = await fetch(url, { method: 'PUT', headers: { 'Content-Type': contentType }, body });
  assert.equal(r.status, 200);
}

test('an object stored with another content type is not marked complete', async () => {
  const page = Buffer.from('<!doctype html><script>alert(document.domain)</script>'.padEnd(1000, ' '));
  const p = await presign('video', 'video/webm;codecs=vp9', page.length);
  await putUnchecked(p.key, page, 'text/html');
  await assert.rejects(cluster.query('SELECT codesight.complete_upload($1)', [p.uploadId]), (e) => {
    assert.equal(e.code, '22000');
    assert.equal(e.message, `uploaded object "${p.key}" has content type "text/html", expected "video/webm;codecs=vp9"`);
    assert.match(e.detail, /stays pending/);
    assert.match(e.hint, /headers presign_upload returned/);
    return true;
  });
  assert.equal((await uploadRow(p.uploadId)).status, 'pending');
  const media = (await cluster.query('SELECT codesight.media_urls($1) AS m', [SESSION])).rows[0].m;
  assert.equal(media.uploads.find((u) => u.uploadId === p.uploadId).url, null, 'nothing to play');

  // A store may write the type with other blanks or case: that is the same type.
  await putUnchecked(p.key, page, 'Video/WebM; codecs=vp9');
  const done = (await cluster.query('SELECT codesight.complete_upload($1) AS c', [p.uploadId])).rows[0].c;
  assert.equal(done.contentType, 'video/webm;codecs=vp9', 'the declared type is kept');
});

test('a multipart object whose stored type differs is not marked complete', async () => {
  const size = 11 * MiB;
  const p = await presign('audio', 'audio/webm', size);
  const { s3_upload_id: s3Id } = await uploadRow(p.uploadId);
  const results = await browserPut(p.parts.map((x) => ({
    url: x.url, start: (x.partNumber - 1) * p.partSize, end: Math.min(size, x.partNumber * p.partSize),
  })));
  const parts = results.map((r, i) => ({ partNumber: i + 1, etag: r.etag }));
  // The type is the one CreateMultipartUpload set; make the store hold another.
  const metaFile = path.join(s3.uploadsDir, s3Id, 'metadata');
  const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
  assert.equal(meta['content-type'], 'audio/webm', 'CreateMultipartUpload sent the declared type');
  fs.writeFileSync(metaFile, JSON.stringify({ ...meta, 'content-type': 'text/html' }));
  await assert.rejects(cluster.query('SELECT codesight.complete_upload($1, $2)', [p.uploadId, JSON.stringify(parts)]),
    /has content type "text\/html", expected "audio\/webm"/);
  assert.equal((await uploadRow(p.uploadId)).status, 'pending');
});

test('recordings are handed out as attachments of their declared type, whatever the object says', async () => {
  // An object stored before uploads were signed (or behind a store that
  // ignores signed headers) holds a page; its row says video.
  const page = '<!doctype html><title>phish</title><form action="https://evil.example/">';
  const key = `sessions/${SESSION}/video/legacy.webm`;
  await putUnchecked(key, page, 'text/html');
  await cluster.query(`INSERT INTO codesight.uploads (session_id, upload_id, kind, bucket, object_key, content_type,
      size_bytes, status, completed_at) VALUES ($1, gen_random_uuid(), 'video', $2, $3, 'video/webm', $4, 'complete', now())`,
  [SESSION, s3.bucket, key, page.length]);
  const media = (await cluster.query('SELECT codesight.media_urls($1) AS m', [SESSION])).rows[0].m;
  const item = media.uploads.find((u) => u.url && new URL(u.url).pathname.endsWith('/legacy.webm'));
  const r = await fetch(item.url);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('Content-Type'), 'video/webm');
  assert.equal(r.headers.get('Content-Disposition'), `attachment; filename="${SESSION}-video.webm"`);

  // A browser navigating to it downloads it instead of rendering it.
  const tab = await browser.newPage();
  try {
    const nav = await tab.goto(item.url).then(() => 'rendered', (e) => (/Download is starting/.test(e.message) ? 'downloaded' : e.message));
    assert.equal(nav, 'downloaded');
  } finally {
    await tab.close();
  }
});

test('multipart upload of 11 MiB through presigned part URLs', async () => {
  const size = 11 * MiB + 12345;
  const p = await presign('audio', 'audio/webm', size);
  assert.equal(p.multipart, true);
  assert.equal(p.partSize, 5 * MiB);
  assert.deepEqual(p.parts.map((x) => x.partNumber), [1, 2, 3]);
  const row = await uploadRow(p.uploadId);
  assert.ok(row.s3_upload_id, 'CreateMultipartUpload ran server-side');
  assert.equal(Number(row.part_size), 5 * MiB);

  const puts = p.parts.map((x) => ({
    url: x.url, start: (x.partNumber - 1) * p.partSize, end: Math.min(size, x.partNumber * p.partSize),
  }));
  const results = await browserPut(puts);
  assert.ok(results.every((r) => r.status === 200 && r.etag), JSON.stringify(results));
  const parts = results.map((r, i) => ({ partNumber: i + 1, etag: r.etag }));

  // Parts are checked before S3 is asked: all of them, each once.
  await assert.rejects(cluster.query('SELECT codesight.complete_upload($1, $2)',
    [p.uploadId, JSON.stringify(parts.slice(0, 2))]), /expected 3 parts, got 2/);
  await assert.rejects(cluster.query('SELECT codesight.complete_upload($1, $2)',
    [p.uploadId, JSON.stringify([parts[0], parts[0], parts[2]])]), /invalid or repeated partNumber 1/);
  await assert.rejects(cluster.query('SELECT codesight.complete_upload($1)', [p.uploadId]),
    /needs its parts/);
  assert.equal((await uploadRow(p.uploadId)).status, 'pending');

  const done = (await cluster.query('SELECT codesight.complete_upload($1, $2) AS c',
    [p.uploadId, JSON.stringify(parts.reverse())])).rows[0].c;
  assert.equal(done.status, 'complete');
  assert.equal(done.sizeBytes, size);
  // AWS ends a multipart ETag with "-<parts>"; s3rver does not.
  assert.match(done.etag, /^"[0-9a-f]{32}(-3)?"$/);

  const url = (await cluster.query("SELECT codesight.s3_presign('GET', $1) AS u", [p.key])).rows[0].u;
  assert.equal(sha256(await download(url)), sha256(recording(size)));
});

// The multipart uploads S3 has in progress, by UploadId.
function s3Uploads() {
  return new Set(fs.existsSync(s3.uploadsDir) ? fs.readdirSync(s3.uploadsDir) : []);
}

test('a multipart upload resumes from the parts S3 lists, with URLs signed per part', async () => {
  const size = 11 * MiB + 777;
  const p = await presign('video', 'video/webm', size);
  const { s3_upload_id: s3Id } = await uploadRow(p.uploadId);
  const range = (n) => ({ start: (n - 1) * p.partSize, end: Math.min(size, n * p.partSize) });

  // Nothing sent yet: S3 lists no part.
  let listed = (await cluster.query('SELECT codesight.upload_parts($1) AS l', [p.uploadId])).rows[0].l;
  assert.deepEqual(listed, { uploadId: p.uploadId, status: 'pending', multipart: true, sizeBytes: size, partSize: 5 * MiB, parts: [] });

  // Parts 1 and 3 go up with URLs signed for them alone, later than the presign.
  const touchedBefore = (await uploadRow(p.uploadId)).touched_at;
  const urls = (await cluster.query('SELECT codesight.upload_part_urls($1, $2) AS u', [p.uploadId, [3, 1]])).rows[0].u;
  assert.equal(urls.status, 'pending');
  assert.deepEqual(urls.parts.map((x) => x.partNumber), [3, 1]);
  assert.ok(urls.parts.every((x) => x.url.includes(`uploadId=${encodeURIComponent(s3Id)}`)));
  assert.ok((await uploadRow(p.uploadId)).touched_at > touchedBefore, 'asking for URLs is activity');
  const sent = await browserPut(urls.parts.map((x) => ({ url: x.url, ...range(x.partNumber) })));
  assert.ok(sent.every((r) => r.status === 200), JSON.stringify(sent));

  // A reload later: S3 says which parts it has, with their ETags and sizes.
  listed = (await cluster.query('SELECT codesight.upload_parts($1) AS l', [p.uploadId])).rows[0].l;
  assert.deepEqual(listed.parts, [
    { partNumber: 1, etag: sent[1].etag, sizeBytes: 5 * MiB },
    { partNumber: 3, etag: sent[0].etag, sizeBytes: size - 10 * MiB },
  ]);
  const [two] = (await cluster.query('SELECT codesight.upload_part_urls($1, $2) AS u', [p.uploadId, [2]])).rows[0].u.parts;
  const [put2] = await browserPut([{ url: two.url, ...range(2) }]);
  const parts = [...listed.parts, { partNumber: 2, etag: put2.etag }].map(({ partNumber, etag }) => ({ partNumber, etag }));
  const done = (await cluster.query('SELECT codesight.complete_upload($1, $2) AS c', [p.uploadId, JSON.stringify(parts)])).rows[0].c;
  assert.equal(done.status, 'complete');
  const url = (await cluster.query("SELECT codesight.s3_presign('GET', $1) AS u", [p.key])).rows[0].u;
  assert.equal(sha256(await download(url)), sha256(recording(size)));

  // A complete upload signs nothing more and lists as complete.
  assert.deepEqual((await cluster.query('SELECT codesight.upload_part_urls($1, $2) AS u', [p.uploadId, [1]])).rows[0].u,
    { uploadId: p.uploadId, status: 'complete' });
  assert.equal((await cluster.query('SELECT codesight.upload_parts($1) AS l', [p.uploadId])).rows[0].l.status, 'complete');

  // Part numbers outside the upload, or too many at once, are refused.
  const q = await presign('video', 'video/webm', size);
  await assert.rejects(cluster.query('SELECT codesight.upload_part_urls($1, $2)', [q.uploadId, [4]]), /invalid part number 4/);
  await assert.rejects(cluster.query('SELECT codesight.upload_part_urls($1, $2)', [q.uploadId, [0]]), /invalid part number 0/);
  await assert.rejects(cluster.query('SELECT codesight.upload_part_urls($1, $2)', [q.uploadId, []]), /1 to 100 part numbers/);
  await assert.rejects(cluster.query('SELECT codesight.upload_part_urls($1)', [q.uploadId]), /must not be null/);
  // A single PUT gets its one URL again.
  const single = await presign('video', 'video/webm', 100);
  const again = (await cluster.query('SELECT codesight.upload_part_urls($1) AS u', [single.uploadId])).rows[0].u;
  assert.equal(again.method, 'PUT');
  assert.deepEqual(again.headers, { 'Content-Type': 'video/webm', 'Content-Length': '100' });
  assert.match(again.url, new RegExp(`/${single.key.replace(/\//g, '\\/')}\\?`));
});

test('abort_upload frees the parts on S3; the aborted upload can neither resume nor complete', async () => {
  const size = 11 * MiB;
  const p = await presign('video', 'video/webm', size);
  const { s3_upload_id: s3Id } = await uploadRow(p.uploadId);
  const [first] = await browserPut([{ url: p.parts[0].url, start: 0, end: p.partSize }]);
  assert.equal(first.status, 200);
  assert.ok(s3Uploads().has(s3Id));

  const aborted = (await cluster.query('SELECT codesight.abort_upload($1) AS a', [p.uploadId])).rows[0].a;
  assert.deepEqual(aborted, { uploadId: p.uploadId, status: 'aborted' });
  assert.equal((await uploadRow(p.uploadId)).status, 'aborted');
  assert.ok(!s3Uploads().has(s3Id), 'S3 no longer holds the upload');
  // Aborting again is no error.
  assert.equal((await cluster.query('SELECT codesight.abort_upload($1) AS a', [p.uploadId])).rows[0].a.status, 'aborted');

  const [late] = await browserPut([{ url: p.parts[1].url, start: p.partSize, end: 2 * p.partSize }]);
  assert.equal(late.status, 404, 'S3 refuses parts of an aborted upload (NoSuchUpload)');
  assert.equal((await cluster.query('SELECT codesight.upload_parts($1) AS l', [p.uploadId])).rows[0].l.status, 'aborted');
  for (const sql of ['SELECT codesight.upload_part_urls($1, ARRAY[1])', "SELECT codesight.complete_upload($1, '[]')"]) {
    await assert.rejects(cluster.query(sql, [p.uploadId]), (e) => {
      assert.equal(e.code, 'P0002');
      assert.match(e.message, /was aborted/);
      assert.match(e.hint, /presign_upload/);
      return true;
    });
  }
});

test('abort_stale_uploads aborts untouched uploads and orphans, and leaves live ones', async () => {
  const size = 11 * MiB;
  const live = await presign('video', 'video/webm', size);
  const stale = await presign('video', 'video/webm', size);
  const orphan = await presign('audio', 'audio/webm', size);
  const row = async (p) => uploadRow(p.uploadId);
  const ids = { live: (await row(live)).s3_upload_id, stale: (await row(stale)).s3_upload_id, orphan: (await row(orphan)).s3_upload_id };
  // The stale one's browser went quiet 8 days ago; the orphan's row is gone
  // (a deleted session) and S3 created it long ago.
  await cluster.query("UPDATE codesight.uploads SET touched_at = now() - interval '8 days' WHERE upload_id = $1", [stale.uploadId]);
  await cluster.query('DELETE FROM codesight.uploads WHERE upload_id = $1', [orphan.uploadId]);
  const old = new Date(Date.now() - 9 * 24 * 3600 * 1000);
  for (const id of [ids.orphan, ids.live]) fs.utimesSync(path.join(s3.uploadsDir, id, 'key'), old, old);

  const r = await cluster.query('SELECT * FROM codesight.abort_stale_uploads()');
  const byId = Object.fromEntries(r.rows.map((x) => [x.s3_upload_id, x]));
  assert.equal(byId[ids.stale].reason, 'stale');
  assert.equal(byId[ids.stale].object_key, stale.key);
  assert.equal(byId[ids.stale].bucket, s3.bucket);
  assert.equal(byId[ids.orphan].reason, 'orphan');
  assert.equal(byId[ids.orphan].object_key, orphan.key);
  assert.equal(byId[ids.live], undefined, 'an upload its browser still works on stays, however old on S3');
  const left = s3Uploads();
  assert.ok(left.has(ids.live) && !left.has(ids.stale) && !left.has(ids.orphan));
  assert.equal((await row(stale)).status, 'aborted');
  assert.equal((await row(live)).status, 'pending');

  // Nothing left to do: a second run aborts nothing.
  assert.equal((await cluster.query('SELECT count(*)::int AS n FROM codesight.abort_stale_uploads()')).rows[0].n, 0);
  await assert.rejects(cluster.query('SELECT * FROM codesight.abort_stale_uploads(NULL)'), /lifetime must not be null/);
  await cluster.query('SELECT codesight.abort_upload($1)', [live.uploadId]);
});

test('the worker aborts stale uploads by itself every codesight.upload_sweep_interval', async () => {
  const size = 11 * MiB;
  const live = await presign('video', 'video/webm', size);
  const stale = await presign('video', 'video/webm', size);
  const staleId = (await uploadRow(stale.uploadId)).s3_upload_id;
  await cluster.query("UPDATE codesight.uploads SET touched_at = now() - interval '8 days' WHERE upload_id = $1", [stale.uploadId]);
  const offset = cluster.log().length;
  cluster.reload({ 'codesight.upload_sweep_interval': "'1s'" });
  await waitFor(async () => (await uploadRow(stale.uploadId)).status === 'aborted', { what: 'the stale upload aborted by the sweep' });
  assert.ok(!s3Uploads().has(staleId), 'its parts are gone from S3');
  assert.equal((await uploadRow(live.uploadId)).status, 'pending');
  await waitFor(() => /codesight http LOG: {2}codesight: aborted 1 stale multipart uploads on S3/.test(cluster.log().slice(offset)),
    { what: 'the sweep logged' });
  cluster.reload({ 'codesight.upload_sweep_interval': '0' });
  await cluster.query('SELECT codesight.abort_upload($1)', [live.uploadId]);
});

test('the resume routes answer the owner of the session only', async () => {
  const base = cluster.httpUrl;
  const register = async (name) => (await api(base, 'POST', '/api/workers', { body: { displayName: name } })).json.token;
  const [owner, other] = [await register('Owner'), await register('Other')];
  const created = await api(base, 'POST', '/api/sessions', { token: owner, body: {} });
  assert.equal(created.status, 201);
  const { sessionId } = created.json;
  const p = (await api(base, 'POST', '/api/upload/url', { token: owner,
    body: { sessionId, kind: 'video', contentType: 'video/webm', sizeBytes: 11 * MiB } })).json;
  assert.equal(p.multipart, true);

  for (const [route, body] of [['part-urls', { partNumbers: [2] }], ['parts', {}], ['abort', {}]]) {
    const denied = await api(base, 'POST', `/api/upload/${route}`, { token: other, body: { uploadId: p.uploadId, ...body } });
    assert.equal(denied.status, 403, `${route}: ${denied.text}`);
    assert.equal(denied.json.error.code, 'forbidden');
    const unknown = await api(base, 'POST', `/api/upload/${route}`, { token: owner, body: { uploadId: '00000000-0000-4000-8000-000000000000', ...body } });
    assert.equal(unknown.status, 404);
    const missing = await api(base, 'POST', `/api/upload/${route}`, { token: owner, body });
    assert.equal(missing.status, 400);
  }
  const urls = await api(base, 'POST', '/api/upload/part-urls', { token: owner, body: { uploadId: p.uploadId, partNumbers: [2] } });
  assert.equal(urls.status, 200);
  assert.deepEqual(urls.json.parts.map((x) => x.partNumber), [2]);
  const bad = await api(base, 'POST', '/api/upload/part-urls', { token: owner, body: { uploadId: p.uploadId, partNumbers: [9] } });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /invalid part number 9/);
  const listed = await api(base, 'POST', '/api/upload/parts', { token: owner, body: { uploadId: p.uploadId } });
  assert.deepEqual(listed.json.parts, []);
  assert.equal((await api(base, 'POST', '/api/upload/abort', { token: owner, body: { uploadId: p.uploadId } })).json.status, 'aborted');
  const gone = await api(base, 'POST', '/api/upload/part-urls', { token: owner, body: { uploadId: p.uploadId, partNumbers: [1] } });
  assert.equal(gone.status, 404);
  assert.match(gone.json.error.message, /was aborted/);
});

test('export_to_s3 writes the training data and the Playwright script', async () => {
  const uri = (await cluster.query('SELECT codesight.export_to_s3($1) AS u', [SESSION])).rows[0].u;
  const key = `sessions/${SESSION}/exports/training-data.json`;
  assert.equal(uri, `s3://${s3.bucket}/${key}`);
  const expected = (await cluster.query(
    'SELECT codesight.training_data($1) AS t, codesight.export_playwright($1) AS p', [SESSION])).rows[0];
  const urls = (await cluster.query("SELECT codesight.s3_presign('GET', $1) AS t, codesight.s3_presign('GET', $2) AS p",
    [key, `sessions/${SESSION}/exports/playwright.spec.js`])).rows[0];
  assert.deepEqual(JSON.parse((await download(urls.t)).toString('utf8')), expected.t);
  assert.equal((await download(urls.p)).toString('utf8'), expected.p);
  // The training data points at the recordings completed above.
  assert.match(expected.t.video_path, new RegExp(`^s3://${s3.bucket}/sessions/${SESSION}/video/`));
});

test('a missing object is not marked complete', async () => {
  const p = await presign('video', 'video/webm', 1000);
  await assert.rejects(cluster.query('SELECT codesight.complete_upload($1)', [p.uploadId]), (e) => {
    assert.match(e.message, /uploaded object ".*" is missing/);
    assert.equal(e.code, 'P0002');
    return true;
  });
  assert.equal((await uploadRow(p.uploadId)).status, 'pending');
  const media = (await cluster.query('SELECT codesight.media_urls($1) AS m', [SESSION])).rows[0].m;
  assert.equal(media.uploads.find((u) => u.uploadId === p.uploadId).url, null);
});

test('an object of the wrong size is not marked complete', async () => {
  const p = await presign('video', 'video/webm', 1000);
  const [put] = await browserPut([{ url: p.url, start: 0, end: 999 }], p.headers);
  assert.equal(put.status, 403, 'the URL signs 1000 bytes');
  await putUnchecked(p.key, recording(999), 'video/webm');
  await assert.rejects(cluster.query('SELECT codesight.complete_upload($1)', [p.uploadId]),
    /has 999 bytes, expected 1000/);
  assert.equal((await uploadRow(p.uploadId)).status, 'pending');
});

test('bad arguments are refused before anything is stored', async () => {
  const count = async () => Number((await cluster.query('SELECT count(*) FROM codesight.uploads')).rows[0].count);
  const before = await count();
  await assert.rejects(cluster.query("SELECT codesight.presign_upload('cs_nope', 'video', 'video/webm', 10)"),
    /session "cs_nope" does not exist/);
  await assert.rejects(cluster.query(`SELECT codesight.presign_upload('${SESSION}', 'Video!', 'video/webm', 10)`),
    /invalid upload kind/);
  for (const type of ['webm', 'video/', '/webm', 'video webm', 'video/webm\r\nX-Evil: 1', 'video/webm x',
    'vidéo/webm', 'video/webm;codecs=vp9\t', `video/${'x'.repeat(250)}`]) {
    await assert.rejects(cluster.query('SELECT codesight.presign_upload($1, $2, $3, 10)', [SESSION, 'video', type]),
      /invalid content type/, type);
  }
  await assert.rejects(cluster.query(`SELECT codesight.presign_upload('${SESSION}', 'video', 'video/webm', 0)`),
    /size_bytes must be between 1 and/);
  await assert.rejects(cluster.query("SELECT codesight.complete_upload('00000000-0000-4000-8000-000000000000')"),
    /upload 00000000-0000-4000-8000-000000000000 does not exist/);
  await assert.rejects(cluster.query("SELECT codesight.media_urls('cs_nope')"), /does not exist/);
  assert.equal(await count(), before);
});

// Runs fn on its own connection pointed at the hung server.
async function withHungS3(fn) {
  const c = new pg.Client(cluster.connectionConfig());
  await c.connect();
  try {
    await c.query(`SET codesight.s3_endpoint = 'http://127.0.0.1:${blackhole.address().port}'`);
    return await fn(c);
  } finally {
    await c.end();
  }
}

test('a hung S3 request gives way to statement_timeout, cancel and s3_timeout', async () => {
  const p = await presign('video', 'video/webm', 10);

  await withHungS3(async (c) => {
    await c.query("SET statement_timeout = '300ms'");
    const t0 = Date.now();
    await assert.rejects(c.query('SELECT codesight.complete_upload($1)', [p.uploadId]),
      /canceling statement due to statement timeout/);
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  });

  await withHungS3(async (c) => {
    const pid = (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const pending = c.query('SELECT codesight.complete_upload($1)', [p.uploadId]);
    const failed = assert.rejects(pending, /canceling statement due to user request/);
    await waitFor(async () => (await cluster.query(
      "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", [pid])).rowCount === 1,
    { what: 'complete_upload to be running' });
    await cluster.query('SELECT pg_cancel_backend($1)', [pid]);
    await failed;
  });

  await withHungS3(async (c) => {
    await c.query("SET codesight.s3_timeout = '400ms'");
    await assert.rejects(c.query('SELECT codesight.complete_upload($1)', [p.uploadId]), (e) => {
      assert.equal(e.code, 'CS504');
      assert.match(e.message, /^the storage service did not answer S3 HEAD of ".*" in bucket ".*" within 400 ms$/);
      assert.match(e.hint, /codesight\.s3_timeout/);
      return true;
    });
  });
  assert.equal((await uploadRow(p.uploadId)).status, 'pending');
});

test('S3 down: clear errors, nothing recorded, nothing completed', async () => {
  const p = await presign('video', 'video/webm', 10);
  const [put] = await browserPut([{ url: p.url, start: 0, end: 10 }], p.headers);
  assert.equal(put.status, 200);
  await s3.stop();

  const connectionFailure = (e) => {
    assert.equal(e.code, '08006');
    assert.match(e.message, /^the storage service could not be reached for S3 .* in bucket ".*"$/);
    assert.match(e.detail, /connect|refused/i);
    assert.match(e.hint, /codesight\.s3_endpoint/);
    assert.doesNotMatch(`${e.message} ${e.detail} ${e.hint}`, /S3RVER|X-Amz-/, 'no credentials in errors');
    return true;
  };
  await assert.rejects(cluster.query('SELECT codesight.complete_upload($1)', [p.uploadId]), connectionFailure);
  assert.equal((await uploadRow(p.uploadId)).status, 'pending');

  const count = async () => Number((await cluster.query('SELECT count(*) FROM codesight.uploads')).rows[0].count);
  const before = await count();
  await assert.rejects(cluster.query(
    `SELECT codesight.presign_upload('${SESSION}', 'video', 'video/webm', ${20 * MiB})`), connectionFailure);
  assert.equal(await count(), before);
  await assert.rejects(cluster.query('SELECT codesight.export_to_s3($1)', [SESSION]), connectionFailure);

  // Presigning alone needs no network.
  const single = await presign('video', 'video/webm', 10);
  assert.match(single.url, /^http:\/\/127\.0\.0\.1:\d+\//);
});
