'use strict';
// Tasks, review and health over the real worker's HTTP API, with
// codesight.require_auth = on and a real s3rver: admins define tasks, a
// worker sets a session's task, deletes and restores steps and submits the
// session, an admin scores it and exports the dataset with its filters;
// GET /api/health turns S3 down and up again with the server.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startCluster, waitFor } = require('../lib/cluster');
const { startS3Server } = require('../lib/s3server');
const { connect } = require('../lib/wsclient');
const { api } = require('../lib/http');

let cluster;
let s3;
let U;
let admin;
let ann;
let bob;

function assertError(r, status, code) {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status} ${r.text}`);
  assert.equal(r.json.error.code, code, r.text);
  assert.ok(r.json.error.message.length > 0);
}

async function register(displayName) {
  const r = await api(U, 'POST', '/api/workers', { body: { displayName } });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

// A session of `who` with `n` click events streamed over the WebSocket.
async function sessionWithEvents(who, n) {
  const created = await api(U, 'POST', '/api/sessions', { token: who.token, body: {} });
  assert.equal(created.status, 201, created.text);
  const sessionId = created.json.sessionId;
  const ws = await connect(cluster.wsUrl);
  ws.send({ type: 'hello', token: who.token, protocol: 2 });
  await ws.next('hello_ok');
  ws.send({ type: 'session_start', sessionId, timestamp: Date.now() });
  await ws.next('session_started');
  const t0 = Date.now();
  ws.send({ type: 'events', sessionId, events: Array.from({ length: n }, (_, i) => ({
    seq: i + 1, type: 'click', timestamp: t0 + i * 100,
    data: { url: 'http://shop.test/p', selector: `#b${i + 1}`, element: { tag: 'button', text: `B${i + 1}` } },
  })) });
  await ws.next((m) => m.type === 'ack' && m.seq === n);
  ws.close();
  return sessionId;
}

async function seqs(sessionId) {
  return (await cluster.query('SELECT seq::int FROM codesight.events WHERE session_id = $1 ORDER BY seq', [sessionId]))
    .rows.map((r) => r.seq);
}

test.before(async () => {
  s3 = await startS3Server();
  cluster = await startCluster({
    conf: {
      'codesight.require_auth': "'on'",
      'codesight.open_registration': "'on'",
      'codesight.s3_endpoint': `'${s3.endpoint}'`,
      'codesight.s3_url_style': "'path'",
      'codesight.s3_bucket': `'${s3.bucket}'`,
      'codesight.s3_access_key_id': `'${s3.accessKeyId}'`,
      'codesight.s3_secret_access_key': `'${s3.secretAccessKey}'`,
    },
  });
  U = cluster.httpUrl;
  admin = (await cluster.query("SELECT codesight.issue_admin_token('review') AS t")).rows[0].t.token;
  ann = await register('Ann');
  bob = await register('Bob');
});

test.after(async () => {
  if (cluster) await cluster.destroy();
  if (s3) await s3.stop();
});

test('admins define tasks; workers list the active ones and may not change them', async () => {
  const created = await api(U, 'POST', '/api/admin/tasks', {
    token: admin, body: { instruction: 'Buy trail shoes in size 42', site: 'http://shop.test/', tags: ['shoes'], targetCount: 2 },
  });
  assert.equal(created.status, 200, created.text);
  assert.equal(created.json.instruction, 'Buy trail shoes in size 42');
  assert.deepEqual(created.json.tags, ['shoes']);
  assert.equal(created.json.targetCount, 2);
  const other = (await api(U, 'POST', '/api/admin/tasks', { token: admin, body: { instruction: 'Find the return policy' } })).json;

  assertError(await api(U, 'POST', '/api/admin/tasks', { token: ann.token, body: { instruction: 'x' } }), 403, 'forbidden');
  assertError(await api(U, 'POST', '/api/admin/tasks', { body: { instruction: 'x' } }), 401, 'unauthorized');
  assertError(await api(U, 'POST', '/api/admin/tasks', { token: admin, body: { instruction: ' ' } }), 400, 'bad_request');
  assertError(await api(U, 'POST', '/api/admin/tasks', { token: admin, body: { instruction: 'x', tags: 'a' } }), 400, 'bad_request');
  assertError(await api(U, 'POST', '/api/admin/tasks', { token: admin, body: { instruction: 'x', targetCount: 'many' } }), 400, 'bad_request');
  assertError(await api(U, 'POST', '/api/admin/tasks/999999', { token: admin, body: { active: false } }), 404, 'not_found');
  assertError(await api(U, 'POST', '/api/admin/tasks/abc', { token: admin, body: { active: false } }), 400, 'bad_request');

  const archived = await api(U, 'POST', `/api/admin/tasks/${other.taskId}`, { token: admin, body: { active: false } });
  assert.equal(archived.status, 200, archived.text);
  assert.equal(archived.json.active, false);
  const mine = await api(U, 'GET', '/api/tasks', { token: ann.token });
  assert.equal(mine.status, 200, mine.text);
  assert.deepEqual(mine.json.tasks.map((t) => t.instruction), ['Buy trail shoes in size 42']);
  assert.equal(mine.json.allowCustom, true);
  const all = await api(U, 'GET', '/api/admin/tasks', { token: admin });
  assert.deepEqual(all.json.tasks.map((t) => t.instruction), ['Buy trail shoes in size 42', 'Find the return policy']);
  assertError(await api(U, 'GET', '/api/admin/tasks', { token: ann.token }), 403, 'forbidden');
  assertError(await api(U, 'GET', '/api/tasks'), 401, 'unauthorized');
});

