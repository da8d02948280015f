// Locators for a recorded target: ranked alternatives, each kept only when
// it finds exactly that element right now under the semantics of the
// Playwright call the exporter writes for it (engine.js). Attributes that
// survive between a recording and its replay rank before texts that change
// (counts, prices, dates); a name holding numbers gets a pattern locator
// that leaves them out. docs/events.md describes the result.
import { Engine } from './engine.js';
import { cssAttr, cssEscape, hasClosedShadowRoot, normalizeSpace, parentOf } from './dom.js';
import { playwrightSelector } from './selector-string.js';
import { maskText, maskUrl, labelText } from './privacy.js';

const TEST_ID_ATTRIBUTES = ['data-testid', 'data-test-id', 'data-test', 'data-qa', 'data-cy'];
// What a click is retargeted to, as Playwright retargets its actions.
const INTERACTIVE = 'button, a[href], input, select, textarea, summary, option, label, [contenteditable=""], [contenteditable="true"], ' +
  '[role=button], [role=link], [role=checkbox], [role=radio], [role=switch], [role=menuitem], [role=menuitemcheckbox], ' +
  '[role=menuitemradio], [role=tab], [role=option], [role=combobox], [role=textbox], [role=searchbox], [role=slider], [role=spinbutton], [role=treeitem]';
// Playwright's codegen does not write texts longer than this.
const MAX_TEXT = 80;
// Alternatives kept per target besides the CSS path.
const MAX_LOCATORS = 3;
const NO_NAME_ROLES = new Set(['presentation', 'none', 'generic']);
// Number runs: counts, prices, dates, times.
const NUMBER = /\d+(?:[.,:/]\d+)*/g;
const ATTRIBUTES = ['id', 'name', 'type', 'href', 'autocomplete', 'aria-label', 'placeholder', 'title', 'alt', 'role',
  ...TEST_ID_ATTRIBUTES];

export function interactiveTarget(el) {
  for (let n = el; n; n = parentOf(n)) if (n.matches && n.matches(INTERACTIVE)) return n;
  return el;
}

