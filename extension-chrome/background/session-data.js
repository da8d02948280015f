// The "Extension Session Data" document downloaded on Stop, in the shape of
// codesight.session_data() on the server.

function iso(ms) { return ms == null ? null : new Date(ms).toISOString(); }

function hostOf(url) {
  try { return new URL(url).host || null; } catch { return null; }
}

export function buildSessionData(meta, events) {
  const count = (type) => events.filter((e) => e.type === type).length;
  const pagesVisited = [];
  for (const e of events) {
    const host = hostOf(e.data && e.data.url);
    if (host && !pagesVisited.includes(host)) pagesVisited.push(host);
  }
  return {
    sessionId: meta.sessionId,
    startTime: iso(meta.startTime),
    endTime: iso(meta.endTime),
    duration: meta.endTime == null ? null : meta.endTime - meta.startTime,
    totalEvents: events.length,
    events,
    summary: {
      clicks: count('click'),
      inputs: count('input'),
      scrolls: count('scroll'),
      navigations: count('navigation'),
      pagesVisited,
    },
  };
}

// A data: URL, because a service worker has no URL.createObjectURL.
export function jsonDataUrl(doc) {
  const bytes = new TextEncoder().encode(JSON.stringify(doc, null, 2));
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return 'data:application/json;base64,' + btoa(binary);
}
