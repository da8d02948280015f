'use strict';
// Starts a throwaway PostgreSQL 15 cluster with the codesight worker, for
// integration tests.  initdb and postgres refuse to run as root, so when the
// tests run as root (CI does) every server command goes through
// `runuser -u postgres`.

const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const pg = require('pg');

const PG_BIN = process.env.PG_BIN || '/usr/lib/postgresql/15/bin';
const IS_ROOT = process.getuid && process.getuid() === 0;

// Runs a PostgreSQL program as the postgres user when we are root.
function pgExec(prog, args, opts = {}) {
  const bin = path.join(PG_BIN, prog);
  const [cmd, argv] = IS_ROOT ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  return execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...opts }).toString();
}

// Asks the kernel for a TCP port that is free right now.
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Polls fn until it returns a truthy value or the deadline passes.
async function waitFor(fn, { timeoutMs = 15000, intervalMs = 25, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}` + (lastErr ? `: ${lastErr.message}` : ''));
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// True when something accepts TCP connections on host:port.
function canConnect(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

class Cluster {
  constructor(opts = {}) {
    this.opts = opts;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'codesight-pg-'));
    this.datadir = path.join(this.dir, 'data');
    this.sockdir = this.dir;
    this.pools = [];
    this.killedPids = new Set();
    this.restartsExpected = false;
  }

  // Creates the data directory and writes the configuration.
  async init() {
    if (IS_ROOT) execFileSync('chown', ['postgres:postgres', this.dir]);
    fs.chmodSync(this.dir, 0o755);
    pgExec('initdb', ['-D', this.datadir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
    this.pgPort = await freePort();
    this.port = this.opts.port || await freePort();
    const conf = {
      listen_addresses: "''",
      port: this.pgPort,
      unix_socket_directories: `'${this.sockdir}'`,
      shared_preload_libraries: "'codesight'",
      'codesight.port': this.port,
      'codesight.database': "'postgres'",
      fsync: this.opts.fsync === false ? 'off' : 'on',
      log_line_prefix: "'%m [%p] %b '",
      logging_collector: 'off',
      ...(this.opts.conf || {}),
    };
    const lines = Object.entries(conf).map(([k, v]) => `${k} = ${v}`).join('\n');
    fs.appendFileSync(path.join(this.datadir, 'postgresql.conf'), `\n${lines}\n`);
    this.logfile = path.join(this.dir, 'server.log');
    return this;
  }

  // Starts the server and waits until it accepts connections.
  start() {
    pgExec('pg_ctl', ['-D', this.datadir, '-l', this.logfile, '-w', '-t', '60', 'start']);
    running.add(this);
  }

  // Stops the server: mode is smart, fast or immediate.
  stop(mode = 'fast') {
    this.restartsExpected = true;
    for (const p of this.pools) p.end().catch(() => {});
    this.pools = [];
    this._pool = null;
    pgExec('pg_ctl', ['-D', this.datadir, '-w', '-t', '60', '-m', mode, 'stop']);
  }

  restart(mode = 'fast') {
    this.stop(mode);
    this.start();
  }

  // Reloads the configuration (SIGHUP), after optionally appending settings.
  reload(settings = {}) {
    const lines = Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join('\n');
    if (lines) fs.appendFileSync(path.join(this.datadir, 'postgresql.conf'), `\n${lines}\n`);
    pgExec('pg_ctl', ['-D', this.datadir, 'reload']);
  }

  connectionConfig(database = 'postgres', user = 'postgres') {
    return { host: this.sockdir, port: this.pgPort, database, user };
  }

  // A shared pg.Pool to the cluster.
  get pool() {
    if (!this._pool) {
      this._pool = new pg.Pool({ ...this.connectionConfig(), max: 4 });
      this._pool.on('error', () => {});
      this.pools.push(this._pool);
    }
    return this._pool;
  }

  async query(sql, params) {
    return this.pool.query(sql, params);
  }

  // Runs CREATE EXTENSION and waits until the worker listens.
  async createExtension() {
    await this.query('CREATE EXTENSION IF NOT EXISTS codesight');
    await this.waitListening();
    if (!this.pidsAtStart) await this.notePids();
  }

  async waitListening(timeoutMs = 20000) {
    await waitFor(() => canConnect(this.port), { timeoutMs, what: `worker listening on ${this.port}` });
  }

  // The process id of the codesight network process (the worker that owns
  // the port and starts the ingest and HTTP workers), or null.
  async workerPid() {
    const r = await this.query("SELECT pid FROM pg_stat_activity WHERE backend_type = 'codesight network'");
    return r.rows.length ? r.rows[0].pid : null;
  }

  log() {
    try { return fs.readFileSync(this.logfile, 'utf8'); } catch { return ''; }
  }

  get wsUrl() { return `ws://127.0.0.1:${this.port}/extension-ws`; }
  get httpUrl() { return `http://127.0.0.1:${this.port}`; }

  // Declares that the test itself kills or restarts codesight processes
  // (pids are then expected to change) and which pids it killed on purpose
  // (their "terminated by signal" lines are not crashes).
  expectRestarts() { this.restartsExpected = true; }
  expectKilled(pid) { this.restartsExpected = true; this.killedPids.add(Number(pid)); }

  // The pids of the codesight processes, by backend type and name.
  async codesightPids() {
    const r = await this.query("SELECT pid, backend_type FROM pg_stat_activity WHERE backend_type LIKE 'codesight%' ORDER BY 2, 1");
    return r.rows.map((x) => `${x.backend_type}:${x.pid}`);
  }

  // Remembers which codesight processes run now; destroy() fails the test
  // if any of them was replaced (a crash the postmaster quietly repaired).
  async notePids() {
    this.pidsAtStart = await this.codesightPids();
  }

  // Lines of the server log that show a crashed server process, leaving
  // out the processes the test killed on purpose.
  crashLines(text = this.log()) {
    return text.split('\n').filter((l) => /terminated by signal|terminated by exception|PANIC/.test(l))
      .filter((l) => {
        const m = l.match(/\(PID (\d+)\) was terminated by signal/);
        return !(m && this.killedPids.has(Number(m[1])));
      });
  }

  // Stops the server (fast shutdown: the worker's own shutdown path runs),
  // removes its files, and throws if the log shows a crashed process or a
  // codesight process was replaced during the test; the log is then kept
  // under test/out/.
  async destroy() {
    running.delete(this);
    const problems = [];
    if (this.pidsAtStart && !this.restartsExpected) {
      try {
        const now = await this.codesightPids();
        if (now.join(' ') !== this.pidsAtStart.join(' ')) {
          problems.push(`codesight processes changed during the test: ${this.pidsAtStart.join(' ')} -> ${now.join(' ')}`);
        }
      } catch { /* the server is not running: the log tells */ }
    }
    try { this.stop('fast'); } catch { /* already stopped */ }
    try { this.stop('immediate'); } catch { /* stopped */ }
    const crashes = this.crashLines();
    if (crashes.length) problems.push(`the server log shows a crashed process:\n${crashes.slice(0, 10).join('\n')}`);
    let kept = '';
    if (problems.length) {
      const out = path.join(__dirname, '..', 'out', 'crashed-logs');
      fs.mkdirSync(out, { recursive: true });
      kept = path.join(out, `${path.basename(this.dir)}.log`);
      try { fs.copyFileSync(this.logfile, kept); } catch { kept = '(no log)'; }
    }
    if (!process.env.KEEP_CLUSTER) fs.rmSync(this.dir, { recursive: true, force: true });
    if (problems.length) throw new Error(`${problems.join('\n')}\n(server log kept in ${kept})`);
  }
}

// Under `node --test`, every test ends with a look at the logs of the
// clusters that are up: a process that crashed during a test fails that
// test, not only the file's destroy() at the end (an answer can be whole
// and correct, and the worker crash just after sending it).
const running = new Set();
if (process.env.NODE_TEST_CONTEXT) {
  require('node:test').afterEach(() => {
    for (const c of running) {
      const log = c.log();
      const fresh = log.slice(c.crashCheckedTo || 0);
      c.crashCheckedTo = log.length;
      const crashes = c.crashLines(fresh);
      if (crashes.length) throw new Error(`a server process crashed during this test:\n${crashes.slice(0, 10).join('\n')}`);
    }
  });
}

// Creates, starts and prepares a cluster with the extension installed.
async function startCluster(opts = {}) {
  const c = new Cluster(opts);
  await c.init();
  c.start();
  if (opts.createExtension !== false) await c.createExtension();
  return c;
}

// Sends SIGKILL to a process (the worker), as root or as postgres.
function kill9(pid) {
  spawnSync('kill', ['-9', String(pid)]);
}

module.exports = { Cluster, startCluster, waitFor, freePort, canConnect, pgExec, kill9 };
