// The service worker: the single writer of seqs, owner of the WebSocket and
// of the session state. Chrome may stop it at any time and wake it with a
// message or a browser event, so every listener is registered synchronously
// below and waits for `ready` (state reloaded from IndexedDB and storage).
import { knownValuePatterns, maskKnownEvent, maskUrl } from '../content/privacy.js';
import { IdbStore } from './store.js';
import { Outbox, newSessionMeta, BATCH_MAX, BATCH_DELAY_MS } from './outbox.js';
import { Connection } from './connection.js';
import { diagnose } from './diagnose.js';
import { isValidSessionId } from './session-id.js';
import { registerBrowserEvents, senderIsTopFrame } from './browser-events.js';
import { isTrustedOrigin, pairingRequest, validServerUrl } from './trust.js';
import * as problems from './problems.js';

const DEFAULT_SERVER_URL = 'ws://127.0.0.1:8787/extension-ws';
const ACTIVITY_LENGTH = 20;
const FLUSH_TIMEOUT_MS = 1500;
const DIAGNOSE_EVERY_MS = 10000;
const PAGE_EVENT_TYPES = new Set(['click', 'dblclick', 'drag', 'input', 'change', 'select', 'submit', 'keypress',
  'scroll', 'hover', 'page', 'focus', 'blur', 'visibility']);
// Values typed into fields masked by meaning (names, addresses, ...) that
// the content scripts report, at most this many per session.
const MAX_PERSONAL_VALUES = 200;

const store = new IdbStore();
const outboxes = new Map(); // sessionId -> Outbox, for every session not yet closed on the server
// tokenRejected: the server refused this token; no reconnect until it changes.
let settings = { serverUrl: DEFAULT_SERVER_URL, token: '', connect: false, tokenRejected: false };
let recording = null; // {sessionId, paused, startedBy, startedAt}, mirrored to chrome.storage.local for the content scripts
let lastSessionId = null;
let lastOutbox = null; // the current or last session, kept after it closed for its counters
let lastStop = null; // {sessionId, by: 'popup'|'page'|'server', at}
let connectionState = 'disconnected';
let problem = null; // {code, message, detail, severity?, retryAt?}: what is wrong now
let pairing = null; // a page's pending request to connect the extension to its server
let activity = [];
let lastDiagnosis = 0;
const stopSent = new Set();
// The current session's personal values (memory only: chrome.storage.session)
// and the patterns that mask them in every event.
let personal = { sessionId: null, values: [] };
let personalPatterns = [];

const connection = new Connection({
  onMessage: (msg) => ready.then(() => onServerMessage(msg)),
  onOpen() {
    // A connection problem is over; what the server says next may set another.
    if (problem && problem.code !== 'store_failed') setProblem(null);
  },
  onClose(info) {
    for (const ob of outboxes.values()) ob.disconnected();
    stopSent.clear();
    ready.then(() => onConnectionClosed(info));
  },
  onState(state) {
    connectionState = state;
    publishStatus();
  },
}, { persist: (backoff) => chrome.storage.session.set({ backoff }) });

chrome.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  if (msg && msg.target === 'offscreen') return false;
  ready.then(() => onRuntimeMessage(msg, sender)).then(sendResponse, (err) => sendResponse(failure(err)));
  return true;
});
chrome.runtime.onMessageExternal.addListener((msg, sender, sendResponse) => {
  ready.then(() => onExternalMessage(msg, sender)).then(sendResponse, (err) => sendResponse(failure(err)));
  return true;
});
registerBrowserEvents((event, origin) => ready.then(() => record(event, origin)));
// A stopped worker with unsent events is woken to reconnect.
chrome.alarms.onAlarm.addListener(() => ready.then(ensureConnection));
chrome.alarms.create('codesight-wake', { periodInMinutes: 0.5 });
chrome.downloads.onChanged.addListener((delta) => ready.then(() => onDownloadChanged(delta)));

const ready = load();

