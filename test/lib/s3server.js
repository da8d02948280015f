'use strict';
// A real S3-compatible server (npm s3rver) on loopback for tests: one bucket
// with the CORS rules browsers need for direct uploads.  s3rver accepts the
// fixed credentials S3RVER/S3RVER and does not check signatures, so signature
// correctness is tested elsewhere (s3-sigv4.test.js, sql/s3_presign.sql).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const S3rver = require('s3rver');

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

// Starts s3rver with `bucket`; resolves to {endpoint, bucket, port, dir,
// accessKeyId, secretAccessKey, stop()}.
async function startS3Server({ bucket = 'codesight-test', port = 0, corsOrigins = ['*'] } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'codesight-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket, configs: [corsXml(corsOrigins)] }],
  });
  const addr = await server.run();
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    bucket,
    port: addr.port,
    dir,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
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
