'use strict';
// Cross-checks codesight.s3_presign (C, OpenSSL) against npm aws4, an
// independent SigV4 implementation, over many generated keys, methods,
// times, regions, endpoints and addressing styles.  Both must produce the
// same signature, origin, path and query parameters.  The same for the URLs
// browsers get: presign_upload's, which sign the Content-Type and
// Content-Length the browser must send, and media_urls', which ask S3 for
// an attachment of the declared type.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const aws4 = require('aws4');
const pg = require('pg');
const { startCluster } = require('../lib/cluster');

const CASES = 400;

let cluster;
let client;

before(async () => {
  cluster = await startCluster();
  client = new pg.Client(cluster.connectionConfig());
  await client.connect();
});

after(async () => {
  if (client) await client.end();
  if (cluster) await cluster.destroy();
});

// Seeded generator, so a failing case can be reproduced.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
}

const KEY_PIECES = [
  'a', 'Z', '0', '9', '-', '_', '.', '~', ' ', '+', '=', '&', '?', '#', '%', '!', '*', "'",
  '(', ')', ',', ';', ':', '@', '$', '[', ']', '"', '<', '>', '\\', '^', '`', '{', '|', '}',
  '\t', 'é', 'ß', '€', '日本', '😀', '/', '/', '//', 'video', 'sessions', '.webm',
];
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-gov-west-1', 'auto', 'cn-north-1'];
const ENDPOINTS = [
  { endpoint: '', virtualOk: true },
  { endpoint: 'https://s3.amazonaws.com', virtualOk: true },
  { endpoint: 'http://127.0.0.1:9000', virtualOk: false },
  { endpoint: 'http://localhost:4569', virtualOk: true },
  { endpoint: 'https://minio.example.com:8443', virtualOk: true },
  { endpoint: 'https://0123456789abcdef.r2.cloudflarestorage.com', virtualOk: true },
];
const METHODS = ['GET', 'PUT', 'HEAD', 'DELETE'];

