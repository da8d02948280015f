// The outbox store interface in memory, with the same semantics as IdbStore.
export class MemoryStore {
  constructor() {
    this.metas = new Map();
    this.outbox = new Map(); // sessionId -> Map(seq -> event)
    this.appends = 0;
  }

  rows(sessionId) {
    if (!this.outbox.has(sessionId)) this.outbox.set(sessionId, new Map());
    return this.outbox.get(sessionId);
  }

  async append(meta, event) {
    await Promise.resolve();
    this.appends++;
    this.rows(meta.sessionId).set(event.seq, structuredClone(event));
    this.metas.set(meta.sessionId, structuredClone(meta));
  }

  async pending(sessionId, afterSeq, limit) {
    await Promise.resolve();
    return [...this.rows(sessionId).values()].filter((e) => e.seq > afterSeq).sort((a, b) => a.seq - b.seq).slice(0, limit);
  }

  async ackThrough(meta, seq) {
    for (const s of [...this.rows(meta.sessionId).keys()]) if (s <= seq) this.rows(meta.sessionId).delete(s);
    this.metas.set(meta.sessionId, structuredClone(meta));
  }

  async putMeta(meta) { this.metas.set(meta.sessionId, structuredClone(meta)); }
}
