// The "Extension Session Data" document downloaded on Stop, in the shape of
// codesight.session_data() on the server. It is built as a Blob, a thousand
// events at a time, never as one string: a session of any length downloads
// without the service worker holding several copies of it (a data: URL
// needs the text, its bytes and their base64 at once).

const PAGE = 1000;

function iso(ms) { return ms == null ? null : new Date(ms).toISOString(); }

function hostOf(url) {
  try { return new URL(url).host || null; } catch { return null; }
}

// JSON.stringify(value, null, 2) as it reads nested `depth` levels deep.
function pretty(value, depth) {
  const pad = ' '.repeat(2 * depth);
  return pad + JSON.stringify(value, null, 2).replace(/\n/g, `\n${pad}`);
}

// readPage(afterSeq, limit) resolves to the next events ordered by seq.
// Resolves to a Blob holding exactly JSON.stringify(document, null, 2).
export async function sessionDataBlob(meta, readPage) {
  const counts = { click: 0, input: 0, scroll: 0, navigation: 0 };
  const pagesVisited = [];
  const pieces = [];
  let total = 0;
  for (let after = 0; ;) {
    const events = await readPage(after, PAGE);
    if (!events.length) break;
    for (const e of events) {
      if (e.type in counts) counts[e.type]++;
      const host = hostOf(e.data && e.data.url);
      if (host && !pagesVisited.includes(host)) pagesVisited.push(host);
    }
    pieces.push(new Blob([(total ? ',\n' : '\n') + events.map((e) => pretty(e, 2)).join(',\n')]));
    total += events.length;
    after = events[events.length - 1].seq;
  }
  const head = {
    sessionId: meta.sessionId,
    startTime: iso(meta.startTime),
    endTime: iso(meta.endTime),
    duration: meta.endTime == null ? null : meta.endTime - meta.startTime,
    totalEvents: total,
  };
  const summary = {
    clicks: counts.click, inputs: counts.input, scrolls: counts.scroll, navigations: counts.navigation, pagesVisited,
  };
  const open = JSON.stringify(head, null, 2).replace(/\n}$/, ',\n  "events": [');
  const close = `${total ? '\n  ' : ''}],\n  "summary": ${JSON.stringify(summary, null, 2).replace(/\n/g, '\n  ')}\n}`;
  return new Blob([open, ...pieces, close], { type: 'application/json' });
}
