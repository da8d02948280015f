'use strict';
// An IPv4 address of this machine that the server does not count as
// loopback, for tests of what a client on another host may do (the server
// listening on 0.0.0.0, require_auth = auto, /metrics from outside).
//
// As root (CI runs as root) the test adds one for itself: an address from
// TEST-NET-2 (198.51.100.0/24, RFC 5737: documentation only, never routed)
// on the loopback interface, with iproute2.  Traffic to it never leaves the
// machine, yet the server sees a peer that is not 127.x.  `ip addr add`
// fails on an address that is already there, so concurrent test runs each
// take a free one.  Otherwise it is the machine's own non-loopback address,
// or null when there is none.

const { spawnSync } = require('node:child_process');
const os = require('node:os');

const IS_ROOT = process.getuid && process.getuid() === 0;

// The machine's first non-loopback IPv4 address, or null.
function machineAddress() {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list || []) {
      if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  }
  return null;
}

// Adds a free TEST-NET-2 address to lo; returns it, or null if iproute2 is
// missing or the process may not change interfaces.
function addTestAddress() {
  const start = process.pid % 250;
  for (let k = 0; k < 250; k++) {
    const address = `198.51.100.${1 + ((start + k) % 250)}`;
    const r = spawnSync('ip', ['addr', 'add', `${address}/32`, 'dev', 'lo'], { encoding: 'utf8' });
    if (r.status === 0) return address;
    if (r.error || !/File exists/.test(r.stderr || '')) return null;
  }
  return null;
}

// An outside address for the test t, removed when t ends; null if none.
function outsideAddress(t) {
  if (IS_ROOT) {
    const address = addTestAddress();
    if (address) {
      const remove = () => spawnSync('ip', ['addr', 'del', `${address}/32`, 'dev', 'lo']);
      process.once('exit', remove);
      t.after(() => { remove(); process.off('exit', remove); });
      return address;
    }
  }
  return machineAddress();
}

module.exports = { outsideAddress };
