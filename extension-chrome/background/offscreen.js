// The offscreen document (reason BLOBS): turns a session in IndexedDB into a
// Blob URL the service worker hands to chrome.downloads, and revokes it once
// the download is over. It shares IndexedDB with the service worker.
import { IdbStore } from './store.js';
import { sessionDataBlob } from './session-data.js';

const store = new IdbStore();

chrome.runtime.onMessage.addListener((msg, _sender, sendResponse) => {
  if (!msg || msg.target !== 'offscreen') return false;
  if (msg.type === 'session_blob_url') {
    sessionDataBlob(msg.meta, (after, limit) => store.eventsPage(msg.meta.sessionId, after, limit))
      .then((blob) => sendResponse({ ok: true, url: URL.createObjectURL(blob), size: blob.size }),
        (err) => sendResponse({ ok: false, error: err.message }));
    return true;
  }
  if (msg.type === 'revoke') {
    URL.revokeObjectURL(msg.url);
    sendResponse({ ok: true });
  }
  return false;
});
