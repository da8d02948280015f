// Resolves recorded locators against the live DOM with the semantics of the
// Playwright calls the exporter writes for them, so that a locator checked
// unique here finds the same one element when the script is replayed:
//
//   {by: 'testId', attribute, value}   getByTestId(value) / locator('[attr="value"]')
//   {by: 'role', role, name}           getByRole(role, {name, exact: true})
//   {by: 'role', role, pattern}        getByRole(role, {name: /pattern/u})
//   {by: 'label', text}                getByLabel(text, {exact: true})
//   {by: 'placeholder', text}          getByPlaceholder(text, {exact: true})
//   {by: 'text', text}                 getByText(text, {exact: true})
//   {by: 'css', selector, hasText?}    locator(selector) [.filter({hasText})]
//   any of them with `within: locator` scope.locator(...) inside that one
//
// Every query pierces open shadow roots as Playwright's engines do; CSS
// combinators step from a shadow root's children to its host. One Engine
// lives for one call: it scans the document's shadow roots once and caches
// roles, names and texts (or is handed the shadow roots by a caller that
// keeps them while the DOM does not change).
import { hiddenForAria, nameOf, roleOf } from './accessibility.js';
import { cssAttr, cssEscape, isInside, normalizeSpace, openRoots, parentOf } from './dom.js';

// Elements whose implicit role may be the key (html-aam), besides [role].
const IMPLICIT_ROLE_TAGS = {
  button: 'button,input,summary',
  link: 'a[href],area[href]',
  checkbox: 'input',
  radio: 'input',
  slider: 'input',
  spinbutton: 'input',
  textbox: 'input,textarea',
  searchbox: 'input',
  combobox: 'input,select',
  listbox: 'select,datalist',
  option: 'option',
  heading: 'h1,h2,h3,h4,h5,h6',
  img: 'img',
  listitem: 'li',
  list: 'ul,ol,menu',
  cell: 'td',
  columnheader: 'th',
  row: 'tr',
  table: 'table',
  navigation: 'nav',
  form: 'form',
  dialog: 'dialog',
  group: 'details,fieldset,optgroup',
  region: 'section',
  status: 'output',
  progressbar: 'progress',
  article: 'article',
  banner: 'header',
  contentinfo: 'footer',
  complementary: 'aside',
  main: 'main',
};
const LABELABLE = 'input,select,textarea,button,meter,output,progress,[aria-label],[aria-labelledby]';
// Elements named by more than their own text, and descendants whose part
// of a name is not in the page's text: _mayBeNamed leaves them to nameOf.
const NAMED_OTHERWISE = /^(?:input|select|textarea|img|area|fieldset|table|figure|output|meter|progress|iframe)$/;
const NAME_FROM_ELSEWHERE = 'select,textarea,input:not([type=button i],[type=submit i],[type=reset i],[type=image i]),slot,[aria-labelledby],[aria-owns]';
const NAME_PARTS = `img[alt],area[alt],[aria-label],input,${NAME_FROM_ELSEWHERE}`;

// The characters of s, counted, white space left out.
function charCounts(s) {
  const counts = new Map();
  for (const c of s.replace(/\s+/g, '')) counts.set(c, (counts.get(c) || 0) + 1);
  return counts;
}

// Whether text holds every character of needed as often as it counts it.
function holdsAll(text, needed) {
  for (const [c, n] of needed) {
    for (let at = -1, k = 0; k < n; k++) if ((at = text.indexOf(c, at + 1)) < 0) return false;
  }
  return true;
}

// The literal characters a pattern the recorder wrote starts with, after
// "^", unescaped; "" when it starts otherwise.
function literalStart(pattern) {
  let out = '';
  if (pattern[0] !== '^') return out;
  for (let i = 1; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && /[.*+?^${}()|[\]\\/]/.test(pattern[i + 1] || '')) out += pattern[++i];
    else if (/[.*+?^${}()|[\]\\]/.test(c)) break;
    else out += c;
  }
  return out;
}
const TEXT_SKIP = /^(?:script|noscript|style)$/;
const ODD_SPACE = /\s\s|[^\S ]|[\u200b\u00ad]/;

