'use strict';
// The server side of the web page's end-to-end tests: a real worker serving
// the built page (frontend/dist), its S3 settings pointing at a real s3rver
// on loopback, and an admin token.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startCluster } = require('../../lib/cluster');
const { startS3Server } = require('../../lib/s3server');

const ROOT = path.resolve(__dirname, '../../..');
const DIST = path.join(ROOT, 'frontend/dist');
const SHOTS = path.join(ROOT, 'docs/screenshots');

// Starts s3rver and the cluster (conf: more settings); stop() takes both down.
async function startStack({ conf = {} } = {}) {
  assert.ok(fs.existsSync(path.join(DIST, 'index.html')), 'build the page first: cd frontend && npm run build');
  fs.mkdirSync(SHOTS, { recursive: true });
  const s3 = await startS3Server();
  const cluster = await startCluster({
    conf: {
      'codesight.static_dir': `'${DIST}'`,
      'codesight.s3_endpoint': `'${s3.endpoint}'`,
      'codesight.s3_url_style': "'path'",
      'codesight.s3_bucket': `'${s3.bucket}'`,
      'codesight.s3_access_key_id': `'${s3.accessKeyId}'`,
      'codesight.s3_secret_access_key': `'${s3.secretAccessKey}'`,
      ...conf,
    },
  });
  const adminToken = (await cluster.query("SELECT codesight.issue_admin_token('e2e') AS t")).rows[0].t.token;
  return {
    s3,
    cluster,
    adminToken,
    async stop() {
      try { await cluster.destroy(); } finally { await s3.stop(); }
    },
  };
}

module.exports = { startStack, DIST, SHOTS };
