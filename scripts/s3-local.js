'use strict';
// Runs a local S3-compatible server (npm s3rver) for `make run`, with the
// bucket and CORS rules the web page needs, until it is killed.  Data lives
// under .run/s3 so recordings survive restarts.

const path = require('node:path');
const S3rver = require(path.join(__dirname, '..', 'test', 'node_modules', 's3rver'));
const { corsXml } = require(path.join(__dirname, '..', 'test', 'lib', 's3server.js'));

const [dir, port, bucket] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  silent: true,
  directory: dir,
  configureBuckets: [{ name: bucket, configs: [corsXml(['*'])] }],
});
server.run().then((addr) => {
  console.log(`s3rver listening on http://127.0.0.1:${addr.port}, bucket ${bucket}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