test('a worker sets the task of a session the extension started, then deletes, restores and submits', async () => {
  const task = (await api(U, 'GET', '/api/tasks', { token: ann.token })).json.tasks[0];
  const sessionId = await sessionWithEvents(ann, 4);

  const set = await api(U, 'POST', `/api/sessions/${sessionId}/task`, { token: ann.token, body: { taskId: task.taskId } });
  assert.equal(set.status, 200, set.text);
  assert.equal(set.json.task, task.instruction);
  assertError(await api(U, 'POST', `/api/sessions/${sessionId}/task`, { token: bob.token, body: { taskId: task.taskId } }), 403, 'forbidden');
  assertError(await api(U, 'POST', '/api/sessions/nope/task', { token: ann.token, body: { taskId: task.taskId } }), 404, 'not_found');
  // Writing one's own task follows the admin's option.
  assert.equal((await api(U, 'POST', '/api/admin/task-options', { token: admin, body: { allowCustom: false } })).json.allowCustom, false);
  assertError(await api(U, 'POST', `/api/sessions/${sessionId}/task`, { token: ann.token, body: { task: 'Browse around' } }), 403, 'forbidden');
  assert.equal((await api(U, 'POST', '/api/admin/task-options', { token: admin, body: { allowCustom: true } })).json.allowCustom, true);
  assertError(await api(U, 'POST', '/api/admin/task-options', { token: ann.token, body: { allowCustom: true } }), 403, 'forbidden');

  // Delete two steps, undo one.
  const del = await api(U, 'POST', `/api/sessions/${sessionId}/events/delete`, { token: ann.token, body: { seqs: [2, 3] } });
  assert.deepEqual(del.json, { deleted: 2 });
  assert.deepEqual(await seqs(sessionId), [1, 4]);
  assertError(await api(U, 'POST', `/api/sessions/${sessionId}/events/restore`, { token: bob.token, body: { seqs: [2] } }), 403, 'forbidden');
  assertError(await api(U, 'POST', `/api/sessions/${sessionId}/events/restore`, { token: ann.token, body: {} }), 400, 'bad_request');
  const restored = await api(U, 'POST', `/api/sessions/${sessionId}/events/restore`, { token: ann.token, body: { seqs: [2] } });
  assert.deepEqual(restored.json, { restored: 1 });
  assert.deepEqual(await seqs(sessionId), [1, 2, 4]);

  // Submit: not while the session records; then it sticks.
  assertError(await api(U, 'POST', `/api/sessions/${sessionId}/submit`, { token: ann.token, body: { confirmedTask: 'x' } }), 409, 'conflict');
  assert.equal((await api(U, 'POST', `/api/sessions/${sessionId}/stop`, { token: ann.token })).status, 200);
  assertError(await api(U, 'POST', `/api/sessions/${sessionId}/submit`, { token: ann.token, body: {} }), 400, 'bad_request');
  const submitted = await api(U, 'POST', `/api/sessions/${sessionId}/submit`,
    { token: ann.token, body: { confirmedTask: 'Bought trail shoes in size 43' } });
  assert.equal(submitted.status, 200, submitted.text);
  assert.equal(submitted.json.confirmedTask, 'Bought trail shoes in size 43');
  assert.match(submitted.json.submittedAt, /Z$/);
  assert.equal((await cluster.query('SELECT count(*)::int AS n FROM codesight.deleted_events WHERE session_id = $1', [sessionId])).rows[0].n, 0,
    'the submit purged the deleted step');
  assertError(await api(U, 'POST', `/api/sessions/${sessionId}/events/delete`, { token: ann.token, body: { seqs: [1] } }), 409, 'conflict');
  assertError(await api(U, 'POST', `/api/sessions/${sessionId}/events/restore`, { token: ann.token, body: { seqs: [3] } }), 409, 'conflict');

  // An admin scores it; a worker may not.
  assertError(await api(U, 'POST', `/api/admin/sessions/${sessionId}/score`, { token: ann.token, body: { score: 5 } }), 403, 'forbidden');
  assertError(await api(U, 'POST', `/api/admin/sessions/${sessionId}/score`, { token: admin, body: { score: 9 } }), 400, 'bad_request');
  const scored = await api(U, 'POST', `/api/admin/sessions/${sessionId}/score`, { token: admin, body: { score: 4, note: 'good' } });
  assert.equal(scored.status, 200, scored.text);
  assert.equal(scored.json.score, 4);
  const summary = await api(U, 'GET', `/api/extension/sessions/${sessionId}/summary`, { token: ann.token });
  assert.equal(summary.json.task, task.instruction);
  assert.equal(summary.json.confirmedTask, 'Bought trail shoes in size 43');
  assert.equal(summary.json.score, 4);
  const listed = await api(U, 'GET', '/api/sessions?status=submitted', { token: ann.token });
  assert.deepEqual(listed.json.sessions.map((s) => s.sessionId), [sessionId]);

  // The dataset export by status, task and score carries the task on every line.
  const other = await sessionWithEvents(bob, 2);
  assert.equal((await api(U, 'POST', `/api/sessions/${other}/stop`, { token: bob.token })).status, 200);
  const lines = async (query) => {
    const r = await api(U, 'GET', `/api/export/dataset.jsonl?${query}`, { token: admin });
    assert.equal(r.status, 200, r.text);
    return r.text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  };
  const byTask = await lines(`status=submitted&task=${task.taskId}&minScore=4`);
  assert.deepEqual([...new Set(byTask.map((l) => l.session_id))], [sessionId]);
  assert.deepEqual(byTask.map((l) => l.action.op), ['NAVIGATE', 'CLICK', 'CLICK', 'CLICK'], 'the clicks left after the deletion');
  for (const l of byTask) {
    assert.equal(l.task_id, task.taskId);
    assert.equal(l.task, task.instruction);
    assert.equal(l.confirmed_task, 'Bought trail shoes in size 43');
  }
  assert.deepEqual(await lines('status=submitted&minScore=5'), []);
  assert.deepEqual([...new Set((await lines('status=any')).map((l) => l.session_id))].sort(), [sessionId, other].sort());
  const tomorrow = new Date(Date.now() + 86400000).toISOString();
  assert.deepEqual(await lines(`status=any&since=${encodeURIComponent(tomorrow)}`), []);
  assert.equal((await lines(`status=any&until=${encodeURIComponent(tomorrow)}`)).length, 4 + 3);
  assertError(await api(U, 'GET', '/api/export/dataset.jsonl?status=done', { token: admin }), 400, 'bad_request');
  assertError(await api(U, 'GET', '/api/export/dataset.jsonl?task=x', { token: admin }), 400, 'bad_request');
  assertError(await api(U, 'GET', '/api/export/dataset.jsonl?minScore=6', { token: admin }), 400, 'bad_request');
  assertError(await api(U, 'GET', '/api/export/dataset.jsonl?until=never', { token: admin }), 400, 'bad_request');

  // training_data and the Playwright script name the task too.
  const td = await api(U, 'GET', `/api/extension/sessions/${sessionId}/training-data`, { token: ann.token });
  assert.equal(td.json.task, task.instruction);
  assert.equal(td.json.confirmed_task, 'Bought trail shoes in size 43');
  const script = await api(U, 'GET', `/api/extension/sessions/${sessionId}/playwright`, { token: ann.token });
  assert.match(script.text, /^\/\/ Task: Buy trail shoes in size 42$/m);
  assert.match(script.text, /^\/\/ Confirmed task: Bought trail shoes in size 43$/m);
});

