// Privacy rules applied before anything leaves the page: personal data is
// masked by what a field means (its autocomplete token, type, name, id,
// label or placeholder) and by what a value looks like (emails, phone
// numbers, card numbers, IBANs), in values, texts and URLs. The service
// worker imports this module too: it masks browser-reported URLs and, in
// every event, the values the worker typed into masked fields
// (maskKnownValues). docs/events.md lists every rule.
import { playwrightSelector } from './selector-string.js';

// ---- values by shape ------------------------------------------------------

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
// Phone numbers need separators between groups or an international prefix,
// so quantities, sizes, prices, dates and zip codes stay as typed.
// A longer run of digit groups (an order number) is not a phone number.
const PHONE = /(?<![\w+]|\d[\s.-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)\s?|\d{2,4}[\s.-])\d{3,4}[\s.-]?\d{3,4}(?!\w|[\s.-]\d)|(?<![\w+])\+\d{9,14}(?!\w)/g;
const CARD_CANDIDATE = /(?<![\d+])\d(?:[ -]?\d){12,18}(?!\d)/g;
// Two letters, two check digits, 11 to 30 letters and digits, in groups of
// four or not; checked with ISO 13616's mod-97 before it is masked.
const IBAN_CANDIDATE = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])/g;

export function luhnValid(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) { d *= 2; if (d > 9) d -= 9; }
    sum += d;
  }
  return sum % 10 === 0;
}