async function load() {
  const stored = await chrome.storage.local.get(['settings', 'recording', 'activity', 'lastSessionId', 'lastStop', 'pairing', 'problem']);
  const { backoff } = await chrome.storage.session.get('backoff');
  settings = { ...settings, ...(stored.settings || {}) };
  activity = stored.activity || [];
  lastSessionId = stored.lastSessionId || null;
  lastStop = stored.lastStop || null;
  pairing = stored.pairing || null;
  problem = stored.problem || null;
  connection.restore(backoff);
  for (const meta of await store.allMeta()) {
    if (!meta.closed) outboxes.set(meta.sessionId, new Outbox(store, meta));
  }
  const lastMeta = (await store.allMeta()).find((m) => m.sessionId === lastSessionId);
  lastOutbox = lastMeta ? outboxes.get(lastSessionId) || new Outbox(store, lastMeta) : null;
  recording = stored.recording && outboxes.has(stored.recording.sessionId) ? stored.recording : null;
  const kept = (await chrome.storage.session.get('personal')).personal;
  if (kept && recording && kept.sessionId === recording.sessionId) setPersonal(kept);
  await saveRecording();
  ensureConnection();
  publishStatus();
}

function failure(err) {
  return { ok: false, error: err.message, ...(err.code ? { code: err.code } : {}), ...(err.sessionId ? { sessionId: err.sessionId } : {}) };
}

function refuse(code, message, extra = {}) {
  return Object.assign(new Error(message), { code, ...extra });
}

// Runs state changes one at a time, in call order.
let queue = Promise.resolve();
function serial(fn) {
  const run = queue.then(fn);
  queue = run.catch(() => {});
  return run;
}

function ensureConnection() {
  const wanted = (settings.connect || outboxes.size) && !settings.tokenRejected;
  if (wanted) connection.connect(settings.serverUrl);
  else connection.close();
}

function setProblem(p) {
  problem = p ? { ...p, at: Date.now() } : null;
  chrome.storage.local.set({ problem });
  publishStatus();
}

async function saveRecording() {
  await chrome.storage.local.set({ recording, lastSessionId, lastStop });
  const text = !recording ? (pairing ? '?' : '') : recording.paused ? 'PAU' : 'REC';
  await chrome.action.setBadgeText({ text });
  await chrome.action.setBadgeBackgroundColor({ color: recording && recording.paused ? '#b06000' : pairing && !recording ? '#1a73e8' : '#d93025' });
}

function queuedTotal() {
  let n = 0;
  for (const ob of outboxes.values()) n += ob.counters.queued;
  return n;
}

function status() {
  const ob = lastOutbox;
  return {
    ok: true,
    paired: true,
    version: chrome.runtime.getManifest().version,
    state: !recording ? 'idle' : recording.paused ? 'paused' : 'recording',
    sessionId: recording ? recording.sessionId : null,
    startedBy: recording ? recording.startedBy || null : null,
    lastSessionId,
    lastStop,
    paused: !!(recording && recording.paused),
    connection: connectionState,
    problem,
    serverUrl: settings.serverUrl,
    hasToken: !!settings.token,
    tokenRejected: !!settings.tokenRejected,
    counters: ob ? ob.counters : { captured: 0, sent: 0, acknowledged: 0, queued: 0 },
    queuedTotal: queuedTotal(),
    pendingSessions: [...outboxes.keys()],
  };
}

// What the popup sees: the status and the pending connection request.
function popupStatus() {
  return { ...status(), pairing: pairing ? { origin: pairing.origin, serverUrl: pairing.serverUrl, hasToken: !!pairing.token, at: pairing.at } : null };
}

let publishTimer = null;
function publishStatus() {
  if (publishTimer) return;
  publishTimer = setTimeout(() => {
    publishTimer = null;
    chrome.storage.local.set({ status: popupStatus(), activity });
  }, 100);
}

function noteActivity(event) {
  const d = event.data || {};
  const what = d.selector || d.url || d.key || d.action || '';
  activity = [{ seq: event.seq, type: event.type, timestamp: event.timestamp, what: String(what).slice(0, 120) },
    ...activity].slice(0, ACTIVITY_LENGTH);
}

function setPersonal(value) {
  personal = value;
  personalPatterns = knownValuePatterns(personal.values);
}