// Splits a CSS selector at top-level child combinators (" > "), the only
// combinator the recorder writes, leaving quoted strings and brackets whole.
function splitChildCombinators(css) {
  const parts = [];
  let depth = 0;
  let quote = null;
  let start = 0;
  for (let i = 0; i < css.length; i++) {
    const c = css[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') depth--;
    else if (c === '>' && depth === 0) {
      parts.push(css.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(css.slice(start).trim());
  return parts;
}

export class Engine {
  // roots: the document's open roots (openRoots) when the caller knows
  // them already.
  constructor(doc, roots = null) {
    this.doc = doc;
    this._roots = roots;
    this._roles = new Map();
    this._names = new Map();
    this._hidden = new Map();
    this._hiddenChain = new Map();
    this._texts = new Map();
    this._shadowHolders = null;
    this._queries = new Map(); // scope -> css -> elements
  }

  roots() {
    if (!this._roots) this._roots = openRoots(this.doc);
    return this._roots;
  }

  // Whether el or an element inside it hosts an open shadow root.
  holdsShadowRoot(el) {
    if (!this._shadowHolders) {
      this._shadowHolders = new Set();
      for (const root of this.roots()) {
        for (let n = root.host; n && !this._shadowHolders.has(n); n = parentOf(n)) this._shadowHolders.add(n);
      }
    }
    return this._shadowHolders.has(el);
  }

  role(el) {
    let r = this._roles.get(el);
    if (r === undefined) this._roles.set(el, (r = roleOf(el)));
    return r;
  }

  name(el) {
    let n = this._names.get(el);
    if (n === undefined) this._names.set(el, (n = nameOf(el)));
    return n;
  }

  hidden(el) {
    let h = this._hidden.get(el);
    if (h === undefined) this._hidden.set(el, (h = hiddenForAria(el, this._hiddenChain)));
    return h;
  }

  // Every element in scope (the document or an element, not itself)
  // matching a CSS compound or selector list, in every open tree.
  queryDeep(scope, css) {
    let byCss = this._queries.get(scope);
    if (!byCss) this._queries.set(scope, (byCss = new Map()));
    let out = byCss.get(css);
    if (!out) byCss.set(css, (out = this._queryDeep(scope, css)));
    return out;
  }

  _queryDeep(scope, css) {
    const out = [];
    for (const root of this.roots()) {
      let base = root;
      if (scope !== this.doc) {
        if (root === this.doc) base = scope;
        else if (!isInside(scope, root.host)) continue;
      }
      const found = base.querySelectorAll(css);
      for (let i = 0; i < found.length; i++) out.push(found[i]);
    }
    return out;
  }

  // A CSS selector as Playwright evaluates it: the last compound searched
  // in every tree, the others matched on ancestors of the composed tree
  // that lie inside scope. Parts joined by " >> " search inside the
  // element the part before matched.
  queryCss(scope, selector) {
    let scopes = [scope];
    for (const part of selector.split(' >> ')) {
      const next = new Set();
      const compounds = splitChildCombinators(part);
      const last = compounds.pop();
      for (const s of scopes) {
        for (const el of this.queryDeep(s, last)) {
          if (this._parentsMatch(el, compounds, s)) next.add(el);
        }
      }
      scopes = [...next];
    }
    return scopes;
  }

  _parentsMatch(el, compounds, scope) {
    let n = el;
    for (let i = compounds.length - 1; i >= 0; i--) {
      n = parentOf(n);
      if (!n || n === scope || (scope !== this.doc && !isInside(scope, n)) || !n.matches(compounds[i])) return false;
    }
    return true;
  }

  // Playwright's elementText: the text of the element and its open shadow
  // tree, without scripts and styles; a button input's value.
  text(node) {
    let t = this._texts.get(node);
    if (t !== undefined) return t;
    let full = '';
    if (node.nodeType === 1 && (TEXT_SKIP.test(node.localName) || (node.ownerDocument.head && node.ownerDocument.head.contains(node)))) {
      full = '';
    } else if (node.localName === 'input' && /^(?:submit|button|reset)$/.test(node.type)) {
      full = node.value;
    } else {
      for (let c = node.firstChild; c; c = c.nextSibling) {
        if (c.nodeType === 3) full += c.nodeValue;
        else if (c.nodeType === 1) full += this.text(c).full;
      }
      if (node.shadowRoot) full += this.text(node.shadowRoot).full;
    }
    t = { full, normalized: normalizeSpace(full) };
    this._texts.set(node, t);
    return t;
  }

  // getByText(text, {exact: true}): elements whose whole text is `text`
  // and none of whose children's is. Found from the text nodes up, so a
  // page's other text is only scanned, never assembled.
  _queryText(scope, text) {
    const out = new Set();
    const consider = (el) => {
      for (let n = el; n && n.nodeType === 1; n = parentOf(n)) {
        if (scope !== this.doc && (n === scope || !isInside(scope, n))) return;
        const t = this.text(n).normalized;
        if (t.length > text.length) return;
        if (t === text && this._textSelf(n, text)) out.add(n);
      }
    };
    for (const root of this.roots()) {
      if (scope !== this.doc && root !== this.doc && !isInside(scope, root.host)) continue;
      const walker = this.doc.createTreeWalker(root === this.doc ? (scope === this.doc ? root : scope) : root, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const v = node.nodeValue;
        if (v.length > text.length * 4 + 64) continue;
        // Most text nodes need no normalizing to be ruled out.
        const trimmed = v.trim();
        if (!trimmed || (!text.includes(trimmed) && !ODD_SPACE.test(trimmed))) continue;
        const piece = normalizeSpace(v);
        if (piece && text.includes(piece)) {
          const parent = node.parentNode;
          consider(parent.nodeType === 11 ? parent.host : parent);
        }
      }
    }
    for (const input of this.queryDeep(scope, 'input[type=submit i],input[type=button i],input[type=reset i]')) {
      if (this.text(input).normalized === text) out.add(input);
    }
    return [...out];
  }

  // filter({hasText}): the element's text holds needle (lower case). Its
  // textContent answers for an element without shadow roots inside (it may
  // also hold a script's text: a match too many, never one too few).
  _hasText(el, needle) {
    const text = this.holdsShadowRoot(el) ? this.text(el).normalized : normalizeSpace(el.textContent);
    return text.toLowerCase().includes(needle);
  }

  _textSelf(el, text) {
    for (let c = el.firstElementChild; c; c = c.nextElementSibling) if (this.text(c).normalized === text) return false;
    return !(el.shadowRoot && this.text(el.shadowRoot).normalized === text);
  }

  // Playwright's getElementLabels: aria-labelledby targets, else
  // aria-label, else the <label>s of a labelable element; as texts.
  labels(el) {
    const ids = el.getAttribute('aria-labelledby');
    if (ids !== null) {
      const root = el.getRootNode();
      const refs = ids.split(' ').filter(Boolean).map((id) => root.querySelector('#' + cssEscape(id))).filter(Boolean);
      if (refs.length) return refs.map((r) => this.text(r).normalized);
    }
    const aria = el.getAttribute('aria-label');
    if (aria !== null && aria.trim()) return [normalizeSpace(aria)];
    if (el.labels) return [...el.labels].map((l) => this.text(l).normalized);
    return [];
  }

  // Whether el's accessible name may hold every character of `needed`
  // (charCounts) as often as it counts them, judged without computing the
  // name: a name from content is made of the element's text, its images'
  // alt texts and its descendants' aria-labels and button values, each
  // character used once at most, whatever their order. Elements that may be
  // named otherwise (aria-labelledby, labels, a control's value, a shadow
  // or slotted tree, a title when there is no text) may be: nameOf decides.
  _mayBeNamed(el, needed) {
    if (el.hasAttribute('aria-labelledby')) return true;
    const aria = el.getAttribute('aria-label');
    if (aria && aria.trim()) return holdsAll(aria, needed);
    if (NAMED_OTHERWISE.test(el.localName) || this.holdsShadowRoot(el)) return true;
    let text = el.textContent;
    if (holdsAll(text, needed)) return true;
    if (el.firstElementChild && el.querySelector(NAME_PARTS)) {
      for (const d of el.querySelectorAll(NAME_PARTS)) {
        if (d.matches(NAME_FROM_ELSEWHERE)) return true;
        text += d.getAttribute(d.localName === 'img' || d.localName === 'area' ? 'alt' : d.localName === 'input' ? 'value' : 'aria-label') || '';
      }
      if (holdsAll(text, needed)) return true;
    }
    return !text.trim();
  }

  _queryRole(scope, loc, limit, target) {
    const re = loc.pattern !== undefined ? new RegExp(loc.pattern, 'u') : null;
    // The characters every match's name holds: the whole name, or the
    // literal start of a pattern ("^Cart" of /^Cart(?!…)/).
    const needed = charCounts(re ? literalStart(loc.pattern) : loc.name);
    // A name the target itself has from elsewhere (CSS content) cannot be
    // judged from its parts: then every candidate's name is computed.
    const judge = needed.size > 0 && !(target && !this._mayBeNamed(target, needed));
    const css = '[role]' + (IMPLICIT_ROLE_TAGS[loc.role] ? ',' + IMPLICIT_ROLE_TAGS[loc.role] : '');
    const found = [];
    for (const el of this.queryDeep(scope, css)) {
      if (this.role(el) !== loc.role) continue;
      if (judge && !this._mayBeNamed(el, needed)) continue;
      if (!(re ? re.test(this.name(el)) : this.name(el) === loc.name) || this.hidden(el)) continue;
      found.push(el);
      if (found.length >= limit) break;
    }
    return found;
  }

  // The elements a locator finds in scope (the first `limit` of them for a
  // role, the costliest kind to look for). `target`: the element the caller
  // expects, if any.
  query(loc, scope = this.doc, limit = Infinity, target = null) {
    if (loc.within) {
      const outer = this.query(loc.within, scope, 2);
      if (outer.length !== 1) return [];
      return this.query({ ...loc, within: undefined }, outer[0], limit, target);
    }
    let found;
    switch (loc.by) {
      case 'testId':
        found = this.queryDeep(scope, cssAttr(loc.attribute, loc.value));
        break;
      case 'role':
        found = this._queryRole(scope, loc, loc.hasText === undefined ? limit : Infinity, target);
        break;
      case 'label':
        found = this.queryDeep(scope, LABELABLE).filter((el) => this.labels(el).includes(loc.text));
        break;
      case 'placeholder':
        found = this.queryDeep(scope, '[placeholder]').filter((el) => el.getAttribute('placeholder') === loc.text);
        break;
      case 'text':
        found = this._queryText(scope, loc.text);
        break;
      case 'css':
        found = this.queryCss(scope, loc.selector);
        break;
      default:
        return [];
    }
    if (loc.hasText !== undefined) {
      const needle = normalizeSpace(loc.hasText).toLowerCase();
      found = found.filter((el) => this._hasText(el, needle));
    }
    // Dedupe (selector lists may match an element twice) in document order.
    return [...new Set(found)];
  }

  // Whether the locator finds exactly el in scope.
  finds(loc, el, scope = this.doc) {
    try {
      const found = this.query(loc, scope, 2, el);
      return found.length === 1 && found[0] === el;
    } catch {
      return false; // an invalid selector or pattern finds nothing
    }
  }
}
