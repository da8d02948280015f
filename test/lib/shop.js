'use strict';
// Serves the fixture shop (test/fixtures/shop) on a free loopback port.
// Each call is a fresh origin, and therefore fresh localStorage in any
// browser profile that visits it.

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', 'fixtures', 'shop');
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

// Starts the server; resolves to {url, origin, port, close}.  `url` ends
// with a slash so `new URL('cart.html', url)` works.  `transform(text)`
// rewrites the HTML and JavaScript files it serves.
function serveShop({ root = ROOT, host = '127.0.0.1', port = 0, transform = null } = {}) {
  const server = http.createServer((req, res) => {
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      res.writeHead(400).end('bad request');
      return;
    }
    if (pathname.endsWith('/')) pathname += 'index.html';
    const file = path.join(root, path.normalize(pathname));
    // path.normalize keeps "..", so refuse anything that left the root.
    if (!file.startsWith(root + path.sep)) {
      res.writeHead(403).end('forbidden');
      return;
    }
    fs.readFile(file, (err, body) => {
      if (err) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
        return;
      }
      const type = TYPES[path.extname(file)] || 'application/octet-stream';
      if (transform && /^text\/(?:html|javascript)/.test(type)) body = Buffer.from(transform(body.toString('utf8')));
      res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const actual = server.address().port;
      const origin = `http://${host}:${actual}`;
      resolve({
        url: origin + '/',
        origin,
        port: actual,
        server,
        close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
      });
    });
  });
}

module.exports = { serveShop, SHOP_ROOT: ROOT };