// Remembers values a content script masked by meaning, so that a name or
// address shown again later (a confirmation page, a GET form's URL) is
// masked there too.
async function rememberPersonal(values) {
  if (!Array.isArray(values)) return;
  const fresh = values.filter((v) => v && typeof v.kind === 'string' && typeof v.value === 'string' &&
    !personal.values.some((p) => p.kind === v.kind && p.value === v.value));
  if (!fresh.length) return;
  const all = [...personal.values, ...fresh.map(({ kind, value }) => ({ kind, value }))].slice(-MAX_PERSONAL_VALUES);
  setPersonal({ sessionId: recording.sessionId, values: all });
  await chrome.storage.session.set({ personal });
}

// Adds one event to the current session; page events are dropped while
// paused (that is what pausing means), pause/resume themselves are kept.
// Every string of the event is masked for the personal values known so far.
function record(event, origin = {}, personalValues = null) {
  return serial(async () => {
    if (!recording) return { ok: true, recorded: false };
    if (recording.paused && event.type !== 'pause') return { ok: true, recorded: false };
    const ob = outboxes.get(recording.sessionId);
    await rememberPersonal(personalValues);
    const data = { ...(event.data || {}), timestamp: event.timestamp };
    if (origin.tabId !== undefined) data.tabId = origin.tabId;
    // A frame's events name the page around it, to replay them there.
    if (origin.frameId && origin.topUrl) data.topUrl = maskUrl(origin.topUrl);
    const stored = await ob.add({
      type: event.type,
      timestamp: event.timestamp,
      data: maskKnownEvent(data, personalPatterns),
      ...(origin.tabId !== undefined ? { tabId: origin.tabId } : {}),
      ...(origin.frameId !== undefined ? { frameId: origin.frameId } : {}),
    });
    // A content script's retry of an event already stored.
    if (!stored) return { ok: true, recorded: false, duplicate: true };
    noteActivity(stored);
    schedulePump(ob.meta.nextSeq - 1 - ob.meta.sentSeq >= BATCH_MAX);
    publishStatus();
    return { ok: true, recorded: true, seq: stored.seq };
  });
}

let pumpTimer = null;
let pumping = false;
let pumpAgain = false;
function schedulePump(now) {
  if (now) {
    clearTimeout(pumpTimer);
    pumpTimer = null;
    pump();
  } else if (!pumpTimer) {
    pumpTimer = setTimeout(() => { pumpTimer = null; pump(); }, BATCH_DELAY_MS);
  }
}

// Sends every stored event the server has not been sent on this connection.
async function pump() {
  if (pumping) { pumpAgain = true; return; }
  pumping = true;
  try {
    do {
      pumpAgain = false;
      for (const ob of outboxes.values()) {
        for (let batch = await ob.nextBatch(); batch.length; batch = await ob.nextBatch()) {
          if (!connection.send({ type: 'events', sessionId: ob.sessionId, events: batch })) {
            ob.disconnected();
            break;
          }
        }
      }
    } while (pumpAgain);
  } finally {
    pumping = false;
  }
  publishStatus();
}

function sendSessionStart(ob) {
  connection.send({
    type: 'session_start',
    sessionId: ob.sessionId,
    timestamp: ob.meta.startTime,
    userAgent: navigator.userAgent,
    extension: { name: chrome.runtime.getManifest().name, version: chrome.runtime.getManifest().version },
  });
}

// A stopped session is stopped on the server only once every event is
// stored, so no event can reach a session that is no longer active.
function maybeSendStop(ob) {
  if (!ob.meta.stopped || !ob.settled || ob.cursor === null || stopSent.has(ob.sessionId)) return;
  if (connection.send({ type: 'session_stop', sessionId: ob.sessionId, timestamp: ob.meta.endTime })) {
    stopSent.add(ob.sessionId);
  }
}

async function closeSession(ob) {
  ob.meta.closed = true;
  outboxes.delete(ob.sessionId);
  await store.putMeta({ ...ob.meta });
  ensureConnection();
}