test('GET /api/health reports each check, and S3 goes down and comes back with its server', async () => {
  const s3Check = async () => {
    const r = await api(U, 'GET', '/api/health');
    assert.equal(r.status, 200, r.text);
    return { doc: r.json, s3: r.json.checks.find((c) => c.name === 's3') };
  };
  const { doc, s3: up } = await s3Check();
  assert.deepEqual(doc.checks.map((c) => c.name), ['postgres', 'worker', 's3', 'extensions']);
  assert.deepEqual(doc.checks.map((c) => c.status), ['ok', 'ok', 'ok', 'ok']);
  assert.equal(doc.status, 'ok');
  assert.match(up.message, new RegExp(`^bucket "${s3.bucket}" answers in \\d+ ms$`));
  assert.equal(up.details.httpStatus, 404, 'the probe key does not exist');
  assert.equal(doc.worker.listening, true);

  const port = s3.port;
  await s3.stop({ keepFiles: true });
  const down = await waitFor(async () => {
    const r = await s3Check();
    return r.s3.status === 'down' ? r : null;
  }, { timeoutMs: 20000, what: 'S3 reported down' });
  assert.equal(down.doc.status, 'degraded');
  assert.match(down.s3.message, /^unreachable: /);

  s3 = await startS3Server({ port });
  const back = await waitFor(async () => {
    const r = await s3Check();
    return r.s3.status === 'ok' ? r : null;
  }, { timeoutMs: 20000, what: 'S3 reported up again' });
  assert.equal(back.doc.status, 'ok');
});
