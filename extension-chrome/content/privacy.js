// Privacy rules applied in the page, before anything leaves it.
// A classic script (MV3 content scripts cannot be ES modules): it adds
// `codesight.privacy` to the global object, so the content scripts and the
// service worker (which imports this file for its side effect) share it.
(function () {
  'use strict';
  const cs = (globalThis.codesight = globalThis.codesight || {});

  const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
  // Phone numbers need separators between groups or an international prefix,
  // so quantities, sizes, prices, dates and zip codes stay as typed.
  // A longer run of digit groups (an order number) is not a phone number.
  const PHONE = /(?<![\w+]|\d[\s.-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)\s?|\d{2,4}[\s.-])\d{3,4}[\s.-]?\d{3,4}(?!\w|[\s.-]\d)|(?<![\w+])\+\d{9,14}(?!\w)/g;
  const CARD_CANDIDATE = /(?<![\d+])\d(?:[ -]?\d){12,18}(?!\d)/g;

  // Field names, ids, labels and autocomplete tokens that mark a sensitive field.
  const FIELD_RULES = [
    ['PASSWORD', /pass(?:word|wd|code)?\b|^pwd$|passwort|kennwort/i],
    ['CVC', /\b(?:cvc|cvv|cvv2|csc|cid)\b|security.?code|card.?code|cvc|cvv/i],
    ['CARD_EXPIRY', /expir|exp.?date|\bexp\b|mm.?yy|valid.?thru/i],
    ['CARD_NUMBER', /card.?(?:num|no\b)|cc.?num|credit.?card|debit.?card|\bpan\b|cardnumber/i],
    ['SSN', /\bssn\b|social.?security|sozialversicherung/i],
  ];
  const AUTOCOMPLETE_KINDS = {
    'cc-number': 'CARD_NUMBER',
    'cc-csc': 'CVC',
    'cc-exp': 'CARD_EXPIRY',
    'cc-exp-month': 'CARD_EXPIRY',
    'cc-exp-year': 'CARD_EXPIRY',
    'cc-name': 'CARD_NAME',
    'cc-given-name': 'CARD_NAME',
    'cc-family-name': 'CARD_NAME',
    'current-password': 'PASSWORD',
    'new-password': 'PASSWORD',
    'one-time-code': 'PASSWORD',
  };
  const SENSITIVE_PARAMS = [
    ['PASSWORD', /pass|pwd|secret|token|^auth|api.?key|^key$|session.?id/i],
    ['CVC', /cvc|cvv|csc/i],
    ['CARD_NUMBER', /^card|card.?(?:num|no)|ccnum|^pan$/i],
    ['SSN', /ssn/i],
    ['EMAIL', /e.?mail/i],
    ['PHONE', /phone|^tel$|mobile/i],
  ];

  function luhnValid(digits) {
    let sum = 0;
    for (let i = 0; i < digits.length; i++) {
      let d = digits.charCodeAt(digits.length - 1 - i) - 48;
      if (i % 2 === 1) { d *= 2; if (d > 9) d -= 9; }
      sum += d;
    }
    return sum % 10 === 0;
  }

  // Masks emails, phone numbers and Luhn-valid card numbers inside free text.
  function maskText(text) {
    if (typeof text !== 'string' || text === '') return text;
    return text
      .replace(EMAIL, '<EMAIL>')
      .replace(CARD_CANDIDATE, (m) => {
        const digits = m.replace(/\D/g, '');
        return digits.length >= 13 && digits.length <= 19 && luhnValid(digits) ? '<CARD_NUMBER>' : m;
      })
      .replace(PHONE, '<PHONE>');
  }

  // The text of the <label>s of a form control, for classification only.
  function labelText(el) {
    const parts = [];
    if (el.labels) for (const l of el.labels) parts.push(l.textContent || '');
    const aria = el.getAttribute && el.getAttribute('aria-label');
    if (aria) parts.push(aria);
    return parts.join(' ');
  }

  // The placeholder kind of a form field whose value must never leave the
  // page, or null when its value may be kept (after maskText).
  function classifyField(el) {
    if (!el || !el.getAttribute) return null;
    const type = (el.getAttribute('type') || '').toLowerCase();
    if (type === 'password') return 'PASSWORD';
    const autocomplete = (el.getAttribute('autocomplete') || '').toLowerCase().split(/\s+/);
    for (const token of autocomplete) {
      if (AUTOCOMPLETE_KINDS[token]) return AUTOCOMPLETE_KINDS[token];
      if (token.startsWith('cc-')) return 'CARD_DATA';
    }
    const haystack = [el.getAttribute('name'), el.id, labelText(el), el.getAttribute('placeholder')]
      .filter(Boolean).join(' ');
    for (const [kind, re] of FIELD_RULES) if (re.test(haystack)) return kind;
    if (type === 'email' || autocomplete.includes('email')) return 'EMAIL';
    if (type === 'tel' || autocomplete.some((t) => t.startsWith('tel'))) return 'PHONE';
    return null;
  }

  // The value of a form field as it may be recorded: {value, masked}.
  function maskFieldValue(el, value) {
    const kind = classifyField(el);
    if (kind) return { value: value === '' ? '' : `<${kind}>`, masked: kind };
    const masked = maskText(value);
    const m = masked !== value && /<(EMAIL|PHONE|CARD_NUMBER)>/.exec(masked);
    return { value: masked, masked: m ? m[1] : null };
  }

  function safeDecode(s) {
    try { return decodeURIComponent(s); } catch { return s; }
  }

  // A URL with sensitive query parameters and any email or phone masked.
  function maskUrl(url) {
    if (typeof url !== 'string' || url === '') return url;
    let u;
    try { u = new URL(url); } catch { return maskText(url); }
    if (!/^https?:$/.test(u.protocol)) return maskText(url);
    const params = [...u.searchParams];
    if (params.length) {
      const out = new URLSearchParams();
      for (const [name, value] of params) {
        const rule = SENSITIVE_PARAMS.find(([, re]) => re.test(name));
        out.append(name, rule && value ? `<${rule[0]}>` : maskText(value));
      }
      u.search = out.toString().replace(/%3C([A-Z_]+)%3E/g, '<$1>');
    }
    u.pathname = maskText(safeDecode(u.pathname));
    if (u.hash) u.hash = maskText(safeDecode(u.hash.slice(1)));
    return u.toString().replace(/%3C([A-Z_]+)%3E/g, '<$1>');
  }

  // True when the element or an ancestor (across shadow roots) opts out.
  function isIgnored(el) {
    for (let n = el; n; ) {
      if (n.nodeType === 1 && n.hasAttribute('data-codesight-ignore')) return true;
      const parent = n.parentNode;
      n = parent && parent.nodeType === 11 && parent.host ? parent.host : parent;
    }
    return false;
  }

  cs.privacy = { maskText, classifyField, maskFieldValue, maskUrl, isIgnored, luhnValid };
})();