async function onServerMessage(msg) {
  const ob = msg.sessionId ? outboxes.get(msg.sessionId) : null;
  switch (msg.type) {
    case 'connected':
      if (settings.token) connection.send({ type: 'hello', token: settings.token, protocol: 2 });
      for (const o of outboxes.values()) sendSessionStart(o);
      break;
    case 'session_started':
      // Not a sign of health: a server that cannot store still starts sessions.
      if (!ob) break;
      await ob.started(Number(msg.lastSeq) || 0);
      maybeSendStop(ob);
      schedulePump(true);
      break;
    case 'ack':
      if (!ob) break;
      if (await ob.ack(Number(msg.seq))) {
        connection.healthy();
        if (problem && problem.code === 'store_failed') setProblem(null);
      }
      maybeSendStop(ob);
      break;
    case 'session_stopped':
      if (ob && ob.meta.stopped) await closeSession(ob);
      break;
    case 'error':
      await onServerError(msg, ob);
      break;
    default:
      break;
  }
  publishStatus();
}

async function onServerError(msg, ob) {
  switch (msg.code) {
    case 'unauthorized':
      // Reconnecting with the same token would be refused again.
      settings.tokenRejected = true;
      await chrome.storage.local.set({ settings });
      setProblem(problems.unauthorized(msg));
      ensureConnection();
      return;
    case 'store_failed': {
      const hint = Number(msg.retryAfterMs) || 0;
      connection.serverHint(hint);
      setProblem(problems.storeFailed(msg, queuedTotal(), hint ? Date.now() + hint : null));
      return;
    }
    case 'session_not_active':
      // The server will never take more events for this session: keeping
      // them would retry forever.
      if (ob && recording && recording.sessionId === ob.sessionId) {
        setProblem(problems.sessionEnded(ob.sessionId, msg));
        await stopTracking({ by: 'server' });
      }
      if (ob && ob.meta.stopped) await closeSession(ob);
      return;
    default:
      setProblem(problems.rejected(msg));
  }
}

// Says why the connection is down, once the socket is gone.
async function onConnectionClosed({ code, reason, wasOpen, local }) {
  if (local || settings.tokenRejected) return;
  if (wasOpen) {
    if (!problem || problem.code !== 'store_failed') setProblem(problems.closedByServer({ code, reason }));
    return;
  }
  if (Date.now() - lastDiagnosis < DIAGNOSE_EVERY_MS && problem) return;
  lastDiagnosis = Date.now();
  const url = settings.serverUrl;
  const found = await diagnose(url);
  // The connection may have come back, or moved elsewhere, meanwhile.
  if (connection.open || url !== settings.serverUrl) return;
  setProblem(found);
}

// Applies a new server URL and/or token; a change means a fresh connection.
// connect: stay connected even while no session records (to show status).
async function configure({ serverUrl, token, connect }) {
  let changed = false;
  if (connect && !settings.connect) {
    settings.connect = true;
    await chrome.storage.local.set({ settings });
  }
  if (serverUrl !== undefined && serverUrl !== settings.serverUrl) {
    if (!validServerUrl(serverUrl)) throw refuse('invalid_request', 'serverUrl must be a ws:// or wss:// URL');
    settings.serverUrl = serverUrl;
    changed = true;
  }
  if (token !== undefined && String(token) !== settings.token) {
    settings.token = String(token);
    changed = true;
  }
  if (!changed && !settings.tokenRejected) return;
  settings.tokenRejected = false;
  await chrome.storage.local.set({ settings });
  if (problem && problem.code !== 'store_failed') setProblem(null);
  connection.close();
  ensureConnection();
}

// Asks every frame of every tab to send the input it is still debouncing.
async function flushContentScripts() {
  const tabs = await chrome.tabs.query({});
  const asks = [];
  for (const tab of tabs) {
    const frames = (await chrome.webNavigation.getAllFrames({ tabId: tab.id }).catch(() => null)) || [];
    for (const f of frames) {
      asks.push(Promise.race([
        chrome.tabs.sendMessage(tab.id, { type: 'flush' }, { frameId: f.frameId }).catch(() => null),
        new Promise((r) => setTimeout(r, FLUSH_TIMEOUT_MS)),
      ]));
    }
  }
  await Promise.all(asks);
}

