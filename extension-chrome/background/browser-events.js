// Navigation and tab events from the browser, so that a session spanning
// several tabs is one timeline.

import { maskUrl as maskUrlText } from '../content/privacy.js';

const RECORDED_SCHEMES = /^(?:https?|file):/;

function maskUrl(url) { return maskUrlText(url || ''); }

// record({type, timestamp, data}, {tabId, frameId})
export function registerBrowserEvents(record) {
  const navigation = (source) => (d) => {
    if (d.frameId !== 0 || !RECORDED_SCHEMES.test(d.url)) return;
    record({
      type: 'navigation',
      timestamp: Math.round(d.timeStamp),
      data: {
        url: maskUrl(d.url),
        transitionType: d.transitionType,
        transitionQualifiers: d.transitionQualifiers || [],
        source,
        tabId: d.tabId,
        frameId: d.frameId,
      },
    }, { tabId: d.tabId, frameId: d.frameId });
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