function ibanValid(candidate) {
  const s = candidate.replace(/ /g, '');
  const moved = s.slice(4) + s.slice(0, 4);
  let rest = 0;
  for (const c of moved) {
    const v = c >= 'A' ? String(c.charCodeAt(0) - 55) : c;
    for (const d of v) rest = (rest * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return rest === 1;
}

// Masks emails, Luhn-valid card numbers, IBANs and phone numbers in text.
export function maskText(text) {
  if (typeof text !== 'string' || text === '') return text;
  return text
    .replace(EMAIL, '<EMAIL>')
    .replace(IBAN_CANDIDATE, (m) => (ibanValid(m) ? '<IBAN>' : m))
    .replace(CARD_CANDIDATE, (m) => {
      const digits = m.replace(/\D/g, '');
      return digits.length >= 13 && digits.length <= 19 && luhnValid(digits) ? '<CARD_NUMBER>' : m;
    })
    .replace(PHONE, '<PHONE>');
}

// ---- fields by meaning ----------------------------------------------------

// The WHATWG autofill field names. A field that names one of these is
// classified by it alone; the ones mapped to null (city, country, company,
// ...) are kept as typed.
const AUTOCOMPLETE_KINDS = {
  'name': 'NAME', 'honorific-prefix': 'NAME', 'given-name': 'NAME', 'additional-name': 'NAME',
  'family-name': 'NAME', 'honorific-suffix': 'NAME', 'nickname': 'NAME',
  'username': 'USERNAME', 'new-password': 'PASSWORD', 'current-password': 'PASSWORD',
  'one-time-code': 'ONE_TIME_CODE',
  'street-address': 'ADDRESS', 'address-line1': 'ADDRESS', 'address-line2': 'ADDRESS',
  'address-line3': 'ADDRESS', 'address-level4': 'ADDRESS', 'address-level3': 'ADDRESS',
  'address-level2': null, 'address-level1': null, 'country': null, 'country-name': null,
  'postal-code': 'POSTAL_CODE',
  'cc-name': 'CARD_NAME', 'cc-given-name': 'CARD_NAME', 'cc-additional-name': 'CARD_NAME',
  'cc-family-name': 'CARD_NAME', 'cc-number': 'CARD_NUMBER', 'cc-exp': 'CARD_EXPIRY',
  'cc-exp-month': 'CARD_EXPIRY', 'cc-exp-year': 'CARD_EXPIRY', 'cc-csc': 'CVC', 'cc-type': 'CARD_DATA',
  'transaction-currency': null, 'transaction-amount': null, 'language': null,
  'bday': 'BIRTH_DATE', 'bday-day': 'BIRTH_DATE', 'bday-month': 'BIRTH_DATE', 'bday-year': 'BIRTH_DATE',
  'sex': null, 'url': null, 'photo': null, 'organization': null, 'organization-title': null,
  'tel': 'PHONE', 'tel-country-code': 'PHONE', 'tel-national': 'PHONE', 'tel-area-code': 'PHONE',
  'tel-local': 'PHONE', 'tel-local-prefix': 'PHONE', 'tel-local-suffix': 'PHONE', 'tel-extension': 'PHONE',
  'email': 'EMAIL', 'impp': 'USERNAME',
};

// Words in a field's name, id, label, aria-label or placeholder, in the
// languages shops are written in; the first kind that matches wins, so the
// narrower kinds come first ("name on card" before "name", "email address"
// before "address").
const w = (alternatives) => new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternatives})(?![\\p{L}\\p{N}])`, 'iu');
const FIELD_WORDS = [
  ['PASSWORD', w('pass(?:word|wd|phrase)?|pwd|pin|passwort|kennwort|mot de passe|contrase[ñn]a|senha|wachtwoord|パスワード|密码|비밀번호')],
  // A gift card's code pays like a card: a secret, not a coupon.
  ['SECRET', w('gift ?card(?: code| number| pin)?')],
  ['CVC', w('cvc2?|cvv2?|csc|cvn|security code|card code|card verification(?: code| value)?|pr[üu]fnummer|cryptogramme')],
  ['CARD_EXPIRY', w('expir\\w*|exp(?: date)?|mm ?/ ?yy(?:yy)?|valid thru|g[üu]ltig bis|ablaufdatum|date d.expiration|vencimiento')],
  ['CARD_NUMBER', w('card ?(?:number|num|no)|cc ?(?:number|num)|credit ?card|debit ?card|pan|kartennummer|num[ée]ro de carte|n[úu]mero de tarjeta')],
  ['CARD_NAME', w('name on (?:the )?card|card ?holder(?: name)?|karteninhaber|titulaire(?: de la carte)?|titular')],
  ['IBAN', w('iban|bank ?account(?: number)?|account number|kontonummer|num[ée]ro de compte')],
  ['SSN', w('ssn|social security(?: number)?|national (?:id|insurance)(?: number)?|sozialversicherungs(?:nummer)?|steuer.?id|tax id')],
  ['ONE_TIME_CODE', w('otp|one.?time (?:code|password|passcode)|verification code|2fa|two.?factor(?: code)?|auth(?:entication)? code|sms code|best[äa]tigungscode|code de v[ée]rification|c[óo]digo de verificaci[óo]n')],
  ['BIRTH_DATE', w('birth\\w*|dob|bday|date of birth|geburts\\w*|naissance|nacimiento|生年月日|誕生日')],
  ['EMAIL', w('e.?mail(?: address)?|mail|courriel|correo(?: electr[óo]nico)?|メール(?:アドレス)?')],
  ['PHONE', w('phone|telephone|tel|mobile|cell(?:phone)?|handy|telefon\\w*|t[ée]l[ée]phone|tel[ée]fono|電話(?:番号)?')],
  ['POSTAL_CODE', w('zip(?: ?code)?|postal(?: code)?|post ?code|plz|postleitzahl|code postal|c[óo]digo postal|郵便番号')],
  ['ADDRESS', w('address(?: line)?|addr|street|house ?number|apt|apartment|suite|stra(?:ß|ss)e|hausnummer|adresse|rue|direcci[óo]n|calle|indirizzo|住所')],
  ['USERNAME', w('user ?name|user ?id|login|benutzername|nom d.utilisateur|identifiant|usuario')],
  ['NAME', w('name|full ?name|first ?name|last ?name|fname|lname|surname|given ?name|family ?name|vorname|nachname|pr[ée]nom|nom|nombre|apellidos?|氏名|名前')],
];
// Fields whose name or label only looks personal: a product name, a
// company, a coupon; searches are never masked by meaning.
const NOT_PERSONAL = w('company|business|organi[sz]ation|firma|product|item|file|list|project|store|shop|brand|team|group|coupon|promo|gift|voucher|pet|event|domain|host|search|filter|sort|category|city|town|country|state|quantity|qty|size|colou?r');
const SEARCH_NAMES = /^(?:q|query|search|keywords?|term|s)$/i;

// The text of the <label>s and ARIA labels of a control, for classification.
export function labelText(el) {
  const parts = [];
  if (el.labels) for (const l of el.labels) parts.push(l.textContent || '');
  const aria = el.getAttribute('aria-label');
  if (aria) parts.push(aria);
  const ids = el.getAttribute('aria-labelledby');
  if (ids) {
    const root = el.getRootNode();
    for (const id of ids.split(/\s+/)) {
      const ref = id && root.getElementById ? root.getElementById(id) : null;
      if (ref) parts.push(ref.textContent || '');
    }
  }
  return parts.join(' ').replace(/\s+/g, ' ').trim();
}

// Splits identifiers into words: userEmail, user_email, user[email] -> user email.
function words(s) {
  return s.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[_\-.[\]:]+/g, ' ');
}

// The placeholder kind that the words of a field's descriptions name, or null.
export function kindFromWords(text) {
  const haystack = words(text);
  for (const [kind, re] of FIELD_WORDS) {
    if (!re.test(haystack)) continue;
    if ((kind === 'NAME' || kind === 'ADDRESS' || kind === 'USERNAME') && NOT_PERSONAL.test(haystack)) return null;
    return kind;
  }
  return null;
}

// The placeholder kind of a form field whose value must never leave the
// page, or null when its value may be kept (after maskText).
export function classifyField(el) {
  if (!el || !el.getAttribute) return null;
  const type = (el.getAttribute('type') || '').toLowerCase();
  if (type === 'password') return 'PASSWORD';
  // autocomplete="section-x shipping street-address": the field name is last.
  const tokens = (el.getAttribute('autocomplete') || '').toLowerCase().trim().split(/\s+/);
  const field = tokens[tokens.length - 1] === 'webauthn' ? tokens[tokens.length - 2] : tokens[tokens.length - 1];
  if (field && Object.prototype.hasOwnProperty.call(AUTOCOMPLETE_KINDS, field)) return AUTOCOMPLETE_KINDS[field];
  if (field && field.startsWith('cc-')) return 'CARD_DATA';
  if (type === 'email') return 'EMAIL';
  if (type === 'tel') return 'PHONE';
  const name = el.getAttribute('name') || '';
  if (type === 'search' || el.getAttribute('role') === 'searchbox' || SEARCH_NAMES.test(name)) return null;
  const described = [name, el.id, labelText(el), el.getAttribute('placeholder'), el.getAttribute('title')]
    .filter(Boolean).join(' | ');
  return described ? kindFromWords(described) : null;
}

// The value of a form field as it may be recorded: {value, masked}.
export function maskFieldValue(el, value) {
  const kind = classifyField(el);
  if (kind) return { value: value === '' ? '' : `<${kind}>`, masked: kind };
  const masked = maskText(value);
  const m = masked !== value && /<([A-Z_]+)>/.exec(masked);
  return { value: masked, masked: m ? m[1] : null };
}

// ---- URLs -----------------------------------------------------------------

// Query parameters named like credentials (compared lower-cased without
// punctuation: api_key, apiKey -> apikey); personal ones are named as
// fields are (kindFromWords).
const SECRET_PARAMS = [
  ['PASSWORD', /password|passwd|passphrase|passcode|^(?:pwd|pass|pw)$/],
  ['TOKEN', /token|authorization|^(?:auth|jwt|bearer)$/],
  ['SECRET', /secret|apikey|privatekey|accesskey|credential|sessionid|sessid|signature|^(?:key|session|sid|sig)$/],
];

function paramKind(name) {
  const compact = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  const secret = SECRET_PARAMS.find(([, re]) => re.test(compact));
  if (secret) return secret[0];
  return SEARCH_NAMES.test(name) ? null : kindFromWords(name);
}

function safeDecode(s) {
  try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch { return s; }
}

// A query string (without "?") with sensitive values replaced and the
// rest masked by shape; names and untouched bytes are kept as they were.
function maskQuery(query) {
  return query.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const raw = eq < 0 ? pair : pair.slice(eq + 1);
    const name = eq < 0 ? '' : pair.slice(0, eq);
    const kind = eq < 0 ? null : paramKind(safeDecode(name));
    if (kind && raw !== '') return `${name}=<${kind}>`;
    const value = safeDecode(raw);
    const masked = maskText(value);
    if (masked === value) return pair;
    return (eq < 0 ? '' : name + '=') + encodeURIComponent(masked).replace(/%3C([A-Z_]+)%3E/g, '<$1>');
  }).join('&');
}

// A URL with sensitive query and fragment parameters, emails, phone and card
// numbers masked; a fragment holding "=" is read as parameters (OAuth).
export function maskUrl(url) {
  if (typeof url !== 'string' || url === '') return url;
  let u;
  try { u = new URL(url); } catch { return maskText(url); }
  if (!/^https?:$/.test(u.protocol)) return maskText(url);
  const path = safeDecode(u.pathname);
  const maskedPath = maskText(path);
  let out = u.origin + (maskedPath === path ? u.pathname : encodeURI(maskedPath).replace(/%3C([A-Z_]+)%3E/g, '<$1>'));
  if (u.search) out += '?' + maskQuery(u.search.slice(1));
  if (u.hash) {
    const frag = u.hash.slice(1);
    const q = frag.indexOf('?');
    if (q >= 0) out += '#' + maskText(safeDecode(frag.slice(0, q))) + '?' + maskQuery(frag.slice(q + 1));
    else if (frag.includes('=')) out += '#' + maskQuery(frag);
    else out += '#' + maskText(safeDecode(frag));
  }
  return out.replace(/%3C([A-Z_]+)%3E/g, '<$1>');
}

// ---- values the worker typed into masked fields ---------------------------

// The shortest typed value that is looked for elsewhere: shorter ones
// ("Al", "12") would mask unrelated words and numbers. A longer one than
// MAX_KNOWN_LENGTH (a letter typed into a masked textarea) is looked for no
// further: it would hardly show again whole.
const MIN_KNOWN_LENGTH = 3;
const MAX_KNOWN_LENGTH = 256;

function escapeRe(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }

// Compiles [{kind, value}] into the patterns maskKnownValues looks for: each
// value as a whole word, case-insensitive, its spaces matching any space,
// "+" or "%20"; names also word by word ("Thanks, Ann!").
export function knownValuePatterns(values) {
  const out = [];
  const seen = new Set();
  const add = (kind, text) => {
    const t = text.trim().replace(/\s+/g, ' ');
    if (t.length < MIN_KNOWN_LENGTH || t.length > MAX_KNOWN_LENGTH || seen.has(kind + '\u0000' + t.toLowerCase())) return;
    seen.add(kind + '\u0000' + t.toLowerCase());
    const body = t.split(' ').map((part) => `(?:${escapeRe(part)}|${escapeRe(encodeURIComponent(part))})`).join('(?:\\s+|\\+|%20)+');
    out.push({ kind, re: new RegExp(`(?<![\\p{L}\\p{N}])${body}(?![\\p{L}\\p{N}])`, 'giu') });
  };
  for (const { kind, value } of values) {
    if (typeof value !== 'string') continue;
    add(kind, value);
    if (kind === 'NAME' || kind === 'CARD_NAME') for (const part of value.split(/\s+/)) if (/\p{L}{3,}/u.test(part)) add(kind, part);
  }
  // Longer values first, so "Ann Buyer" is masked whole before "Ann".
  return out.sort((a, b) => b.re.source.length - a.re.source.length);
}

// Replaces every known value in text by its placeholder.
export function maskKnownValues(text, patterns) {
  if (typeof text !== 'string' || text === '' || !patterns.length) return text;
  let out = text;
  for (const { kind, re } of patterns) out = out.replace(re, `<${kind}>`);
  return out;
}

// A copy of a JSON value with maskKnownValues applied to every string.
export function maskKnownDeep(value, patterns) {
  if (!patterns.length) return value;
  if (typeof value === 'string') return maskKnownValues(value, patterns);
  if (Array.isArray(value)) return value.map((v) => maskKnownDeep(v, patterns));
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = maskKnownDeep(v, patterns);
    return out;
  }
  return value;
}

const PLACEHOLDER = /<[A-Z][A-Z0-9_]*>/;

// An event's data with maskKnownDeep applied; a target's locators that now
// hold a placeholder can find nothing any more, so they go last and the
// first one left becomes the target's selector.
export function maskKnownEvent(data, patterns) {
  const out = maskKnownDeep(data, patterns);
  for (const target of [out, out && out.to]) {
    if (!target || !Array.isArray(target.locators)) continue;
    const masked = (l) => PLACEHOLDER.test(JSON.stringify(l));
    const clean = target.locators.filter((l) => !masked(l));
    if (clean.length === target.locators.length) continue;
    target.locators = [...clean, ...target.locators.filter(masked)];
    if (clean.length) target.selector = playwrightSelector(clean[0]);
  }
  return out;
}

// True when the element or an ancestor (across shadow roots) opts out.
export function isIgnored(el) {
  for (let n = el; n; ) {
    if (n.nodeType === 1 && n.hasAttribute('data-codesight-ignore')) return true;
    const parent = n.parentNode;
    n = parent && parent.nodeType === 11 && parent.host ? parent.host : parent;
  }
  return false;
}
