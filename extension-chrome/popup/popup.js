// The popup: settings, start/pause/stop and live counters. It holds no
// state of its own: everything comes from the service worker's status in
// chrome.storage.local, so it shows the truth when reopened.
import { isValidSessionId, newSessionId } from '../background/session-id.js';

const $ = (id) => document.getElementById(id);

async function ask(message) {
  const reply = await chrome.runtime.sendMessage(message);
  if (reply && reply.ok === false) $('serverError').textContent = reply.error;
  else if (reply) render(reply);
  return reply;
}

function render(status) {
  if (!status) return;
  $('connection').textContent = status.connection;
  $('serverError').textContent = status.serverError ? `${status.serverError.code}: ${status.serverError.message || ''}` : '';
  $('state').textContent = status.state + (status.sessionId ? ` (${status.sessionId})` : '');
  const tracking = status.state !== 'idle';
  $('start').hidden = tracking;
  $('stop').hidden = !tracking;
  $('pause').hidden = status.state !== 'recording';
  $('resume').hidden = status.state !== 'paused';
  $('sessionId').disabled = tracking;
  if (tracking) $('sessionId').value = status.sessionId;
  for (const k of ['captured', 'sent', 'acknowledged', 'queued']) $(k).textContent = status.counters[k];
}

function renderActivity(activity) {
  const list = $('activity');
  list.replaceChildren(...(activity || []).map((a) => {
    const li = document.createElement('li');
    li.textContent = `#${a.seq} ${a.type} ${a.what}`;
    return li;
  }));
}

async function init() {
  const { settings, status, activity } = await chrome.storage.local.get(['settings', 'status', 'activity']);
  $('serverUrl').value = (settings && settings.serverUrl) || 'ws://127.0.0.1:8787/extension-ws';
  $('token').value = (settings && settings.token) || '';
  $('sessionId').value = newSessionId();
  renderActivity(activity);
  await ask({ type: 'status' }) || render(status);

  chrome.storage.onChanged.addListener((changes, area) => {
    if (area !== 'local') return;
    if (changes.status) render(changes.status.newValue);
    if (changes.activity) renderActivity(changes.activity.newValue);
  });

  $('connect').addEventListener('click', () => ask({ type: 'connect', serverUrl: $('serverUrl').value.trim(), token: $('token').value.trim() }));
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
