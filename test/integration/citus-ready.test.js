'use strict';
// Citus readiness (docs/scaling.md): the session-scoped tables can be
// distributed by session_id only if every unique constraint includes it.
// Asserted from the catalog, so a new table or key that breaks the rule
// fails here rather than on the day the schema is distributed.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startCluster } = require('../lib/cluster');

let cluster;

test.before(async () => {
  cluster = await startCluster();
});

test.after(async () => { if (cluster) await cluster.destroy(); });

// Tables of schema codesight with a session_id column, with their primary
// key columns and every other unique index's columns.
async function sessionTables() {
  const r = await cluster.query(`
    SELECT c.relname AS table,
           (SELECT array_agg(a.attname::text ORDER BY a.attname)
              FROM pg_constraint k
              JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)
             WHERE k.conrelid = c.oid AND k.contype = 'p') AS pk,
           (SELECT coalesce(json_agg(json_build_object('index', i.indexrelid::regclass::text,
                      'has_session_id', EXISTS (SELECT FROM pg_attribute a
                                                 WHERE a.attrelid = c.oid AND a.attname = 'session_id'
                                                   AND a.attnum = ANY (i.indkey::int2[])))), '[]')
              FROM pg_index i
             WHERE i.indrelid = c.oid AND i.indisunique AND NOT i.indisprimary) AS other_unique
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'codesight' AND c.relkind IN ('r', 'p')
       AND EXISTS (SELECT FROM pg_attribute a
                    WHERE a.attrelid = c.oid AND a.attname = 'session_id' AND NOT a.attisdropped)
     ORDER BY 1`);
  return r.rows;
}

test('every codesight table with a session_id column has session_id in its primary key', async () => {
  const tables = await sessionTables();
  const names = tables.map((t) => t.table);
  // The tables the ingest path and the exports distribute by session.
  for (const must of ['events', 'sessions']) assert.ok(names.includes(must), `codesight.${must} has a session_id column`);
  for (const t of tables) {
    assert.ok(t.pk, `codesight.${t.table} has a primary key`);
    assert.ok(t.pk.includes('session_id'), `codesight.${t.table} primary key (${t.pk.join(', ')}) includes session_id`);
  }
});

test('unique indexes of session-scoped tables are listed (each must include session_id or be planned as a reference lookup)', async () => {
  // Citus enforces a unique index on a distributed table only if it contains
  // the distribution column. uploads_upload_id_idx (upload_id, a random UUID)
  // is the one known exception: docs/scaling.md drops it for distribution.
  const known = new Set(['codesight.uploads_upload_id_idx']);
  for (const t of await sessionTables()) {
    for (const u of t.other_unique) {
      assert.ok(u.has_session_id || known.has(u.index),
        `${u.index} on codesight.${t.table} is unique without session_id: Citus can not enforce it across shards (docs/scaling.md)`);
    }
  }
});

test('tables without session_id are small reference tables (workers, tokens, tasks, task_options)', async () => {
  const r = await cluster.query(`
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'codesight' AND c.relkind = 'r'
       AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'session_id' AND NOT a.attisdropped)
     ORDER BY 1`);
  const names = r.rows.map((x) => x.relname);
  for (const n of names) {
    assert.ok(['workers', 'tokens', 'tasks', 'task_options'].includes(n) || n.startsWith('_'),
      `codesight.${n} has no session_id: decide in docs/scaling.md whether it is a reference table`);
  }
});