// RFC 3986 encoding, as S3 wants it: encodeURIComponent leaves !'()* alone.
function enc(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function pick(r, list) { return list[Math.floor(r() * list.length)]; }

function makeCase(r, i) {
  let key = '';
  const n = 1 + Math.floor(r() * 12);
  for (let j = 0; j < n; j++) key += pick(r, KEY_PIECES);
  const ep = pick(r, ENDPOINTS);
  const pathStyle = !ep.virtualOk || r() < 0.5;
  const bucket = pathStyle && r() < 0.3 ? 'Mixed_Case.bucket' : pick(r, ['examplebucket', 'codesight-media', 'a.b.c']);
  return {
    i,
    method: pick(r, METHODS),
    key,
    region: pick(r, REGIONS),
    endpoint: ep.endpoint,
    pathStyle,
    bucket,
    // Between 1970 and 2099, whole seconds.
    signedAt: new Date(Math.floor(r() * 4102444800) * 1000),
    expiresIn: 1 + Math.floor(r() * 604800),
    accessKeyId: 'AKIA' + Math.floor(r() * 1e12).toString(36).toUpperCase(),
    secretAccessKey: Buffer.from(Array.from({ length: 30 }, () => Math.floor(r() * 256))).toString('base64'),
    sessionToken: r() < 0.3 ? 'tok/' + Buffer.from(String(r())).toString('base64') + '+=' : '',
  };
}

// The presigned URL aws4 computes for the case, with the extra query
// parameters and signed headers given.
function aws4Url(c, { params = {}, headers = {} } = {}) {
  const url = new URL(c.endpoint || `https://s3.${c.region}.amazonaws.com`);
  const host = c.pathStyle ? url.host : `${c.bucket}.${url.host}`;
  const path = '/' + (c.pathStyle ? enc(c.bucket) + '/' : '') + c.key.split('/').map(enc).join('/');
  const amzDate = c.signedAt.toISOString().replace(/[:-]|\.\d{3}/g, '');
  const query = [`X-Amz-Date=${amzDate}`, `X-Amz-Expires=${c.expiresIn}`,
    ...Object.entries(params).map(([k, v]) => `${enc(k)}=${enc(v)}`)].join('&');
  const creds = { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey };
  if (c.sessionToken) creds.sessionToken = c.sessionToken;
  const signed = aws4.sign({
    host, path: `${path}?${query}`, method: c.method, service: 's3', region: c.region, signQuery: true, headers: { ...headers },
  }, creds);
  return new URL(`${url.protocol}//${host}${signed.path}`);
}

// Points this connection's S3 settings at the case.
async function configure(c) {
  const settings = {
    'codesight.s3_endpoint': c.endpoint,
    'codesight.s3_region': c.region,
    'codesight.s3_url_style': c.pathStyle ? 'path' : 'virtual',
    'codesight.s3_access_key_id': c.accessKeyId,
    'codesight.s3_secret_access_key': c.secretAccessKey,
    'codesight.s3_session_token': c.sessionToken,
    'codesight.s3_bucket': c.bucket,
  };
  const names = Object.keys(settings);
  await client.query(
    `SELECT ${names.map((_, k) => `set_config($${2 * k + 1}, $${2 * k + 2}, false)`).join(', ')}`,
    names.flatMap((name) => [name, settings[name]]));
}

async function presign(c) {
  await configure(c);
  const r = await client.query('SELECT codesight.s3_presign($1, $2, $3, $4, $5) AS url',
    [c.method, c.key, c.expiresIn, c.signedAt, c.bucket]);
  return new URL(r.rows[0].url);
}

function sortedParams(u) {
  return [...u.searchParams.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

// Same signature, origin, path and parameters.
function assertSameUrl(ours, theirs, what) {
  assert.match(ours.searchParams.get('X-Amz-Signature'), /^[0-9a-f]{64}$/, what);
  assert.equal(ours.searchParams.get('X-Amz-Signature'), theirs.searchParams.get('X-Amz-Signature'), what);
  assert.equal(ours.origin, theirs.origin, what);
  assert.equal(ours.pathname, theirs.pathname, what);
  assert.deepEqual(sortedParams(ours), sortedParams(theirs), what);
}

// Content types as recorders report them: parameters with and without
// blanks, upper case, every token character presign_upload accepts.
const TYPES = ['video/webm', 'video/webm;codecs=vp9,opus', 'audio/ogg; codecs=opus', 'video/x-matroska;codecs=avc1',
  'Audio/MP4', 'video/mp4; codecs="avc1.42E01E, mp4a.40.2"', "application/vnd.a+b.c!#$%&'*^_`|~",
  'video/webm ;  codecs=vp8'];

test(`s3_presign agrees with aws4 on ${CASES} generated requests`, async () => {
  const r = rng(20240524);
  for (let i = 0; i < CASES; i++) {
    const c = makeCase(r, i);
    const ours = await presign(c);
    const theirs = aws4Url(c);
    assertSameUrl(ours, theirs, `case ${i}: ${JSON.stringify(c)}`);
  }
});

const UPLOADS = 150;

// When the server signed a URL (its X-Amz-Date).
function signedAt(u) {
  return new Date(u.searchParams.get('X-Amz-Date').replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
}

test(`presign_upload and media_urls agree with aws4 on ${UPLOADS} generated uploads`, async () => {
  const r = rng(20260501);
  const session = 'cs_sigv4_uploads';
  await client.query('INSERT INTO codesight.sessions (session_id) VALUES ($1) ON CONFLICT DO NOTHING', [session]);
  for (let i = 0; i < UPLOADS; i++) {
    const c = makeCase(r, i);
    const type = pick(r, TYPES);
    const size = 1 + Math.floor(r() * 60 * 1024 * 1024);
    const kind = pick(r, ['video', 'audio', 'screen_capture']);
    await configure(c);
    const p = (await client.query('SELECT codesight.presign_upload($1, $2, $3, $4) AS p', [session, kind, type, size])).rows[0].p;
    const ours = new URL(p.url);
    const upload = { ...c, method: 'PUT', key: p.key, expiresIn: 3600, signedAt: signedAt(ours) };
    const what = `upload ${i}: ${JSON.stringify({ type, size, kind, ...c })}`;
    assert.deepEqual(p.headers, { 'Content-Type': type, 'Content-Length': String(size) }, what);
    // The browser sends the headers as given: aws4 signs what it sends.
    assertSameUrl(ours, aws4Url(upload, { headers: p.headers }), what);
    assert.notEqual(ours.searchParams.get('X-Amz-Signature'),
      aws4Url(upload, { headers: { ...p.headers, 'Content-Type': 'text/html' } }).searchParams.get('X-Amz-Signature'), what);

    // The same upload complete: its player URL.
    await client.query("UPDATE codesight.uploads SET status = 'complete' WHERE upload_id = $1", [p.uploadId]);
    const media = (await client.query('SELECT codesight.media_urls($1, $2) AS m', [session, c.expiresIn])).rows[0].m;
    const item = media.uploads.find((u) => u.uploadId === p.uploadId);
    const get = new URL(item.url);
    const ext = p.key.slice(p.key.lastIndexOf('/') + 1).replace(/^[0-9a-f-]+/, '');
    const params = {
      'response-content-disposition': `attachment; filename="${session}-${kind}${ext}"`,
      'response-content-type': type,
    };
    const played = { ...upload, method: 'GET', expiresIn: c.expiresIn, signedAt: signedAt(get) };
    assertSameUrl(get, aws4Url(played, { params }), `media ${what}`);
    await client.query('DELETE FROM codesight.uploads WHERE upload_id = $1', [p.uploadId]);
  }
});

test('a changed input changes the signature', async () => {
  const c = makeCase(rng(7), 0);
  const base = (await presign(c)).searchParams.get('X-Amz-Signature');
  for (const change of [{ key: c.key + 'x' }, { method: c.method === 'GET' ? 'PUT' : 'GET' },
    { expiresIn: c.expiresIn === 1 ? 2 : c.expiresIn - 1 }, { region: 'sa-east-1' },
    { signedAt: new Date(c.signedAt.getTime() + 1000) }, { secretAccessKey: c.secretAccessKey + 'A' }]) {
    const sig = (await presign({ ...c, ...change })).searchParams.get('X-Amz-Signature');
    assert.notEqual(sig, base, JSON.stringify(change));
  }
});
