'use strict';
// Without shared_preload_libraries the SQL functions still work, and
// CREATE EXTENSION warns, with a hint, that no worker is running.

const test = require('node:test');
const assert = require('node:assert/strict');
const pg = require('pg');
const { startCluster, canConnect } = require('../lib/cluster');

test('CREATE EXTENSION without preloading: a WARNING with a hint, working SQL, no worker', async () => {
  const cluster = await startCluster({ createExtension: false, conf: { shared_preload_libraries: "''" } });
  const client = new pg.Client(cluster.connectionConfig());
  const notices = [];
  client.on('notice', (n) => notices.push(n));
  try {
    await client.connect();
    await client.query('CREATE EXTENSION codesight');
    const warning = notices.find((n) => n.severity === 'WARNING' && n.message === 'the codesight worker is not running');
    assert.ok(warning, `a warning among ${JSON.stringify(notices.map((n) => n.message))}`);
    assert.equal(warning.message, 'the codesight worker is not running');
    assert.match(warning.hint, /shared_preload_libraries/);
    const h = (await client.query('SELECT codesight.health() AS h')).rows[0].h;
    assert.equal(h.status, 'degraded');
    assert.equal(h.worker.preloaded, false);
    assert.equal(h.worker.running, false);
    const masked = (await client.query("SELECT codesight.mask_text('mail ann@example.com') AS m")).rows[0].m;
    assert.equal(masked, 'mail <EMAIL>');
    const w = (await client.query("SELECT codesight.register_worker('Ann') AS w")).rows[0].w;
    assert.match(w.token, /^cs_w_/);
    assert.equal(await canConnect(cluster.port), false);
  } finally {
    await client.end().catch(() => {});
    await cluster.destroy();
  }
});
