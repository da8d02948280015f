// The popup: what is happening now, start/pause/stop, a page's request to
// connect, and the server settings. It holds no state of its own:
// everything comes from the service worker's status in chrome.storage.local,
// so it shows the truth when reopened.
import { isValidSessionId, newSessionId } from '../background/session-id.js';

const $ = (id) => document.getElementById(id);

async function ask(message) {
  $('actionError').textContent = '';
  const reply = await chrome.runtime.sendMessage(message);
  if (reply && reply.ok === false) $('actionError').textContent = reply.error;
  else if (reply) render(reply);
  return reply;
}

function hostOf(url) {
  try { return new URL(url).host; } catch { return url || ''; }
}

const STOPPED_BY = {
  popup: 'here',
  page: 'on the CodeSight page',
  server: 'by the server',
};

function render(status) {
  if (!status) return;
  const tracking = status.state !== 'idle';
  $('stateLine').textContent = status.state === 'recording' ? `Recording session ${status.sessionId}`
    : status.state === 'paused' ? `Paused: session ${status.sessionId} (nothing is recorded)` : 'Not recording';
  $('stateLine').className = status.state;
  const stop = status.lastStop;
  $('lastStop').hidden = tracking || !stop;
  if (stop) $('lastStop').textContent = `Session ${stop.sessionId} was stopped ${STOPPED_BY[stop.by] || ''} at ${new Date(stop.at).toLocaleTimeString()}.`;

  $('connection').textContent = status.connection;
  $('serverName').textContent = hostOf(status.serverUrl);
  const p = status.problem;
  $('problem').hidden = !p;
  if (p) {
    $('problem').className = `problem ${p.severity || 'error'}`;
    const when = p.retryAt && p.retryAt > Date.now() ? ` Next try in ${Math.ceil((p.retryAt - Date.now()) / 1000)} s.` : '';
    $('problemMessage').textContent = p.message + when;
    $('problemDetail').textContent = p.detail || '';
  }
  $('queuedTotal').hidden = !status.queuedTotal;
  $('queuedTotal').textContent = `${status.queuedTotal} event(s) waiting to be sent to the server; they are kept in this browser until it stores them.`;

  const pairing = status.pairing;
  $('pairing').hidden = !pairing;
  if (pairing) {
    $('pairingOrigin').textContent = pairing.origin;
    $('pairingServer').textContent = pairing.serverUrl;
    $('pairingToken').textContent = pairing.hasToken ? ', with your worker token' : '';
  }

  $('state').textContent = status.state + (status.sessionId ? ` (${status.sessionId})` : '');
  $('start').hidden = tracking;
  $('stop').hidden = !tracking;
  $('pause').hidden = status.state !== 'recording';
  $('resume').hidden = status.state !== 'paused';
  $('sessionId').disabled = tracking;
  if (tracking) $('sessionId').value = status.sessionId;
  for (const k of ['captured', 'sent', 'acknowledged', 'queued']) $(k).textContent = status.counters[k];
  if (!edited.has('serverUrl')) $('serverUrl').value = status.serverUrl || '';
}

function renderActivity(activity) {
  const list = $('activity');
  list.replaceChildren(...(activity || []).map((a) => {
    const li = document.createElement('li');
    li.textContent = `#${a.seq} ${a.type} ${a.what}`;
    return li;
  }));
}

// Fields the worker typed into since the last Connect: the status shown
// while they type (it changes with every reconnect) must not overwrite them.
const edited = new Set();

async function init() {
  for (const id of ['serverUrl', 'token']) $(id).addEventListener('input', () => edited.add(id));
  const { settings, status, activity } = await chrome.storage.local.get(['settings', 'status', 'activity']);
  if (!edited.has('token')) $('token').value = (settings && settings.token) || '';
  $('sessionId').value = newSessionId();
  renderActivity(activity);
  render(status);
  await ask({ type: 'status' });

  chrome.storage.onChanged.addListener((changes, area) => {
    if (area !== 'local') return;
    if (changes.status) render(changes.status.newValue);
    if (changes.activity) renderActivity(changes.activity.newValue);
    if (changes.settings && !edited.has('token')) $('token').value = (changes.settings.newValue && changes.settings.newValue.token) || '';
  });
  // The "next try in" countdown.
  setInterval(() => chrome.storage.local.get('status').then(({ status: s }) => { if (s && s.problem && s.problem.retryAt) render(s); }), 1000);

  $('connect').addEventListener('click', () => {
    edited.clear();
    ask({ type: 'connect', serverUrl: $('serverUrl').value.trim(), token: $('token').value.trim() });
  });
  $('retry').addEventListener('click', () => ask({ type: 'reconnect' }));
  $('allow').addEventListener('click', () => ask({ type: 'pairing_answer', allow: true }));
  $('deny').addEventListener('click', () => ask({ type: 'pairing_answer', allow: false }));
  $('sessionId').addEventListener('input', () => {
    $('sessionIdError').hidden = isValidSessionId($('sessionId').value);
  });
  $('start').addEventListener('click', async () => {
    const sessionId = $('sessionId').value.trim();
    if (!isValidSessionId(sessionId)) { $('sessionIdError').hidden = false; return; }
    await ask({ type: 'start_tracking', sessionId });
  });
  $('stop').addEventListener('click', async () => {
    await ask({ type: 'stop_tracking' });
    $('sessionId').value = newSessionId();
  });
  $('pause').addEventListener('click', () => ask({ type: 'pause_tracking' }));
  $('resume').addEventListener('click', () => ask({ type: 'resume_tracking' }));
}

init();
