// What the popup and the recorder page say when something is wrong: the
// worker's words in message, the technical detail in detail.

const STORE_REASONS = {
  disk_full: 'its disk is full',
  read_only: 'its database is read-only (maintenance or a standby)',
  conflict: 'it hit a conflict while storing',
  transient: 'it had a temporary problem',
};

export function storeFailed(msg, queued, retryAt) {
  const why = STORE_REASONS[msg.reason] || 'it could not store them';
  return {
    code: 'store_failed',
    reason: msg.reason || null,
    message: `The server could not store your events: ${why}. ${queued} event(s) are safe in this browser and will be sent when it recovers.`,
    detail: `store_failed${msg.reason ? ` (${msg.reason})` : ''}: ${msg.message || ''}; retryAfterMs ${msg.retryAfterMs ?? 'not given'}`,
    retryAt,
  };
}

export function unauthorized(msg) {
  return {
    code: 'unauthorized',
    message: 'The server did not accept your worker token, so the extension stopped connecting. Open the CodeSight page and sign in (it hands the extension your token), or paste a valid token here.',
    detail: `unauthorized: ${(msg && msg.message) || 'token rejected'} (close 1008)`,
  };
}

export function closedByServer({ code, reason }) {
  if (code === 1001) {
    return { code: 'server_restarting', message: 'The server is restarting. Reconnecting; your events are kept until it is back.', detail: `close ${code} ${reason || ''}`.trim() };
  }
  if (code === 1008) {
    return { code: 'policy', message: 'The server closed the connection: this extension is not allowed (its origin or token).', detail: `close ${code} ${reason || ''}`.trim() };
  }
  return { code: 'server_error', message: 'The connection to the server dropped. Reconnecting; your events are kept until they are stored.', detail: `close ${code} ${reason || ''}`.trim() };
}

export function sessionEnded(sessionId, msg) {
  return {
    code: 'session_not_active',
    message: `The server ended session ${sessionId} (it is no longer active), so recording stopped. Start a new session to go on.`,
    detail: `session_not_active: ${msg.message || ''}`,
  };
}

export function rejected(msg) {
  return {
    code: msg.code || 'error',
    severity: 'warn',
    message: 'The server refused an event it could not accept; the others are stored.',
    detail: `${msg.code}: ${msg.message || ''}${msg.seq ? ` (seq ${msg.seq})` : ''}`,
  };
}