// Ids and classes that frameworks generate: they change between builds.
export function isGeneratedToken(token) {
  return token.length > 40 ||
    /^(?:css|sc|jsx|emotion|styled|svelte|ember|react|radix|headlessui|mui|chakra)-/i.test(token) ||
    /^:?r[0-9a-z]*:$/.test(token) ||
    /\d{4,}/.test(token) ||
    /[0-9a-f]{8}-[0-9a-f]{4}-/i.test(token) ||
    /(?:^|[-_])(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{5,}$/.test(token);
}

function escapeRe(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }

// A text fit for a locator: short, not personal, not only icon-font glyphs.
function usableText(s) {
  return !!s && s.length <= MAX_TEXT && maskText(s) === s && !/^\p{Co}+$/u.test(s);
}

// Patterns for a name with numbers in it, most tolerant first: the words
// before the first number ("Cart (3)" -> /^Cart\b/), then the whole name
// with any number in each number's place.
function namePatterns(name) {
  const out = [];
  const first = name.search(/\d/);
  const prefix = name.slice(0, first).replace(/[\s(\[{:–—\-#$€£¥]+$/u, '');
  if (/\p{L}{2,}/u.test(prefix)) out.push('^' + escapeRe(prefix) + (/[\p{L}\p{N}]$/u.test(prefix) ? '(?![\\p{L}\\p{N}])' : ''));
  const parts = name.split(NUMBER).map(escapeRe);
  out.push('^' + parts.join('\\d+(?:[.,:/]\\d+)*') + '$');
  return out;
}

// One step of a CSS path: #id when stable and unique in its tree, else
// the tag with stable classes and :nth-of-type where siblings need it.
function cssSegment(el) {
  const root = el.getRootNode();
  if (el.id && !isGeneratedToken(el.id) && root.querySelectorAll('#' + cssEscape(el.id)).length === 1) return '#' + cssEscape(el.id);
  const classes = [...el.classList].filter((c) => !isGeneratedToken(c)).slice(0, 2);
  let css = cssEscape(el.localName) + classes.map((c) => '.' + cssEscape(c)).join('');
  const parent = el.parentNode;
  if (parent) {
    const sameTag = [...parent.children].filter((c) => c.localName === el.localName);
    if (sameTag.filter((c) => c.matches(css)).length > 1) css += `:nth-of-type(${sameTag.indexOf(el) + 1})`;
  }
  return css;
}

// The shortest CSS path to el (one " > " path per shadow tree, joined by
// " >> "), or null.
export function cssPath(el, engine) {
  const hosts = [];
  for (let root = el.getRootNode(); root.host; root = root.host.getRootNode()) hosts.unshift(root.host);
  const parts = [];
  let scope = engine.doc;
  for (const node of [...hosts, el]) {
    let found = null;
    const steps = [];
    for (let n = node; n && n.nodeType === 1; n = n.parentElement) {
      steps.unshift(cssSegment(n));
      const css = steps.join(' > ');
      if (engine.finds({ by: 'css', selector: css }, node, scope)) { found = css; break; }
    }
    if (!found) return null;
    parts.push(found);
    scope = node;
  }
  return parts.join(' >> ');
}

// Attributes that identify an element across page loads, as CSS.
function attributeSelectors(el) {
  const tag = cssEscape(el.localName);
  const out = [];
  const name = el.getAttribute('name');
  if (name && /^(?:input|select|textarea|button|form|iframe|frame|object|output|fieldset)$/.test(el.localName)) out.push(tag + cssAttr('name', name));
  const href = el.localName === 'a' || el.localName === 'area' ? el.getAttribute('href') : null;
  if (href && href.length <= 200 && !/^(?:javascript:|#$)/i.test(href) && maskUrl(href) === href) out.push(tag + cssAttr('href', href));
  for (const a of ['title', 'alt']) {
    const v = el.getAttribute(a);
    if (v && usableText(v)) out.push(tag + cssAttr(a, v));
  }
  return out;
}

// Texts that may tell a scope around el apart from its lookalikes (a
// product card in a grid): its headings, links, labels and emphasis, then
// its own text, leaving out el and what holds el.
const MARKERS = 'h1,h2,h3,h4,h5,h6,[role=heading],a[href],button,label,strong,b,th,td,span,img[alt]';
const MAX_MARKERS = 6;

function markerTexts(scope, el, engine) {
  const out = [];
  const add = (t) => { if (t && t.length >= 2 && t.length <= 40 && usableText(t) && !out.includes(t)) out.push(t); };
  // A web component keeps its content in its shadow root.
  const markers = [...scope.querySelectorAll(MARKERS), ...(scope.shadowRoot ? scope.shadowRoot.querySelectorAll(MARKERS) : [])];
  for (const m of markers) {
    if (out.length >= MAX_MARKERS) break;
    if (m === el || m.contains(el) || el.contains(m)) continue;
    add(m.localName === 'img' ? normalizeSpace(m.getAttribute('alt')) : engine.text(m).normalized);
  }
  let own = '';
  for (let c = scope.firstChild; c; c = c.nextSibling) if (c.nodeType === 3) own += c.nodeValue;
  add(normalizeSpace(own));
  return out;
}

// The locators of a scope around el that tell it apart from its lookalikes:
// a test id, a stable id, or its tag and stable classes filtered by a text
// inside it, as locator(css).filter({hasText}).
function anchorsFor(scope, el, engine) {
  const out = [];
  for (const attribute of TEST_ID_ATTRIBUTES) {
    const value = scope.getAttribute(attribute);
    if (value && usableText(value)) out.push({ by: 'testId', attribute, value });
  }
  if (scope.id && !isGeneratedToken(scope.id)) out.push({ by: 'css', selector: '#' + cssEscape(scope.id) });
  const classes = [...scope.classList].filter((c) => !isGeneratedToken(c)).slice(0, 2);
  const css = cssEscape(scope.localName) + classes.map((c) => '.' + cssEscape(c)).join('');
  for (const text of markerTexts(scope, el, engine)) out.push({ by: 'css', selector: css, hasText: text });
  return out;
}

// The ranked, verified locators of el: an array of engine.js descriptions.
function rankedLocators(el, engine) {
  const stable = [];    // ids, roles and labels whose text has no numbers
  const attrs = [];     // name, href, title, alt
  const patterns = [];  // role names with their numbers left out
  const volatile = [];  // role names with numbers, texts
  const have = () => stable.length + attrs.length + patterns.length;
  const tryAdd = (list, loc) => { if (engine.finds(loc, el)) { list.push(loc); return true; } return false; };

  for (const attribute of TEST_ID_ATTRIBUTES) {
    const value = el.getAttribute(attribute);
    if (value && usableText(value)) tryAdd(stable, { by: 'testId', attribute, value });
  }
  const role = engine.role(el);
  const name = role && !NO_NAME_ROLES.has(role) ? engine.name(el) : '';
  if (name && usableText(name)) {
    if (!/\d/.test(name)) tryAdd(stable, { by: 'role', role, name });
    else {
      for (const pattern of namePatterns(name)) if (tryAdd(patterns, { by: 'role', role, pattern })) break;
    }
  }
  // By label: a <label> or aria-labelledby text (an aria-label is the
  // accessible name already tried).
  if (have() < MAX_LOCATORS && ((el.labels && el.labels.length) || el.hasAttribute('aria-labelledby'))) {
    for (const text of engine.labels(el)) {
      if (usableText(text) && tryAdd(/\d/.test(text) ? volatile : stable, { by: 'label', text })) break;
    }
  }
  const placeholder = el.getAttribute('placeholder');
  if (have() < MAX_LOCATORS && placeholder && usableText(placeholder)) tryAdd(stable, { by: 'placeholder', text: placeholder });
  for (const css of attributeSelectors(el)) {
    if (have() >= MAX_LOCATORS) break;
    tryAdd(attrs, { by: 'css', selector: css });
  }
  if (name && usableText(name) && /\d/.test(name)) tryAdd(volatile, { by: 'role', role, name });
  if (have() + volatile.length === 0) {
    // Named but not uniquely (one "Add to cart" per card): the name inside
    // its card. Not named: its text, alone or inside its card.
    if (name && usableText(name)) scoped(el, engine, null, stable);
    else {
      const text = engine.text(el).normalized;
      if (usableText(text) && !tryAdd(/\d/.test(text) ? volatile : stable, { by: 'text', text })) scoped(el, engine, text, stable);
    }
  }
  return [...stable, ...attrs, ...patterns, ...volatile];
}

// A locator for el inside an ancestor that sets it apart from lookalikes
// (one "Add to cart" per product card), added to out when one is found.
function scoped(el, engine, text, out) {
  const role = engine.role(el);
  const name = role && !NO_NAME_ROLES.has(role) ? engine.name(el) : '';
  const inner = [];
  if (name && usableText(name)) inner.push({ by: 'role', role, name });
  if (text) inner.push({ by: 'text', text });
  if (!inner.length) return;
  let depth = 0;
  const page = el.ownerDocument.body;
  for (let scope = parentOf(el); scope && scope !== page && scope.nodeType === 1 && depth < 6; scope = parentOf(scope), depth++) {
    const within = inner.find((loc) => engine.finds(loc, el, scope));
    if (!within) continue;
    for (const anchor of anchorsFor(scope, el, engine)) {
      const loc = { ...within, within: anchor };
      if (engine.finds(loc, el)) { out.push(loc); return; }
    }
  }
}

function elementInfo(el, engine) {
  const attributes = {};
  for (const a of ATTRIBUTES) {
    const v = el.getAttribute(a);
    if (v !== null) attributes[a] = a === 'href' ? maskUrl(el.href || v) : maskText(v);
  }
  const r = el.getBoundingClientRect();
  const isField = /^(?:input|textarea|select)$/.test(el.localName);
  const info = {
    tag: el.localName,
    role: engine.role(el),
    name: maskText(engine.name(el)),
    text: isField ? '' : maskText(engine.text(el).normalized.slice(0, 100).trim()),
    attributes,
    boundingBox: { x: Math.round(r.x), y: Math.round(r.y), width: Math.round(r.width), height: Math.round(r.height) },
  };
  const label = isField || el.isContentEditable ? labelText(el) : '';
  if (label) info.label = maskText(label.slice(0, 200));
  if (hasClosedShadowRoot(el)) info.closedShadowRoot = true;
  return info;
}

// {selector, selectors, locators, element} for a target (docs/events.md).
// `locators` is the ranked list; `selectors` and `selector` keep the
// earlier shapes for readers of older sessions.
export function describeTarget(el, engine = new Engine(el.ownerDocument)) {
  const locators = rankedLocators(el, engine);
  // A CSS path (positional, a last resort) only when little else was found.
  const css = locators.length < 2 ? cssPath(el, engine) : null;
  if (css && maskText(css) === css && !locators.some((l) => l.by === 'css' && l.selector === css && !l.within)) {
    locators.push({ by: 'css', selector: css });
  }
  const selectors = {};
  for (const loc of locators) {
    if (loc.within) continue;
    if (loc.by === 'testId' && !selectors.testId) selectors.testId = { attribute: loc.attribute, value: loc.value };
    if (loc.by === 'role' && loc.name !== undefined && !selectors.role) selectors.role = { role: loc.role, name: loc.name };
    if (loc.by === 'label' && !selectors.label) selectors.label = loc.text;
    if (loc.by === 'placeholder' && !selectors.placeholder) selectors.placeholder = loc.text;
    if (loc.by === 'text' && !selectors.text) selectors.text = loc.text;
  }
  if (css) selectors.css = css;
  return { selector: locators.length ? playwrightSelector(locators[0]) : null, selectors, locators, element: elementInfo(el, engine) };
}

// The selector a parent gives the <iframe> a frame's events happened in,
// ranked as Playwright's codegen ranks frame selectors: name, title, test
// id, id, then a CSS path.
export function frameSelector(iframe, engine = new Engine(iframe.ownerDocument)) {
  const tag = cssEscape(iframe.localName);
  const candidates = [];
  for (const a of ['name', 'title']) {
    const v = iframe.getAttribute(a);
    if (v && usableText(v)) candidates.push(tag + cssAttr(a, v));
  }
  for (const a of TEST_ID_ATTRIBUTES) {
    const v = iframe.getAttribute(a);
    if (v) candidates.push(cssAttr(a, v));
  }
  if (iframe.id && !isGeneratedToken(iframe.id)) candidates.push('#' + cssEscape(iframe.id));
  for (const css of candidates) if (engine.finds({ by: 'css', selector: css }, iframe)) return css;
  return cssPath(iframe, engine) || tag;
}
