// Where a frame sits in its tab: the selectors of the iframes from the top
// document down to it (framePath, for page.frameLocator()) and the offset
// of its viewport in the tab's viewport (so that coordinates recorded in a
// frame map to the page a video shows).
//
// A frame cannot read a cross-origin parent, so each parent answers for
// its own iframes: the child posts a request with a MessagePort to
// window.parent; the parent's content script finds the iframe whose
// contentWindow is the message's source, asks its own parent the same
// way, and answers on the port with the path and offset down to the child.
// Only the child holds the port, so other frames cannot read the answer.
import { frameSelector } from './locators.js';
import { Engine } from './engine.js';
import { openRoots } from './dom.js';
import { maskUrl } from './privacy.js';

const REQUEST = 'codesight:frame-info';
const ANSWER_TIMEOUT_MS = 1000;

export const isTop = () => window === window.top;

function topInfo() {
  return { path: [], offset: { x: 0, y: 0 }, viewport: { width: window.innerWidth, height: window.innerHeight } };
}

// This frame's {path, offset, viewport}, the viewport being the tab's;
// null when no parent answered (no content script there).
export function frameInfo() {
  if (isTop()) return Promise.resolve(topInfo());
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => { channel.port1.close(); resolve(null); }, ANSWER_TIMEOUT_MS);
    channel.port1.onmessage = (ev) => {
      clearTimeout(timer);
      channel.port1.close();
      resolve(ev.data && Array.isArray(ev.data.path) ? ev.data : null);
    };
    window.parent.postMessage({ type: REQUEST }, '*', [channel.port2]);
  });
}

// The <iframe> or <frame> element of this document whose window is source.
function frameElementOf(source) {
  for (const root of openRoots(document)) {
    for (const f of root.querySelectorAll('iframe, frame')) if (f.contentWindow === source) return f;
  }
  return null;
}

// Answers a child frame's request (a window "message" listener).
export async function answerFrameRequest(ev) {
  if (!ev.data || ev.data.type !== REQUEST || !ev.ports || ev.ports.length !== 1) return;
  const iframe = frameElementOf(ev.source);
  if (!iframe) return;
  const port = ev.ports[0];
  const selector = frameSelector(iframe, new Engine(document));
  const r = iframe.getBoundingClientRect();
  const style = getComputedStyle(iframe);
  const x = r.left + iframe.clientLeft + parseFloat(style.paddingLeft || '0');
  const y = r.top + iframe.clientTop + parseFloat(style.paddingTop || '0');
  const own = await frameInfo();
  if (!own) { port.close(); return; }
  port.postMessage({
    path: [...own.path, selector],
    offset: { x: Math.round(own.offset.x + x), y: Math.round(own.offset.y + y) },
    viewport: own.viewport,
  });
  port.close();
}

// Without an answer: the iframes of same-origin parents, and a cross-origin
// hop named by its URL (which a replay can rarely resolve).
export function fallbackFramePath() {
  const path = [];
  for (let w = window; w !== w.parent; w = w.parent) {
    let frame = null;
    try { frame = w.frameElement; } catch { /* cross-origin parent */ }
    if (!frame) {
      path.unshift(`iframe[src=${JSON.stringify(maskUrl(w.location.href))}]`);
      break;
    }
    path.unshift(frameSelector(frame, new Engine(frame.ownerDocument)));
  }
  return path;
}
