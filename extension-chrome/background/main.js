// The service worker: the single writer of seqs, owner of the WebSocket and
// of the session state. Chrome may stop it at any time and wake it with a
// message or a browser event, so every listener is registered synchronously
// below and waits for `ready` (state reloaded from IndexedDB and storage).
import { knownValuePatterns, maskKnownEvent, maskUrl } from '../content/privacy.js';
import { IdbStore } from './store.js';
import { Outbox, newSessionMeta, BATCH_MAX, BATCH_DELAY_MS } from './outbox.js';
import { Connection } from './connection.js';
import { isValidSessionId } from './session-id.js';
import { buildSessionData, jsonDataUrl } from './session-data.js';
import { registerBrowserEvents } from './browser-events.js';

const DEFAULT_SERVER_URL = 'ws://127.0.0.1:8787/extension-ws';
const ACTIVITY_LENGTH = 20;
const FLUSH_TIMEOUT_MS = 1500;
const PAGE_EVENT_TYPES = new Set(['click', 'dblclick', 'drag', 'input', 'change', 'select', 'submit', 'keypress',
  'scroll', 'hover', 'page', 'focus', 'blur', 'visibility']);
// Values typed into fields masked by meaning (names, addresses, ...) that
// the content scripts report, at most this many per session.
const MAX_PERSONAL_VALUES = 200;

const store = new IdbStore();
const outboxes = new Map(); // sessionId -> Outbox, for every session not yet closed on the server
let settings = { serverUrl: DEFAULT_SERVER_URL, token: '', connect: false };
let recording = null; // {sessionId, paused}, mirrored to chrome.storage.local for the content scripts
let lastSessionId = null;
let lastOutbox = null; // the current or last session, kept after it closed for its counters
let connectionState = 'disconnected';
let serverError = null;
let activity = [];
const stopSent = new Set();
// The current session's personal values (memory only: chrome.storage.session)
// and the patterns that mask them in every event.
let personal = { sessionId: null, values: [] };
let personalPatterns = [];

const connection = new Connection({
  onMessage: (msg) => ready.then(() => onServerMessage(msg)),
  onClose() {
    for (const ob of outboxes.values()) ob.disconnected();
    stopSent.clear();
  },
  onState(state) {
    connectionState = state;
    publishStatus();
  },
});

chrome.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  ready.then(() => onRuntimeMessage(msg, sender)).then(sendResponse, (err) => sendResponse({ ok: false, error: err.message }));
  return true;
});
chrome.runtime.onMessageExternal.addListener((msg, sender, sendResponse) => {
  ready.then(() => onExternalMessage(msg)).then(sendResponse, (err) => sendResponse({ ok: false, error: err.message }));
  return true;
});
registerBrowserEvents((event, origin) => ready.then(() => record(event, origin)));
// A stopped worker with unsent events is woken to reconnect.
chrome.alarms.onAlarm.addListener(() => ready.then(ensureConnection));
chrome.alarms.create('codesight-wake', { periodInMinutes: 0.5 });

const ready = load();