// Starts recording sessionId. One demonstration is one session: while one
// records, starting another is refused (naming the one that records), so a
// page joins it instead of silently ending it.
async function startTracking({ sessionId, startedBy }) {
  if (!isValidSessionId(sessionId)) throw refuse('invalid_request', 'invalid sessionId: ^[A-Za-z0-9_-]{1,64}$');
  if (recording && recording.sessionId === sessionId) return status();
  if (recording) {
    throw refuse('already_recording', `the extension is recording session ${recording.sessionId}; stop it first or join it`, { sessionId: recording.sessionId });
  }
  return serial(async () => {
    const known = (await store.allMeta()).find((m) => m.sessionId === sessionId);
    if (known) throw refuse('already_recorded', `session ${sessionId} was already recorded`);
    for (const m of await store.allMeta()) if (m.closed) await store.forget(m.sessionId);
    const ob = new Outbox(store, newSessionMeta(sessionId, Date.now()));
    await store.putMeta({ ...ob.meta });
    outboxes.set(sessionId, ob);
    lastOutbox = ob;
    recording = { sessionId, paused: false, startedBy, startedAt: Date.now() };
    lastSessionId = sessionId;
    lastStop = null;
    setPersonal({ sessionId, values: [] });
    await chrome.storage.session.set({ personal });
    activity = [];
    if (problem && problem.code === 'session_not_active') setProblem(null);
    await saveRecording();
    if (connection.open) sendSessionStart(ob);
    ensureConnection();
    publishStatus();
  }).then(recordActiveTab).then(status);
}

// The page the session starts on, as the first event of the timeline.
async function recordActiveTab() {
  const [tab] = await chrome.tabs.query({ active: true, lastFocusedWindow: true });
  if (!tab) return;
  await record({
    type: 'tab',
    timestamp: Date.now(),
    data: { action: 'activated', tabId: tab.id, windowId: tab.windowId, url: maskUrl(tab.url || '') },
  }, { tabId: tab.id });
}

async function stopTracking({ sessionId, by }) {
  if (!recording) throw refuse('not_recording', 'not tracking');
  if (sessionId !== undefined && sessionId !== recording.sessionId) {
    throw refuse('other_session', `tracking ${recording.sessionId}, not ${sessionId}`, { sessionId: recording.sessionId });
  }
  await flushContentScripts();
  return serial(async () => {
    const ob = outboxes.get(recording.sessionId);
    ob.meta.stopped = true;
    ob.meta.endTime = Date.now();
    await store.putMeta({ ...ob.meta });
    lastStop = { sessionId: recording.sessionId, by, at: ob.meta.endTime };
    recording = null;
    await saveRecording();
    await downloadSession(ob.meta).catch((err) => setProblem({
      code: 'download_failed', severity: 'warn', message: 'The session file could not be saved to Downloads; the session itself is safe.', detail: err.message,
    }));
    maybeSendStop(ob);
    publishStatus();
    return status();
  });
}

// ---- the session download, built in an offscreen document (Blob URL).
const downloads = new Map(); // download id -> blob URL

async function downloadSession(meta) {
  if (!(await chrome.offscreen.hasDocument())) {
    await chrome.offscreen.createDocument({
      url: 'background/offscreen.html', reasons: ['BLOBS'], justification: 'Build the session JSON download as a Blob URL.',
    }).catch((err) => { if (!/single offscreen/i.test(err.message)) throw err; });
  }
  const made = await chrome.runtime.sendMessage({ target: 'offscreen', type: 'session_blob_url', meta });
  if (!made || !made.ok) throw new Error(made ? made.error : 'the offscreen document did not answer');
  const id = await chrome.downloads.download({
    url: made.url,
    filename: `codesight-${meta.sessionId}.json`,
    conflictAction: 'uniquify',
    saveAs: false,
  });
  downloads.set(id, made.url);
  return id;
}

async function onDownloadChanged({ id, state }) {
  if (!downloads.has(id) || !state || state.current === 'in_progress') return;
  const url = downloads.get(id);
  downloads.delete(id);
  await chrome.runtime.sendMessage({ target: 'offscreen', type: 'revoke', url }).catch(() => {});
  if (!downloads.size) await chrome.offscreen.closeDocument().catch(() => {});
}

async function setPaused(paused) {
  if (!recording) throw refuse('not_recording', 'not tracking');
  if (recording.paused === paused) return status();
  if (paused) await record({ type: 'pause', timestamp: Date.now(), data: {} });
  await serial(async () => {
    recording = { ...recording, paused };
    await saveRecording();
  });
  if (!paused) await record({ type: 'resume', timestamp: Date.now(), data: {} });
  return status();
}

