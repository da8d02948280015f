// Session ids as docs/protocol.md defines them.

export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function isValidSessionId(value) {
  return typeof value === 'string' && SESSION_ID_PATTERN.test(value);
}

// cs_<base36 time ms>_<5 random [a-z0-9]>
export function newSessionId(now = Date.now(), random = Math.random) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += alphabet[Math.floor(random() * alphabet.length)];
  return `cs_${now.toString(36)}_${suffix}`;
}
