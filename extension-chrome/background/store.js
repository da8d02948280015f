// IndexedDB persistence for the outbox. Three object stores:
//   sessions  session meta (next seq, acked seq, stop state), key sessionId
//   outbox    events not yet acknowledged, key [sessionId, seq]
//   events    every event of a session, for the JSON download, key [sessionId, seq]
// An event and the meta holding its seq are written in one transaction, so
// a service worker stopped at any point never reuses a seq.

const DB_NAME = 'codesight';
const DB_VERSION = 1;

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error('transaction aborted'));
  });
}

function open() {
  const req = indexedDB.open(DB_NAME, DB_VERSION);
  req.onupgradeneeded = () => {
    const db = req.result;
    db.createObjectStore('sessions', { keyPath: 'sessionId' });
    db.createObjectStore('outbox', { keyPath: ['sessionId', 'seq'] });
    db.createObjectStore('events', { keyPath: ['sessionId', 'seq'] });
  };
  return request(req);
}

function range(sessionId, afterSeq, throughSeq = Number.MAX_SAFE_INTEGER) {
  return IDBKeyRange.bound([sessionId, afterSeq], [sessionId, throughSeq], true, false);
}

export class IdbStore {
  constructor() { this.db = open(); }

  async append(meta, event) {
    const db = await this.db;
    const tx = db.transaction(['sessions', 'outbox', 'events'], 'readwrite');
    const row = { sessionId: meta.sessionId, ...event };
    tx.objectStore('outbox').put(row);
    tx.objectStore('events').put(row);
    tx.objectStore('sessions').put(meta);
    await done(tx);
  }

  // Up to limit unacknowledged events of a session after afterSeq, in seq order.
  pending(sessionId, afterSeq, limit) { return this.page('outbox', sessionId, afterSeq, limit); }

  // Up to limit events of a session after afterSeq, in seq order (the download).
  eventsPage(sessionId, afterSeq, limit) { return this.page('events', sessionId, afterSeq, limit); }

  async page(storeName, sessionId, afterSeq, limit) {
    const db = await this.db;
    const rows = await request(db.transaction(storeName).objectStore(storeName).getAll(range(sessionId, afterSeq), limit));
    return rows.map(({ sessionId: _, ...event }) => event);
  }

  async ackThrough(meta, seq) {
    const db = await this.db;
    const tx = db.transaction(['sessions', 'outbox'], 'readwrite');
    tx.objectStore('outbox').delete(range(meta.sessionId, 0, seq));
    tx.objectStore('sessions').put(meta);
    await done(tx);
  }

  async putMeta(meta) {
    const db = await this.db;
    const tx = db.transaction('sessions', 'readwrite');
    tx.objectStore('sessions').put(meta);
    await done(tx);
  }

  async allMeta() {
    const db = await this.db;
    return request(db.transaction('sessions').objectStore('sessions').getAll());
  }



  // Forgets a finished session's copy kept for the download.
  async forget(sessionId) {
    const db = await this.db;
    const tx = db.transaction(['sessions', 'events'], 'readwrite');
    tx.objectStore('events').delete(range(sessionId, 0));
    tx.objectStore('sessions').delete(sessionId);
    await done(tx);
  }
}