async function load() {
  const stored = await chrome.storage.local.get(['settings', 'recording', 'activity', 'lastSessionId']);
  settings = { ...settings, ...(stored.settings || {}) };
  activity = stored.activity || [];
  lastSessionId = stored.lastSessionId || null;
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

// Runs state changes one at a time, in call order.
let queue = Promise.resolve();
function serial(fn) {
  const run = queue.then(fn);
  queue = run.catch(() => {});
  return run;
}

function ensureConnection() {
  if (settings.connect || outboxes.size) connection.connect(settings.serverUrl);
  else connection.close();
}

async function saveRecording() {
  await chrome.storage.local.set({ recording, lastSessionId });
  const text = !recording ? '' : recording.paused ? 'PAU' : 'REC';
  await chrome.action.setBadgeText({ text });
  await chrome.action.setBadgeBackgroundColor({ color: recording && recording.paused ? '#b06000' : '#d93025' });
}

function status() {
  const ob = lastOutbox;
  return {
    ok: true,
    state: !recording ? 'idle' : recording.paused ? 'paused' : 'recording',
    sessionId: recording ? recording.sessionId : null,
    lastSessionId,
    paused: !!(recording && recording.paused),
    connection: connectionState,
    serverError,
    serverUrl: settings.serverUrl,
    hasToken: !!settings.token,
    counters: ob ? ob.counters : { captured: 0, sent: 0, acknowledged: 0, queued: 0 },
    pendingSessions: [...outboxes.keys()],
  };
}

let publishTimer = null;
function publishStatus() {
  if (publishTimer) return;
  publishTimer = setTimeout(() => {
    publishTimer = null;
    chrome.storage.local.set({ status: status(), activity });
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
      serverError = null;
      if (settings.token) connection.send({ type: 'hello', token: settings.token, protocol: 2 });
      for (const o of outboxes.values()) sendSessionStart(o);
      break;
    case 'session_started':
      if (!ob) break;
      await ob.started(Number(msg.lastSeq) || 0);
      maybeSendStop(ob);
      schedulePump(true);
      break;
    case 'ack':
      if (!ob) break;
      await ob.ack(Number(msg.seq));
      maybeSendStop(ob);
      break;
    case 'session_stopped':
      if (ob && ob.meta.stopped) await closeSession(ob);
      break;
    case 'error':
      serverError = { code: msg.code, message: msg.message, sessionId: msg.sessionId };
      // The server will never take more events for this session: keeping
      // them would retry forever.
      if (ob && ob.meta.stopped && msg.code === 'session_not_active') await closeSession(ob);
      break;
    default:
      break;
  }
  publishStatus();
}

function validServerUrl(url) {
  try { return /^wss?:$/.test(new URL(url).protocol); } catch { return false; }
}

async function configure({ serverUrl, token }) {
  if (serverUrl !== undefined) {
    if (!validServerUrl(serverUrl)) throw new Error('serverUrl must be a ws:// or wss:// URL');
    settings.serverUrl = serverUrl;
  }
  if (token !== undefined) settings.token = String(token);
  await chrome.storage.local.set({ settings });
  // A new URL or token applies to a fresh connection.
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

async function startTracking({ sessionId, serverUrl, token }) {
  if (!isValidSessionId(sessionId)) throw new Error('invalid sessionId: ^[A-Za-z0-9_-]{1,64}$');
  if (serverUrl !== undefined || token !== undefined) await configure({ serverUrl, token });
  if (recording && recording.sessionId === sessionId) return status();
  if (recording) await stopTracking({});
  return serial(async () => {
    const known = (await store.allMeta()).find((m) => m.sessionId === sessionId);
    if (known) throw new Error(`session ${sessionId} was already recorded`);
    for (const m of await store.allMeta()) if (m.closed) await store.forget(m.sessionId);
    const ob = new Outbox(store, newSessionMeta(sessionId, Date.now()));
    await store.putMeta({ ...ob.meta });
    outboxes.set(sessionId, ob);
    lastOutbox = ob;
    recording = { sessionId, paused: false };
    lastSessionId = sessionId;
    setPersonal({ sessionId, values: [] });
    await chrome.storage.session.set({ personal });
    activity = [];
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

async function stopTracking({ sessionId }) {
  if (!recording) throw new Error('not tracking');
  if (sessionId !== undefined && sessionId !== recording.sessionId) {
    throw new Error(`tracking ${recording.sessionId}, not ${sessionId}`);
  }
  await flushContentScripts();
  return serial(async () => {
    const ob = outboxes.get(recording.sessionId);
    ob.meta.stopped = true;
    ob.meta.endTime = Date.now();
    await store.putMeta({ ...ob.meta });
    recording = null;
    await saveRecording();
    await downloadSession(ob.meta);
    maybeSendStop(ob);
    publishStatus();
    return status();
  });
}

async function downloadSession(meta) {
  const doc = buildSessionData(meta, await store.events(meta.sessionId));
  return chrome.downloads.download({
    url: jsonDataUrl(doc),
    filename: `codesight-${meta.sessionId}.json`,
    conflictAction: 'uniquify',
    saveAs: false,
  });
}

async function setPaused(paused) {
  if (!recording) throw new Error('not tracking');
  if (recording.paused === paused) return status();
  if (paused) await record({ type: 'pause', timestamp: Date.now(), data: {} });
  await serial(async () => {
    recording = { ...recording, paused };
    await saveRecording();
  });
  if (!paused) await record({ type: 'resume', timestamp: Date.now(), data: {} });
  return status();
}

async function onExternalMessage(msg) {
  switch (msg && msg.type) {
    case 'start_tracking': return startTracking(msg);
    case 'stop_tracking': return stopTracking(msg);
    case 'pause_tracking': return setPaused(true);
    case 'resume_tracking': return setPaused(false);
    case 'status': return status();
    default: return { ok: false, error: 'unknown message type' };
  }
}

async function onRuntimeMessage(msg, sender) {
  if (msg && msg.type === 'record') {
    if (!sender.tab || !PAGE_EVENT_TYPES.has(msg.event && msg.event.type)) return { ok: false, error: 'not a page event' };
    return record(msg.event, { tabId: sender.tab.id, frameId: sender.frameId, topUrl: sender.tab.url }, msg.personal);
  }
  // Content scripts only record; the controls are for the extension's own pages.
  if (!String(sender.url || '').startsWith(chrome.runtime.getURL(''))) return { ok: false, error: 'not allowed' };
  if (msg && msg.type === 'connect') {
    settings.connect = true;
    await configure(msg);
    return status();
  }
  if (msg && msg.type === 'download') {
    const meta = (await store.allMeta()).find((m) => m.sessionId === lastSessionId);
    if (!meta) throw new Error('no session to download');
    await downloadSession(meta);
    return status();
  }
  return onExternalMessage(msg);
}
