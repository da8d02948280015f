// The per-session outbox: assigns seqs, keeps every event in a persistent
// store until an ack covers it, and hands out batches to (re)send. Pure: the
// store is injected (IndexedDB in the extension, memory in the tests).
//
// store: append(meta, event), pending(sessionId, afterSeq, limit),
//        ackThrough(meta, seq), putMeta(meta)

export const BATCH_MAX = 50;
export const BATCH_DELAY_MS = 100;
// Event ids remembered per session: a content script retries an event for
// a few seconds at most, far fewer events than this apart.
export const RECENT_EVENT_IDS = 256;

export function newSessionMeta(sessionId, startTime) {
  return { sessionId, startTime, endTime: null, nextSeq: 1, ackedSeq: 0, sentSeq: 0, stopped: false, closed: false, recentEventIds: [] };
}

export class Outbox {
  constructor(store, meta) {
    this.store = store;
    this.meta = meta;
    // The highest seq handed out on the current connection; null until the
    // server answered session_start on it.
    this.cursor = null;
  }

  get sessionId() { return this.meta.sessionId; }

  // Assigns the next seq and persists the event; the seq is taken before
  // the first await so concurrent calls keep their call order. An event
  // whose data.eventId was seen already (a retried delivery whose first
  // try did arrive) is dropped: null. The ids are kept in the meta, written
  // with each event, so a restarted service worker knows them too.
  async add(event) {
    const id = event.data && event.data.eventId;
    if (id) {
      const recent = this.meta.recentEventIds || (this.meta.recentEventIds = []);
      if (recent.includes(id)) return null;
      recent.push(id);
      if (recent.length > RECENT_EVENT_IDS) recent.shift();
    }
    const stored = { seq: this.meta.nextSeq, ...event };
    this.meta.nextSeq += 1;
    await this.store.append({ ...this.meta }, stored);
    return stored;
  }

  // The server stores everything through lastSeq: resend what follows.
  async started(lastSeq) {
    this.cursor = lastSeq;
    await this.ack(lastSeq);
  }

  disconnected() { this.cursor = null; }

  // The next events to send on this connection, oldest first.
  async nextBatch() {
    if (this.cursor === null) return [];
    const cursor = this.cursor;
    const events = await this.store.pending(this.sessionId, cursor, BATCH_MAX);
    // A reconnect while the store was read starts over from session_started.
    if (this.cursor !== cursor || !events.length) return [];
    this.cursor = events[events.length - 1].seq;
    this.meta.sentSeq = Math.max(this.meta.sentSeq, this.cursor);
    return events;
  }

  // An ack covers seq and everything before it.
  async ack(seq) {
    const through = Math.min(seq, this.meta.nextSeq - 1);
    if (through <= this.meta.ackedSeq) return false;
    this.meta.ackedSeq = through;
    this.meta.sentSeq = Math.max(this.meta.sentSeq, through);
    await this.store.ackThrough({ ...this.meta }, through);
    return true;
  }

  // Every captured event is acknowledged.
  get settled() { return this.meta.ackedSeq === this.meta.nextSeq - 1; }

  get counters() {
    const captured = this.meta.nextSeq - 1;
    return { captured, sent: this.meta.sentSeq, acknowledged: this.meta.ackedSeq, queued: captured - this.meta.ackedSeq };
  }
}