// Messages from web pages (externally_connectable).
async function onExternalMessage(msg, sender) {
  const type = msg && msg.type;
  if (!isTrustedOrigin(settings.serverUrl, sender.origin)) {
    // Another page: it may only ask to be connected; nothing else about
    // the extension is its business.
    if (type === 'status') {
      return { ok: true, paired: false, version: chrome.runtime.getManifest().version, pairing: pairing && pairing.origin === sender.origin ? 'pending' : null };
    }
    if (type === 'connect') return requestPairing(sender.origin, msg);
    throw refuse('not_paired', `this extension is connected to another server; ask to connect it first (the worker confirms in the extension's popup)`);
  }
  switch (type) {
    case 'connect':
      // The page's own server: it hands over the worker's token.
      if (msg.serverUrl !== undefined && msg.serverUrl !== settings.serverUrl) return requestPairing(sender.origin, msg);
      await configure({ token: msg.token, connect: true });
      return status();
    case 'start_tracking':
      if (msg.token !== undefined) await configure({ token: msg.token });
      return startTracking({ sessionId: msg.sessionId, startedBy: 'page' });
    case 'stop_tracking': return stopTracking({ sessionId: msg.sessionId, by: 'page' });
    case 'pause_tracking': return setPaused(true);
    case 'resume_tracking': return setPaused(false);
    case 'status': return status();
    default: throw refuse('unknown_message_type', 'unknown message type');
  }
}

async function requestPairing(origin, msg) {
  pairing = pairingRequest(origin, msg);
  await chrome.storage.local.set({ pairing });
  await saveRecording();
  publishStatus();
  throw refuse('confirm_in_popup', `open the CodeSight extension (toolbar) and allow connecting it to ${msg.serverUrl}`);
}

async function answerPairing(allow) {
  const asked = pairing;
  pairing = null;
  await chrome.storage.local.set({ pairing });
  await saveRecording();
  if (allow && asked) await configure({ serverUrl: asked.serverUrl, token: asked.token, connect: true });
  publishStatus();
  return popupStatus();
}

async function onRuntimeMessage(msg, sender) {
  if (msg && msg.type === 'record') {
    if (!sender.tab || !PAGE_EVENT_TYPES.has(msg.event && msg.event.type)) return { ok: false, error: 'not a page event' };
    // A prerendered page nobody sees yet is no part of the demonstration.
    if (sender.documentLifecycle && sender.documentLifecycle !== 'active') return { ok: true, recorded: false };
    const top = await senderIsTopFrame(sender);
    return record(msg.event, { tabId: sender.tab.id, frameId: top ? 0 : sender.frameId, topUrl: sender.tab.url }, msg.personal);
  }
  // Content scripts only record; the controls are for the extension's own pages.
  if (!String(sender.url || '').startsWith(chrome.runtime.getURL(''))) return { ok: false, error: 'not allowed' };
  switch (msg && msg.type) {
    case 'connect':
      await configure({ serverUrl: msg.serverUrl, token: msg.token, connect: true });
      connection.retryNow();
      return popupStatus();
    case 'reconnect':
      settings.tokenRejected = false;
      await chrome.storage.local.set({ settings });
      setProblem(null);
      ensureConnection();
      connection.retryNow();
      return popupStatus();
    case 'pairing_answer':
      return answerPairing(!!msg.allow);
    case 'download': {
      const meta = (await store.allMeta()).find((m) => m.sessionId === lastSessionId);
      if (!meta) throw refuse('no_session', 'no session to download');
      await downloadSession(meta);
      return popupStatus();
    }
    case 'start_tracking':
      await startTracking({ sessionId: msg.sessionId, startedBy: 'popup' });
      return popupStatus();
    case 'stop_tracking':
      await stopTracking({ by: 'popup' });
      return popupStatus();
    case 'pause_tracking': await setPaused(true); return popupStatus();
    case 'resume_tracking': await setPaused(false); return popupStatus();
    case 'status': return popupStatus();
    default: throw refuse('unknown_message_type', 'unknown message type');
  }
}
