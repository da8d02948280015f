'use strict';
// TLS: with codesight.tls_cert_file/tls_key_file the worker serves wss:// and
// https:// on its port, and a plain ws:// client is refused.

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const https = require('node:https');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const WebSocket = require('ws');
const { Cluster, waitFor, canConnect } = require('../lib/cluster');

let cluster;
let ca;

before(async () => {
  cluster = new Cluster({});
  const cert = path.join(cluster.dir, 'server.crt');
  const key = path.join(cluster.dir, 'server.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  if (process.getuid() === 0) execFileSync('chown', ['postgres:postgres', cert, key]);
  fs.chmodSync(key, 0o600);
  ca = fs.readFileSync(cert);
  cluster.opts.conf = { 'codesight.tls_cert_file': `'${cert}'`, 'codesight.tls_key_file': `'${key}'` };
  await cluster.init();
  cluster.start();
  await cluster.createExtension();
});

after(async () => { if (cluster) await cluster.destroy(); });

test('https:// GET /health works with the certificate as CA', async () => {
  const body = await new Promise((resolve, reject) => {
    https.get(`https://127.0.0.1:${cluster.port}/health`, { ca }, (res) => {
      let b = '';
      res.on('data', (d) => { b += d; });
      res.on('end', () => resolve({ status: res.statusCode, b }));
    }).on('error', reject);
  });
  assert.strictEqual(body.status, 200);
  assert.deepStrictEqual(JSON.parse(body.b), { status: 'ok' });
  assert.ok(/listening on .* with TLS/.test(cluster.log()));
});

test('wss:// streams a session and gets acks', async () => {
  const ws = new WebSocket(`wss://127.0.0.1:${cluster.port}/extension-ws`, { ca });
  const msgs = [];
  const sid = `tls_${Date.now().toString(36)}`;
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ack; got ${JSON.stringify(msgs)}`)), 10000);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'session_start', sessionId: sid, timestamp: Date.now() })));
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      msgs.push(m);
      if (m.type === 'session_started') ws.send(JSON.stringify({ type: 'events', sessionId: sid, events: [{ seq: 1, type: 'click', timestamp: Date.now(), data: { selector: '#a' } }] }));
      if (m.type === 'ack') { clearTimeout(t); resolve(); }
    });
    ws.on('error', reject);
  });
  ws.close();
  const q = await cluster.query('SELECT count(*)::int AS n FROM codesight.events WHERE session_id = $1', [sid]);
  assert.strictEqual(q.rows[0].n, 1);
});

test('an untrusted certificate is rejected by a verifying client, accepted with rejectUnauthorized:false', async () => {
  await assert.rejects(new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${cluster.port}/extension-ws`);
    ws.on('open', () => { ws.close(); resolve(); });
    ws.on('error', reject);
  }));
  await new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${cluster.port}/extension-ws`, { rejectUnauthorized: false });
    ws.on('open', () => { ws.close(); resolve(); });
    ws.on('error', reject);
  });
});

test('plain ws:// is refused on the TLS port', async () => {
  const outcome = await new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${cluster.port}/extension-ws`, { handshakeTimeout: 5000 });
    ws.on('open', () => { ws.terminate(); resolve('open'); });
    ws.on('error', (e) => resolve(`error: ${e.message}`));
    ws.on('unexpected-response', (req, res) => resolve(`http ${res.statusCode}`));
  });
  assert.notStrictEqual(outcome, 'open');
  console.log(`# plain ws:// on the TLS port: ${outcome}`);
  // The worker still serves TLS clients afterwards.
  const st = await new Promise((resolve, reject) => {
    https.get(`https://127.0.0.1:${cluster.port}/health`, { ca }, (res) => { res.resume(); resolve(res.statusCode); }).on('error', reject);
  });
  assert.strictEqual(st, 200);
});
