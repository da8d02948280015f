// Navigation and tab events from the browser, so that a session spanning
// several tabs is one timeline.
//
// A tab's page is its outermost frame (frameType), not frame 0: a page
// prerendered by speculation rules commits as an outermost frame with
// another frame id and documentLifecycle "prerender" before anyone sees
// it. Such a commit is not recorded; Chrome commits the page again in the
// tab when it is activated, and that is the navigation the worker made.

import { maskUrl as maskUrlText } from '../content/privacy.js';

const RECORDED_SCHEMES = /^(?:https?|file):/;

function maskUrl(url) { return maskUrlText(url || ''); }

// The tab's own page, shown to the worker (not prerendering, not cached).
export function isShownTopFrame(d) {
  const top = d.frameType ? d.frameType === 'outermost_frame' : d.frameId === 0;
  return top && (!d.documentLifecycle || d.documentLifecycle === 'active');
}

// record({type, timestamp, data}, {tabId, frameId})
export function registerBrowserEvents(record) {
  const navigation = (source) => (d) => {
    if (!isShownTopFrame(d) || !RECORDED_SCHEMES.test(d.url)) return;
    record({
      type: 'navigation',
      timestamp: Math.round(d.timeStamp),
      data: {
        url: maskUrl(d.url),
        transitionType: d.transitionType,
        transitionQualifiers: d.transitionQualifiers || [],
        source,
        tabId: d.tabId,
        frameId: 0,
      },
    }, { tabId: d.tabId, frameId: 0 });
  };
  chrome.webNavigation.onCommitted.addListener(navigation('committed'));
  // Single-page apps change the URL with the History API, without a commit.
  chrome.webNavigation.onHistoryStateUpdated.addListener(navigation('history'));

  const tab = (action, tabId, extra) => record({
    type: 'tab',
    timestamp: Date.now(),
    data: { action, tabId, ...extra },
  }, { tabId });

  chrome.tabs.onCreated.addListener((t) => tab('opened', t.id, {
    openerTabId: t.openerTabId ?? null, windowId: t.windowId, url: maskUrl(t.pendingUrl || t.url),
  }));
  chrome.tabs.onActivated.addListener(async ({ tabId, windowId }) => {
    let url = '';
    try { url = (await chrome.tabs.get(tabId)).url || ''; } catch { /* closed meanwhile */ }
    tab('activated', tabId, { windowId, url: maskUrl(url) });
  });
  chrome.tabs.onRemoved.addListener((tabId, info) => tab('closed', tabId, {
    windowId: info.windowId, isWindowClosing: info.isWindowClosing,
  }));
}

// Whether a content script's message comes from the tab's page rather than
// an iframe. Frame 0 is; any other frame id may be a prerendered page that
// was activated since, so its frame is looked up (cached by document).
const topByDocument = new Map();
export async function senderIsTopFrame(sender) {
  if (sender.frameId === 0) return true;
  if (!sender.documentId || !sender.tab) return false;
  let top = topByDocument.get(sender.documentId);
  if (top === undefined) {
    const frame = await chrome.webNavigation.getFrame({ tabId: sender.tab.id, documentId: sender.documentId }).catch(() => null);
    top = !!frame && frame.parentFrameId === -1;
    if (topByDocument.size >= 500) topByDocument.delete(topByDocument.keys().next().value);
    topByDocument.set(sender.documentId, top);
  }
  return top;
}
